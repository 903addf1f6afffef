"""Every media view fuzzed through Home Assistant's real HTTP app: never a 5xx, never a traceback.

Like the engine's API fuzzing (``tests/api/test_fuzz.py``), but with hypothesis strategies of
our own (the views have no OpenAPI description): path parts, ``start``/``end``/``base_ms``
and the ``Range`` header, mixing what is valid (the real entry, camera, event and segments)
with anything. Every answer must be a success or a 4xx with the views' JSON error, and
nothing may be logged at ERROR. Hypothesis drives synchronous tests, so it runs in an
executor thread and sends each request to Home Assistant's loop.

Left out, because no view ever sees them: tabs and line breaks and the patterns of Home
Assistant's security filter (``../``, ``<script>``…), which it answers with a plain 400;
path parts with braces, empty ones or dots alone, which aiohttp's router does not match (a
plain 404); control characters in a header, which no HTTP client sends.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import ClientResponse
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from tests.components.vigil.conftest import FRONT, EngineRig, SetupEntry, wait_for

EXAMPLES = 75  # per view: about 20 s in all here
REQUEST_TIMEOUT_S = 30
# What Home Assistant's security filter blocks before the views (see the module's docstring).
FILTERED = re.compile(r"\.\.|<|>|union|concat|select|proc/self|=/", re.IGNORECASE)

anything = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\t\r\n"), min_size=0, max_size=40
).filter(lambda text: not FILTERED.search(text))
# A header value cannot carry control characters (the client refuses to send them).
header_text = st.text(alphabet=st.characters(exclude_categories=["Cs", "Cc"]), min_size=0, max_size=40)
# aiohttp's router matches a path part without braces only (anything else is its plain 404).
path_part = anything.filter(lambda text: text not in ("", ".", "..") and not {"{", "}"} & set(text))
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
iso_times = st.builds(
    lambda moment, zone: moment.replace(tzinfo=zone).isoformat(),
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)),
    st.none() | offsets,
)
times = st.none() | iso_times | st.integers(min_value=-(2**63), max_value=2**63).map(str) | anything
ranges = (
    st.none() | st.sampled_from(["bytes=0-99", "bytes=-100", "bytes=100-", "bytes=5-1", "bytes=0-0,5-9"]) | header_text
)


class Views:
    """The requests, made on Home Assistant's loop from hypothesis's thread, and the checks on their answers."""

    def __init__(self, hass: HomeAssistant, client: Any, entry_id: str, event_id: str, segment: str) -> None:
        self.loop = hass.loop
        self.client = client
        self.entry_id = entry_id
        self.event_id = event_id
        self.segment = segment

    def get(self, parts: list[str], query: dict[str, str | None], range_header: str | None) -> None:
        path = "/api/vigil/" + "/".join(quote(part, safe="") for part in parts)
        params = {key: value for key, value in query.items() if value is not None}
        headers = {"Range": range_header} if range_header is not None else {}
        future = asyncio.run_coroutine_threadsafe(self._get(path, params, headers), self.loop)
        status, content_type, body = future.result(REQUEST_TIMEOUT_S)
        where = (path, params, headers, status, str(body)[:300])
        assert status < 500, where
        if status >= 400 and status != 416:  # 416 is the engine's answer to a Range beyond the end, passed on
            assert content_type == "application/json", where
            error = body.get("error") if isinstance(body, dict) else None
            assert isinstance(error, dict), where
            assert isinstance(error.get("code"), str), where
            assert isinstance(error.get("message"), str), where

    async def _get(self, path: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str, Any]:
        response: ClientResponse = await self.client.get(path, params=params, headers=headers)
        try:
            if response.status < 400:
                return response.status, response.content_type, b""  # media: not read to the end
            body = await response.json() if response.content_type == "application/json" else await response.text()
            return response.status, response.content_type, body
        finally:
            response.release()


def run_fuzz(test: Callable[[], None]) -> None:
    test()


@pytest.fixture
async def views(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, engine: EngineRig, setup_entry: SetupEntry
) -> Views:
    """The views of a real entry, with a real event id and a real segment among the candidates."""
    entry = await setup_entry()
    client = await hass_client()
    events = await wait_for(
        lambda: engine.get(f"/api/events?camera_id={FRONT}&limit=1")["events"], 40, "an event", interval=0.5
    )
    end_ms = int(engine.camera_state(FRONT)["last_segment_end_ms"])
    playlist = await client.get(
        f"/api/vigil/{entry.entry_id}/cameras/{FRONT}/playlist.m3u8", params={"start": end_ms - 6000, "end": end_ms}
    )
    assert playlist.status == 200, await playlist.text()
    segment = re.search(r"/recordings/(\d+-\d+)/", await playlist.text())
    assert segment is not None
    return Views(hass, client, entry.entry_id, events[0]["id"], segment.group(1))


async def test_views_never_fail(hass: HomeAssistant, views: Views, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    entry_ids = st.sampled_from([views.entry_id]) | path_part
    event_ids = st.sampled_from([views.event_id, "0" * 32, views.event_id.upper()]) | path_part
    cameras = st.sampled_from([FRONT, "yard", "nosuch"]) | path_part
    segments = st.sampled_from([views.segment, "1-2", "0-0", "9" * 15 + "-" + "9" * 15]) | path_part
    fuzz = settings(
        max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck), derandomize=False
    )
    now_ms = int(dt_util.utcnow().timestamp() * 1000)

    @fuzz
    @given(entry_ids, event_ids, st.sampled_from(["snapshot.jpg", "thumbnail.jpg", "clip.mp4"]) | path_part, ranges)
    def event_media(entry_id: str, event_id: str, name: str, range_header: str | None) -> None:
        views.get([entry_id, "events", event_id, name], {}, range_header)

    @fuzz
    @given(entry_ids, cameras, st.sampled_from(["clip.mp4", "playlist.m3u8"]) | path_part, times, times, ranges)
    @example(views.entry_id, FRONT, "clip.mp4", "9999-12-31T23:00:00-12:00", "1", None)  # was a 500
    @example(views.entry_id, FRONT, "playlist.m3u8", "0001-01-01T00:30:00+01:00", str(now_ms), None)
    @example(views.entry_id, FRONT, "clip.mp4", str(now_ms - 5000), str(now_ms), "bytes=999999999999-")
    def camera_media(
        entry_id: str, camera: str, name: str, start: str | None, end: str | None, rng: str | None
    ) -> None:
        views.get([entry_id, "cameras", camera, name], {"start": start, "end": end}, rng)

    @fuzz
    @given(entry_ids, cameras, segments, st.sampled_from(["init.mp4", "media.m4s"]) | path_part, times, ranges)
    @example(views.entry_id, FRONT, views.segment, "media.m4s", str(2**62), None)
    @example(views.entry_id, FRONT, views.segment, "media.m4s", views.segment.split("-")[0], "bytes=10-5")
    def recording_media(
        entry_id: str, camera: str, segment: str, name: str, base_ms: str | None, rng: str | None
    ) -> None:
        views.get([entry_id, "cameras", camera, "recordings", segment, name], {"base_ms": base_ms}, rng)

    started = datetime.now(UTC)
    for test in (event_media, camera_media, recording_media):
        await hass.async_add_executor_job(run_fuzz, test)
    assert datetime.now(UTC) - started < timedelta(seconds=60)
    logged = [
        f"{record.levelname} {record.name}: {record.getMessage()}"
        for record in caplog.records
        if record.levelno >= logging.ERROR or record.exc_info
    ]
    assert not logged, logged
