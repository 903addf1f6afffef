"""Live HLS of every camera, served by the real engine from the fragments it is writing.

Two engines record for real: the package's (``conftest.live``: the RTSP test camera, 640x360,
a keyframe every second, 3 s segments, AAC) and this module's (the built-in demo scene,
``demo://``, which Home Assistant cannot open itself: a keyframe every 2 s, 2 s segments, AAC;
and a disabled camera). Their live playlists are read as a player does: by the tags, by the
bytes of the parts, by PyAV exactly as Home Assistant's stream worker opens a source (with
Home Assistant's own timestamp validator), and by hls.js in Debian's Chromium.
"""

from __future__ import annotations

import io
import itertools
import time
from collections.abc import Iterator
from urllib.parse import urljoin

import av
import pytest
from homeassistant.components.stream.worker import TimestampValidator

from tests.api.api_rig import ApiRig, Playlist, parse_playlist, start_engine
from tests.api.conftest import Live, Response, request
from tests.api.hls_player import longest_freeze_ms, stalls, watch
from vigil_engine.recording.live import CONTIGUOUS_SLACK_MS

LIVE_BASE = "/api/cameras/{camera}/"
# Home Assistant's stream worker opens a source with these options (stream/__init__.py, for
# anything but RTSP) and this timeout (worker.try_open_stream).
HA_OPTIONS = {"tls_verify": "0"}
HA_TIMEOUT_S = 30


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiRig]:
    rig = start_engine(
        tmp_path_factory.mktemp("live-demo"),
        [
            {"id": "demo", "name": "Demo", "url": "demo://"},
            {"id": "off", "name": "Disabled", "url": "demo://", "enabled": False},
        ],
        segment_seconds=2,
    )
    try:
        rig.engine.wait_for(lambda: len(rig.engine.segments("demo")) >= 3, 60, "three demo segments")
        yield rig
    finally:
        rig.engine.stop()


class _Front:
    """The package's engine seen through the same small interface as an ApiRig."""

    def __init__(self, live: Live) -> None:
        self.live = live
        self.port = live.port
        self.engine = live.engine

    @property
    def base_url(self) -> str:
        return self.live.base_url

    def get(self, path: str, headers: dict[str, str] | None = None, auth: bool = True) -> Response:
        return self.live.get(path, headers, auth)

    def signed(self, path: str, seconds: int = 600) -> str:
        client = self.live.client()
        try:
            signed: str = client.result("sign_path", {"path": path, "expires_in": seconds})["path"]
        finally:
            client.close()
        return signed


@pytest.fixture(params=["front", "demo"])
def camera(request: pytest.FixtureRequest) -> tuple[ApiRig | _Front, str]:
    if request.param == "front":
        return _Front(request.getfixturevalue("live")), "front"
    return request.getfixturevalue("demo"), "demo"


def _playlist(rig: ApiRig | _Front, camera: str) -> Playlist:
    response = rig.get(f"/api/cameras/{camera}/live.m3u8")
    assert response.status == 200, response.body[:300]
    assert response.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    assert response.headers["cache-control"] == "no-store"
    return parse_playlist(response.body.decode())


def _wait_for_window(rig: ApiRig | _Front, camera: str, parts: int = 6) -> Playlist:
    deadline = time.monotonic() + 30
    while True:
        response = rig.get(f"/api/cameras/{camera}/live.m3u8")
        if response.status == 200:
            playlist = parse_playlist(response.body.decode())
            if len(playlist.entries) >= parts:
                return playlist
        assert time.monotonic() < deadline, "no full live window within 30 s"
        time.sleep(0.5)


def test_live_playlist_is_a_sliding_window_of_dated_parts(camera: tuple[ApiRig | _Front, str]) -> None:
    rig, camera_id = camera
    first = _wait_for_window(rig, camera_id)
    text = rig.get(f"/api/cameras/{camera_id}/live.m3u8").body.decode()
    assert "#EXT-X-ENDLIST" not in text
    assert "#EXT-X-PLAYLIST-TYPE" not in text
    assert "#EXT-X-VERSION:7" in text
    assert "#EXT-X-INDEPENDENT-SEGMENTS" in text
    for playlist in (first, parse_playlist(text)):
        assert len(playlist.entries) >= 6
        # Every EXTINF, rounded, is at most the target duration (RFC 8216, 4.3.3.1), and the
        # window holds at least three target durations.
        assert all(round(e.duration_s) <= playlist.target for e in playlist.entries)
        assert sum(e.duration_s for e in playlist.entries) >= 3 * playlist.target
        assert "DISCONTINUITY-SEQUENCE" in playlist.tags
        assert playlist.entries[0].map_uri is not None
        assert all(e.uri == f"live/{seq}.m4s" for e, seq in zip(playlist.entries, playlist.sequences(), strict=True))
        # One session: each part starts where the one before ended, to within rounding inside a
        # segment. At a segment's end the next one starts at its own anchored time, which the
        # engine takes as continuous within CONTIGUOUS_SLACK_MS (a few ms apart on a loaded machine).
        ends = [row["end_ms"] for row in rig.engine.segments(camera_id)]
        for before, after in itertools.pairwise(playlist.entries):
            if not after.discontinuity:
                before_end = before.date_ms + before.duration_s * 1000
                boundary = any(abs(end - before_end) <= 2 for end in ends)
                slack = CONTIGUOUS_SLACK_MS if boundary else 2
                assert abs(before_end - after.date_ms) <= slack, (before, after, boundary)
    # Media sequence numbers are stable: the same number is the same footage in every playlist.
    time.sleep(4.5)
    later = _playlist(rig, camera_id)
    assert later.media_sequence > first.media_sequence  # the window slid
    assert later.target == first.target
    seen = {seq: (e.date_ms, e.duration_s) for seq, e in zip(first.sequences(), first.entries, strict=True)}
    shared = [(seq, e) for seq, e in zip(later.sequences(), later.entries, strict=True) if seq in seen]
    assert shared, "the windows 4.5 s apart share parts"
    assert all(seen[seq] == (e.date_ms, e.duration_s) for seq, e in shared)
    # The newest part is recent: it ends within a keyframe interval and a bit of now.
    newest = later.entries[-1]
    assert time.time() * 1000 - (newest.date_ms + newest.duration_s * 1000) < 3000


def test_live_parts_decode_on_the_utc_timeline(camera: tuple[ApiRig | _Front, str]) -> None:
    """init + parts are one fMP4 stream whose times are the footage's UTC times, across segment files."""
    rig, camera_id = camera
    playlist = _wait_for_window(rig, camera_id)
    base = LIVE_BASE.format(camera=camera_id)
    maps = {e.map_uri for e in playlist.entries}
    assert len(maps) == 1, "one session, one codec: one init section"
    map_uri = playlist.entries[0].map_uri
    assert map_uri is not None
    init = rig.get(base + map_uri)
    assert init.status == 200
    assert init.body[4:8] == b"ftyp"
    assert init.headers["content-type"] == "video/mp4"
    data = init.body
    for entry in playlist.entries:
        part = rig.get(base + entry.uri)
        assert part.status == 200, part.body[:200]
        assert part.body[4:8] == b"moof"
        data += part.body
    with av.open(io.BytesIO(data), "r") as container:
        video = container.streams.video[0]
        assert video.time_base is not None
        frames = [(float(f.pts * video.time_base), f.key_frame) for f in container.decode(video) if f.pts is not None]
    times = [t for t, _key in frames]
    assert times == sorted(times)
    assert len(set(times)) == len(times)
    # Every part starts with a keyframe, at its EXT-X-PROGRAM-DATE-TIME.
    keyframes = [t for t, key in frames if key]
    for entry in playlist.entries:
        assert any(abs(t * 1000 - entry.date_ms) <= 1.5 for t in keyframes), entry
    # The window spans at least one segment boundary of the index, or of the segment being written.
    segments = rig.engine.segments(camera_id)
    first, last = playlist.entries[0].date_ms, playlist.entries[-1].date_ms
    assert any(first < s["start_ms"] <= last for s in segments) or any(first < s["end_ms"] <= last for s in segments)


def test_home_assistant_stream_worker_reads_the_live_playlist(camera: tuple[ApiRig | _Front, str]) -> None:
    """PyAV opens the signed live playlist as Home Assistant's stream worker does and reads across segments.

    Home Assistant's own ``TimestampValidator`` judges the packets: it drops any whose decode time
    does not grow and stops the stream at a jump of more than 30 s.
    """
    rig, camera_id = camera
    _wait_for_window(rig, camera_id)
    url = rig.base_url + rig.signed(f"/api/cameras/{camera_id}/live.m3u8")
    opened = time.monotonic()
    container = av.open(url, options=dict(HA_OPTIONS), timeout=HA_TIMEOUT_S)
    try:
        assert container.format.name == "hls"
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        assert video.codec_context.name == "h264"
        validator = TimestampValidator(
            int(1 / video.time_base), int(1 / audio.time_base) if audio is not None and audio.time_base else 1
        )
        valid = decoded = 0
        dropped: list[str] = []
        last_dts: dict[str, int] = {}
        first_ms: float | None = None
        last_ms = 0.0
        for packet in container.demux(*(s for s in (video, audio) if s is not None)):
            if packet.dts is None and packet.size == 0:
                continue
            if validator.is_valid(packet):
                valid += 1
            else:
                dropped.append(f"{packet.stream.type} dts {packet.dts} after {last_dts.get(packet.stream.type)}")
            if packet.dts is not None:
                last_dts[packet.stream.type] = packet.dts
            if packet.stream is video and packet.dts is not None:
                at_ms = float(packet.dts * video.time_base) * 1000
                first_ms = at_ms if first_ms is None else first_ms
                last_ms = at_ms
                decoded += len(video.codec_context.decode(packet))
                if last_ms - first_ms >= 8000:
                    break
            assert time.monotonic() - opened < 40, "8 s of live media within 40 s"
    finally:
        container.close()
    assert dropped == [], f"packets Home Assistant would drop: {dropped}"
    assert valid > 100
    assert decoded > 50
    assert first_ms is not None
    # Decode times are the footage's UTC times, and the 8 s read crossed a segment boundary.
    assert abs(first_ms - time.time() * 1000) < 30_000
    boundaries = [s["end_ms"] for s in rig.engine.segments(camera_id)]
    assert any(first_ms < end < last_ms for end in boundaries), (first_ms, last_ms, boundaries[-4:])


def test_newest_part_is_listed_within_a_second(camera: tuple[ApiRig | _Front, str]) -> None:
    """Each new part appears in the playlist less than a second after its footage ends (its next keyframe)."""
    rig, camera_id = camera
    known = set(_wait_for_window(rig, camera_id).sequences())
    delays: list[float] = []
    deadline = time.monotonic() + 9
    while time.monotonic() < deadline:
        playlist = _playlist(rig, camera_id)
        now_ms = time.time() * 1000
        for seq, entry in zip(playlist.sequences(), playlist.entries, strict=True):
            if seq not in known:
                known.add(seq)
                delays.append(now_ms - (entry.date_ms + entry.duration_s * 1000))
        time.sleep(0.05)
    print(f"{camera_id}: new parts listed {[round(d) for d in delays]} ms after their footage ended")
    assert len(delays) >= 3
    assert max(delays) < 1000


def test_signed_live_playlist_lists_signed_parts(camera: tuple[ApiRig | _Front, str]) -> None:
    """One signed playlist URL plays without the token: each URI it lists is signed too (same expiry)."""
    rig, camera_id = camera
    _wait_for_window(rig, camera_id)
    signed = rig.signed(f"/api/cameras/{camera_id}/live.m3u8", 120)
    response = request(rig.port, signed)
    assert response.status == 200
    playlist = parse_playlist(response.body.decode())
    expiry = signed.split("sig=")[1].split(".")[0]
    uris = [playlist.entries[0].map_uri or "", *(e.uri for e in playlist.entries)]
    for uri in uris:
        assert f"sig={expiry}." in uri
        fetched = request(rig.port, urljoin(signed, uri))
        assert fetched.status == 200, (uri, fetched.body[:200])
    part = urljoin(signed, uris[-1])
    assert request(rig.port, part.split("?")[0]).status == 401
    other = urljoin(signed, f"live/{playlist.sequences()[0]}.m4s?{part.split('?')[1]}")
    assert request(rig.port, other).status == 401  # a signature is good for its own path only


def test_live_errors_are_clear(demo: ApiRig) -> None:
    _wait_for_window(demo, "demo", parts=1)
    missing = demo.get("/api/cameras/garage/live.m3u8")
    assert (missing.status, missing.json()["error"]["code"]) == (404, "camera_not_found")
    off = demo.get("/api/cameras/off/live.m3u8")
    assert (off.status, off.json()["error"]["code"]) == (404, "no_footage")
    assert "not recording" in off.json()["error"]["message"]
    assert demo.get("/api/cameras/demo/live/abc.m4s").json()["error"]["code"] == "invalid_argument"
    gone = demo.get("/api/cameras/demo/live/1.m4s")
    assert (gone.status, gone.json()["error"]["code"]) == (404, "no_footage")
    assert "load the playlist again" in gone.json()["error"]["message"]
    assert demo.get("/api/cameras/demo/live/123/init.mp4").status == 404
    assert demo.get("/api/cameras/demo/live.m3u8", auth=False).status == 401


def test_hlsjs_plays_the_live_playlist_in_chromium(camera: tuple[ApiRig | _Front, str]) -> None:
    rig, camera_id = camera
    _wait_for_window(rig, camera_id)
    result = watch(rig.base_url + rig.signed(f"/api/cameras/{camera_id}/live.m3u8"), advance_s=6)
    print({k: result.get(k) for k in ("ok", "error", "errors", "failedRequests", "log", "startedAt")})
    assert result["ok"], result
    assert result["live"] is True
    assert result["errors"] == [], result
    assert result["failedRequests"] == [], result
    assert (result["width"], result["height"]) == (640, 360)
    assert stalls(result) == [], result["log"]
    assert longest_freeze_ms(result) < 600
    played = sorted({f["sn"] for f in result["fragments"]})
    assert played == list(range(played[0], played[0] + len(played)))
    assert len(played) >= 3
    # hls.js dates the playhead from EXT-X-PROGRAM-DATE-TIME: live is a few seconds behind now.
    dated = [s for s in result["samples"] if s["date"] is not None and s["readyState"] >= 2]
    assert dated
    assert all(0 < s["at"] - s["date"] < 15_000 for s in dated)
