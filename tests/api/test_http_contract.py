"""HTTP endpoints against the real engine: JSON shapes, pictures, MP4 clips with Range, HLS over a real gap."""

from __future__ import annotations

import io
import itertools
import re
import time
from datetime import UTC, datetime
from typing import Any

import av
import pytest

from tests.api.client import fields_errors, shape_errors
from tests.api.conftest import Live
from vigil_engine.protocol import ServerInfo

FPS = 15
FRAME_MS = 1000 / FPS
KEYINT_MS = 1000


def _json(live: Live, path: str) -> Any:
    response = live.get(path)
    assert response.status == 200, (path, response.status, response.body[:300])
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def _segments(live: Live) -> list[dict[str, Any]]:
    return [dict(row) for row in live.engine.segments("front")]


def _motion_event(live: Live) -> dict[str, Any]:
    events = _json(live, "/api/events?camera_id=front&kind=motion&limit=500")["events"]
    ended = [e for e in events if e["end_ms"] is not None]
    assert ended
    event: dict[str, Any] = ended[-1]
    return event


def test_json_endpoints_have_their_documented_shapes(live: Live) -> None:
    assert fields_errors(_json(live, "/api/info"), ServerInfo) == []
    assert shape_errors(_json(live, "/api/cameras")["cameras"], "array of Camera") == []
    assert shape_errors(_json(live, "/api/cameras/front")["camera"], "Camera") == []
    assert shape_errors(_json(live, "/api/storage")["storage"], "Storage") == []
    page = _json(live, "/api/events?limit=1")
    assert shape_errors(page["events"], "array of Event") == []
    assert page["next_cursor"] is not None
    second = _json(live, f"/api/events?limit=1&cursor={page['next_cursor']}")
    assert second["events"][0]["id"] != page["events"][0]["id"]
    event = _motion_event(live)
    assert _json(live, f"/api/events/{event['id']}")["event"] == event
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    summary = _json(live, f"/api/cameras/front/summary?date={today}&time_zone=UTC")["summary"]
    assert shape_errors(summary, "DaySummary") == []
    spec = _json(live, "/api/openapi.json")
    assert spec["openapi"].startswith("3.1")


def test_day_summary_matches_the_index(live: Live) -> None:
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    summary = _json(live, f"/api/cameras/front/summary?date={today}&time_zone=UTC")["summary"]
    segments = _segments(live)
    gap_start, gap_end = live.outage
    assert summary["recorded"][0]["start_ms"] == segments[0]["start_ms"]
    assert any(r["end_ms"] == gap_start for r in summary["recorded"])
    assert any(r["start_ms"] == gap_end for r in summary["recorded"])
    assert summary["gaps"][0]["start_ms"] == gap_start
    assert summary["gaps"][0]["end_ms"] == gap_end
    indexed = sum(s["end_ms"] - s["start_ms"] for s in _segments(live))
    assert abs(summary["recorded_ms"] - indexed) <= 1000 * len(segments)  # new segments may have landed since
    assert sum(h["recorded_ms"] for h in summary["hours"]) == summary["recorded_ms"]
    assert sum(h["events"] for h in summary["hours"]) == sum(
        1 for e in summary["events"] if summary["start_ms"] <= e["start_ms"] < summary["end_ms"]
    )


def _decode_jpeg(data: bytes) -> tuple[int, int]:
    assert data[:3] == b"\xff\xd8\xff"
    with av.open(io.BytesIO(data), "r", format="image2pipe") as container:
        frame = next(container.decode(video=0))
        return frame.width, frame.height


def test_snapshots(live: Live) -> None:
    latest = live.get("/api/cameras/front/snapshot.jpg")
    assert latest.status == 200
    assert latest.headers["content-type"] == "image/jpeg"
    assert _decode_jpeg(latest.body) == (640, 360)
    small = live.get("/api/cameras/front/snapshot.jpg?width=320")
    assert _decode_jpeg(small.body)[0] == 320
    event = _motion_event(live)
    assert event["has_snapshot"]
    snapshot = live.get(f"/api/events/{event['id']}/snapshot.jpg")
    thumbnail = live.get(f"/api/events/{event['id']}/thumbnail.jpg")
    assert snapshot.status == thumbnail.status == 200
    big, little = _decode_jpeg(snapshot.body), _decode_jpeg(thumbnail.body)
    assert little[0] < big[0]


def _probe(data: bytes) -> tuple[int, float, float, int]:
    """(decoded video frames, first pts s, duration s, audio frames) of an MP4 in memory."""
    with av.open(io.BytesIO(data), "r") as container:
        video = container.streams.video[0]
        frames = list(container.decode(video))
        assert video.time_base is not None
        first = float(frames[0].pts * video.time_base) if frames[0].pts is not None else 0.0
        last = float((frames[-1].pts or 0) * video.time_base)
    with av.open(io.BytesIO(data), "r") as container:
        audio = len(list(container.decode(audio=0))) if container.streams.audio else 0
    return len(frames), first, last - first + FRAME_MS / 1000, audio


def _check_clip(data: bytes, headers: dict[str, str], start_ms: int, end_ms: int, live: Live) -> int:
    """The clip starts on the keyframe at or before ``start_ms`` and ends with the last frame before the end."""
    clip_start = int(headers["x-vigil-start-ms"])
    assert start_ms - KEYINT_MS - FRAME_MS <= clip_start <= max(start_ms, _segments(live)[0]["start_ms"])
    footage_end = max(s["end_ms"] for s in _segments(live) if s["start_ms"] < end_ms)
    expected_end = min(end_ms, footage_end)
    frames, first_pts, duration, audio = _probe(data)
    assert first_pts == 0.0
    assert abs(clip_start + duration * 1000 - expected_end) <= 2 * FRAME_MS, (clip_start, duration, expected_end)
    assert audio > 0
    return frames


def test_event_clip_plays_and_spans_pre_and_post_capture(live: Live) -> None:
    event = _motion_event(live)
    response = live.get(f"/api/events/{event['id']}/clip.mp4")
    assert response.status == 200
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["accept-ranges"] == "bytes"
    assert int(response.headers["content-length"]) == len(response.body)
    start = event["start_ms"] - event["pre_ms"]
    end = event["end_ms"] + event["post_ms"]
    frames = _check_clip(response.body, response.headers, start, end, live)
    assert frames >= (event["end_ms"] - event["start_ms"]) / FRAME_MS * 0.5
    # A moov before the media: a player can start before the whole file is there.
    assert response.body[4:8] == b"ftyp"
    assert response.body.index(b"moov") < response.body.index(b"mdat")


@pytest.mark.parametrize(("offset_s", "length_s"), [(0.0, 10.0), (1.5, 4.0), (0.4, 2.2)])
def test_range_clip_duration_matches_the_range(live: Live, offset_s: float, length_s: float) -> None:
    segments = _segments(live)
    start = segments[0]["start_ms"] + round(offset_s * 1000)
    end = start + round(length_s * 1000)
    response = live.get(f"/api/cameras/front/clip.mp4?start_ms={start}&end_ms={end}")
    assert response.status == 200
    _check_clip(response.body, response.headers, start, end, live)


def test_clip_across_the_gap_keeps_wall_clock_time(live: Live) -> None:
    gap_start, gap_end = live.outage
    start, end = gap_start - 3000, gap_end + 3000
    response = live.get(f"/api/cameras/front/clip.mp4?start_ms={start}&end_ms={end}")
    assert response.status == 200
    _check_clip(response.body, response.headers, start, end, live)


def test_range_requests_return_the_right_bytes(live: Live) -> None:
    segments = _segments(live)
    path = f"/api/cameras/front/clip.mp4?start_ms={segments[0]['start_ms']}&end_ms={segments[0]['start_ms'] + 6000}"
    whole = live.get(path)
    size = len(whole.body)
    etag = whole.headers["etag"]
    for header, (lo, hi) in {
        "bytes=0-99": (0, 100),
        "bytes=100-": (100, size),
        "bytes=-500": (size - 500, size),
        f"bytes={size // 2}-{size // 2 + 12345}": (size // 2, size // 2 + 12346),
        f"bytes={size - 10}-{size + 1000}": (size - 10, size),
    }.items():
        part = live.get(path, {"Range": header})
        assert part.status == 206, header
        assert part.body == whole.body[lo:hi], header
        assert part.headers["content-range"] == f"bytes {lo}-{hi - 1}/{size}"
        assert part.headers["etag"] == etag
    beyond = live.get(path, {"Range": f"bytes={size}-"})
    assert beyond.status == 416
    assert beyond.headers["content-range"] == f"bytes */{size}"
    assert beyond.json()["error"]["code"] == "range_not_satisfiable"
    assert live.get(path, {"Range": "bytes=0-1,5-9"}).status == 200  # several ranges: the whole file
    stale = live.get(path, {"Range": "bytes=0-9", "If-Range": '"not-the-etag"'})
    assert (stale.status, len(stale.body)) == (200, size)
    fresh = live.get(path, {"Range": "bytes=0-9", "If-Range": etag})
    assert (fresh.status, fresh.body) == (206, whole.body[:10])
    head = live.get(path, method="HEAD")
    assert (head.status, head.body, int(head.headers["content-length"])) == (200, b"", size)


def test_clip_without_footage_or_too_long(live: Live) -> None:
    assert live.get("/api/cameras/front/clip.mp4?start_ms=1000&end_ms=5000").json()["error"]["code"] == "no_footage"
    too_long = live.get("/api/cameras/front/clip.mp4?start_ms=0&end_ms=7200001")
    assert (too_long.status, too_long.json()["error"]["code"]) == (400, "range_too_long")
    backwards = live.get("/api/cameras/front/clip.mp4?start_ms=5000&end_ms=1000")
    assert backwards.json()["error"]["code"] == "invalid_argument"


def _parse_playlist(text: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    for line in text.splitlines():
        if line == "#EXT-X-DISCONTINUITY":
            current["discontinuity"] = True
        elif line.startswith("#EXT-X-MAP:"):
            current["map"] = re.search(r'URI="([^"]+)"', line).group(1)  # type: ignore[union-attr]
        elif line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            stamp = line.split(":", 1)[1]
            current["date_ms"] = round(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000)
        elif line.startswith("#EXTINF:"):
            current["duration_ms"] = round(float(line[8:].rstrip(",")) * 1000)
        elif line and not line.startswith("#"):
            current["uri"] = line
            entries.append(current)
            current = {}
    return entries


def test_hls_playlist_times_equal_the_index_and_the_gap_is_a_discontinuity(live: Live) -> None:
    segments = _segments(live)
    start, end = segments[0]["start_ms"], segments[-1]["end_ms"]
    response = live.get(f"/api/cameras/front/vod.m3u8?start_ms={start}&end_ms={end}")
    assert response.status == 200
    assert response.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    text = response.body.decode()
    assert text.startswith("#EXTM3U\n")
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in text
    assert text.rstrip().endswith("#EXT-X-ENDLIST")
    entries = _parse_playlist(text)
    assert [(e["date_ms"], e["duration_ms"]) for e in entries] == [
        (s["start_ms"], s["end_ms"] - s["start_ms"]) for s in segments
    ]
    _gap_start, gap_end = live.outage
    breaks = [e["date_ms"] for e in entries if e.get("discontinuity")]
    assert breaks == [gap_end]
    assert "map" in entries[0]
    target = int(re.search(r"#EXT-X-TARGETDURATION:(\d+)", text).group(1))  # type: ignore[union-attr]
    assert all(e["duration_ms"] / 1000 <= target for e in entries)


def test_hls_segments_continue_each_other_in_time(live: Live) -> None:
    """init + the media segments of a run decode as one stream whose times follow the index."""
    segments = _segments(live)
    gap_start, _gap_end = live.outage
    run = [s for s in segments if s["end_ms"] <= gap_start][:3]
    text = live.get(f"/api/cameras/front/vod.m3u8?start_ms={run[0]['start_ms']}&end_ms={run[-1]['end_ms']}")
    entries = _parse_playlist(text.body.decode())
    base = "/api/cameras/front/"
    data = live.get(base + entries[0]["map"]).body
    assert data[4:8] == b"ftyp"
    starts: list[int] = []
    for entry in entries:
        media = live.get(base + entry["uri"])
        assert media.status == 200
        assert media.headers["content-type"] == "video/mp4"
        starts.append(len(data))
        data += media.body
    with av.open(io.BytesIO(data), "r") as container:
        video = container.streams.video[0]
        assert video.time_base is not None
        pts = [float((f.pts or 0) * video.time_base) for f in container.decode(video)]
    assert pts == sorted(pts)
    steps = {round((b - a) * 1000) for a, b in itertools.pairwise(pts)}
    # No jumps or overlaps: the segments continue each other (segment starts are anchored to the
    # slewed engine clock, so a boundary may differ from the frame interval by a few ms).
    assert FRAME_MS - 5 <= min(steps) <= max(steps) <= FRAME_MS + 5, steps
    total = sum(e["duration_ms"] for e in entries)
    assert abs(pts[-1] * 1000 + FRAME_MS - total) <= 2 * FRAME_MS
    assert pts[0] == 0.0


def test_hls_range_and_validation(live: Live) -> None:
    segments = _segments(live)
    first = segments[0]
    key = f"{first['start_ms']}-{first['id']}"
    media = f"/api/cameras/front/recordings/{key}/media.m4s?base_ms={first['start_ms']}"
    whole = live.get(media).body
    assert live.get(media, {"Range": "bytes=10-19"}).body == whole[10:20]
    assert live.get(f"/api/cameras/front/recordings/{key}/media.m4s?base_ms={first['start_ms'] + 1}").status == 400
    assert live.get(f"/api/cameras/front/recordings/{first['start_ms']}-999999/init.mp4").status == 404
    day = 24 * 3600 * 1000
    assert live.get(f"/api/cameras/front/vod.m3u8?start_ms=0&end_ms={day + 1}").status == 400
    assert live.get(f"/api/cameras/front/vod.m3u8?start_ms=0&end_ms={day}").status == 404


def test_signed_playlist_lists_signed_segments(live: Live) -> None:
    client = live.client()
    try:
        segments = _segments(live)[:2]
        path = f"/api/cameras/front/vod.m3u8?start_ms={segments[0]['start_ms']}&end_ms={segments[-1]['end_ms']}"
        signed = client.result("sign_path", {"path": path, "expires_in": 120})["path"]
    finally:
        client.close()
    playlist = live.get(signed, auth=False)
    assert playlist.status == 200
    entries = _parse_playlist(playlist.body.decode())
    assert all("sig=" in e["uri"] for e in entries)
    for uri in (entries[0]["map"], entries[0]["uri"]):
        assert uri.startswith("/api/cameras/front/recordings/")
        assert live.get(uri, auth=False).status == 200
        assert live.get(uri.split("?")[0], auth=False).status == 401


def test_running_event_clip_reaches_up_to_now(live: Live) -> None:
    client = live.client()
    try:
        event = client.result("start_manual_event", {"camera_id": "front", "label": "clip"})["event"]
        time.sleep(3.5)
        response = live.get(f"/api/events/{event['id']}/clip.mp4")
        assert response.status == 200
        assert response.headers["cache-control"] == "no-store"
        frames, _first, _duration, _audio = _probe(response.body)
        assert frames > 0
    finally:
        client.call("end_manual_event", {"camera_id": "front"})
        client.close()
