"""The recorded HLS playlist plays in hls.js in Chromium across a segment boundary and across a real gap.

The package's engine (``conftest.live``) recorded the RTSP test camera, lost it for a few seconds
(stopped for real) and recorded it again: its index holds a gap between two runs of 3 s segments.
A signed ``vod.m3u8`` from two segments before the gap to two after it is played by hls.js (the
player of Home Assistant's frontend) in Debian's Chromium (``hls_watch.mjs``). It must play on
through both without running out of media, and the wall-clock date hls.js gives the playhead
(from ``EXT-X-PROGRAM-DATE-TIME``) must be the footage's recorded time on both sides of the gap.
"""

from __future__ import annotations

import itertools
from typing import Any

from tests.api.conftest import Live
from tests.api.hls_player import longest_freeze_ms, stalls, watch

# hls.js maps the playhead to a date through each fragment's EXT-X-PROGRAM-DATE-TIME: within a
# fragment it is exact; the samples are taken every 100 ms while the page is busy.
DATE_TOLERANCE_MS = 150
# hls.js moves on to the next fragment's date at its next ``timeupdate`` (every 250 ms at most):
# just after a boundary, the date may still be counted from the previous fragment.
SWITCH_S = 0.3


def _signed(live: Live, path: str) -> str:
    client = live.client()
    try:
        signed = client.result("sign_path", {"path": path, "expires_in": 600})["path"]
    finally:
        client.close()
    return f"{live.base_url}{signed}"


def _fragments_at(result: dict[str, Any], t: float) -> list[dict[str, Any]]:
    """The fragment holding ``t``, and the one before it if ``t`` is just past the boundary."""
    ordered = sorted({f["sn"]: f for f in result["fragments"]}.values(), key=lambda f: f["start"])
    for index, fragment in enumerate(ordered):
        if fragment["start"] <= t < fragment["start"] + fragment["duration"]:
            if index and t - fragment["start"] < SWITCH_S:
                return [fragment, ordered[index - 1]]
            return [fragment]
    return []


def test_vod_plays_in_hlsjs_across_a_segment_boundary_and_a_gap(live: Live) -> None:
    gap_start, gap_end = live.outage
    segments = live.engine.segments("front")
    before = [s for s in segments if s["end_ms"] <= gap_start][-2:]
    after = [s for s in segments if s["start_ms"] >= gap_end][:2]
    assert len(before) == 2, segments
    assert len(after) == 2, segments
    start, end = before[0]["start_ms"], after[-1]["end_ms"]
    played = (before[1]["end_ms"] - before[0]["start_ms"]) / 1000 + 2  # both segments before, 2 s after the gap
    result = watch(_signed(live, f"/api/cameras/front/vod.m3u8?start_ms={start}&end_ms={end}"), advance_s=played)
    print({k: result[k] for k in ("ok", "error", "errors", "failedRequests", "log")})
    assert result["ok"], result
    assert result["errors"] == [], result
    assert result["failedRequests"] == [], result
    assert (result["width"], result["height"]) == (640, 360)
    assert stalls(result) == [], result["log"]
    assert longest_freeze_ms(result) < 500, result["samples"]

    # It played the two segments before the gap (a boundary within one discontinuity sequence),
    # then the first after it (the next discontinuity sequence), whose date is where footage resumed.
    fragments = {f["sn"]: f for f in result["fragments"]}
    assert [fragments[sn]["pdt"] for sn in sorted(fragments)][:3] == [
        before[0]["start_ms"],
        before[1]["start_ms"],
        after[0]["start_ms"],
    ]
    assert [fragments[sn]["cc"] for sn in sorted(fragments)][:3] == [0, 0, 1]

    # The date of the playhead is the footage's recorded time, before and after the gap.
    checked = {0: 0, 1: 0}
    for sample in result["samples"]:
        candidates = _fragments_at(result, sample["t"])
        if sample["date"] is None or not candidates or sample["readyState"] < 2:
            continue
        matching = [
            f
            for f in candidates
            if abs(sample["date"] - (f["pdt"] + (sample["t"] - f["start"]) * 1000)) <= DATE_TOLERANCE_MS
        ]
        assert matching, (sample, candidates)
        fragment = matching[0]
        recorded = next(s for s in segments if s["start_ms"] == fragment["pdt"])
        assert recorded["start_ms"] - DATE_TOLERANCE_MS <= sample["date"] <= recorded["end_ms"] + DATE_TOLERANCE_MS
        checked[fragment["cc"]] += 1
    assert checked[0] > 10, checked
    assert checked[1] > 5, checked
    # Across the gap the date jumps by the outage while the playhead moves on by one frame interval.
    dated = [s for s in result["samples"] if s["date"] is not None]
    jumps = [b["date"] - a["date"] - (b["t"] - a["t"]) * 1000 for a, b in itertools.pairwise(dated)]
    assert max(jumps) >= (gap_end - gap_start) - 2 * DATE_TOLERANCE_MS
