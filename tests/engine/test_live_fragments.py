"""The segment writer logs each fragment the moment it is complete in the file, for live HLS.

Real PyAV muxing of a real H.264 + AAC clip (the demo scene, a keyframe every second) through
the engine's own ``SegmentWriter``: after every packet, the writer's log holds exactly the
fragments that are complete in the file, read back by the box parser the API uses. The live
parts (``api.live``) built from the log are whole GOPs, listed as soon as their last fragment is
in the file, with consecutive sequence numbers across segment files and a discontinuity number
that changes only where the timeline breaks.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import pytest
from av.packet import Packet

from tests.support.media import make_clip
from vigil_engine.api.fmp4 import read_init, read_segment
from vigil_engine.api.live import LiveParts
from vigil_engine.recording import fragments
from vigil_engine.recording.fragments import SegmentLog, TrackedFile
from vigil_engine.recording.live import KEEP_PARTS, LiveFeed
from vigil_engine.recording.segment_writer import SegmentWriter

START_MS = 1_796_000_000_000


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("fragments") / "clip.mkv", 6, fps=15, keyframe_seconds=1.0)


def _packets(clip: Path) -> Iterator[tuple[Any, Any, Packet[Any]]]:
    """(video stream, audio stream, packet) in the order a camera interleaves them."""
    with av.open(str(clip)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        packets = [p for p in container.demux(video, audio) if p.dts is not None and p.size]
        packets.sort(key=lambda p: (float((p.dts or 0) * p.time_base), p.stream is not video))
        for packet in packets:
            yield video, audio, packet


def _complete_in_file(path: Path) -> list[tuple[int, int, bytes]]:
    return [(f.moof_offset, f.end, f.moof) for f in read_segment(path).fragments]


def test_the_log_is_exactly_what_is_complete_in_the_file_after_every_packet(clip: Path, tmp_path: Path) -> None:
    feed = LiveFeed(1000)
    path = tmp_path / "segment.mp4"
    writer: SegmentWriter | None = None
    parts = LiveParts()
    listed_at: dict[int, int] = {}  # part sequence number -> packet index at which it was first listed
    keyframes: list[int] = []
    packets = 0
    for index, (video, audio, packet) in enumerate(_packets(clip)):
        assert packet.dts is not None
        assert packet.pts is not None
        is_video = packet.stream is video
        if writer is None:
            if not (is_video and packet.is_keyframe):
                continue
            writer = SegmentWriter(path, "cam", START_MS, video, audio, packet.dts, feed, session=1)
        elif is_video and packet.is_keyframe:
            writer.mark_keyframe(packet.dts)
        if is_video and packet.is_keyframe:
            keyframes.append(index)
        if is_video:
            writer.write_video(packet, packet.pts, packet.dts)
        else:
            writer.write_audio(packet, packet.pts, packet.dts)
        packets += 1
        view = writer.log.view()
        assert [(f.offset, f.end, f.moof) for f in view.fragments] == _complete_in_file(path), index
        for part in parts.parts(feed.segments()):
            listed_at.setdefault(part.sequence, index)
    assert writer is not None
    writer.close(START_MS + 6000)
    view = feed.segments()[-1]
    assert view.closed
    assert view.init == read_init(path).data
    assert [(f.offset, f.end, f.moof) for f in view.fragments] == _complete_in_file(path)
    # Each GOP is a part, numbered on from 1000, listed at the first packets after the keyframe
    # that ends it (interleaving holds that keyframe until the next audio packet comes).
    final = parts.parts(feed.segments())
    assert [p.sequence for p in final] == list(range(1000, 1000 + len(keyframes)))
    assert all(p.duration_s == 1 for p in final[:-1])
    assert abs(final[-1].duration_s - 1) < Fraction(1, 15)  # the last ends one frame past its last packet
    for number, part in enumerate(final[:-1]):
        assert keyframes[number + 1] <= listed_at[part.sequence] <= keyframes[number + 1] + 3, (number, listed_at)


def test_the_muxer_writes_only_when_it_flushes(clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The packet loop costs what it did: the file object is called per flush, never per packet.

    ``TrackedFile.write`` is wrapped to count its calls (the bytes still go to the real file).
    """
    calls = 0
    write = TrackedFile.write

    def counting(self: TrackedFile, data: bytes) -> int:
        nonlocal calls
        calls += 1
        return write(self, data)

    monkeypatch.setattr(TrackedFile, "write", counting)
    writer: SegmentWriter | None = None
    packets = 0
    for video, audio, packet in _packets(clip):
        assert packet.dts is not None
        assert packet.pts is not None
        if writer is None:
            if packet.stream is not video or not packet.is_keyframe:
                continue
            writer = SegmentWriter(tmp_path / "count.mp4", "cam", START_MS, video, audio, packet.dts)
        if packet.stream is video:
            writer.write_video(packet, packet.pts, packet.dts)
        else:
            writer.write_audio(packet, packet.pts, packet.dts)
        packets += 1
    assert writer is not None
    writer.close(START_MS + 6000)
    fragments_written = len(read_segment(tmp_path / "count.mp4").fragments)
    assert packets > 150
    assert calls <= 2 * fragments_written + 3, (calls, fragments_written, packets)


def test_the_log_follows_the_boxes_however_the_bytes_are_split(clip: Path, tmp_path: Path) -> None:
    source = tmp_path / "whole.mp4"
    writer: SegmentWriter | None = None
    for video, audio, packet in _packets(clip):
        assert packet.dts is not None
        assert packet.pts is not None
        if writer is None:
            if packet.stream is not video or not packet.is_keyframe:
                continue
            writer = SegmentWriter(source, "cam", START_MS, video, audio, packet.dts)
        if packet.stream is video:
            writer.write_video(packet, packet.pts, packet.dts)
        else:
            writer.write_audio(packet, packet.pts, packet.dts)
    assert writer is not None
    writer.close(START_MS + 6000)
    data = source.read_bytes()
    chances = random.Random(7)
    for size_range in ((1, 9), (1, 300), (100, 70_000)):
        log = SegmentLog(tmp_path / "copy.mp4", START_MS, Fraction(1, 1000), fragments.sequence_from(0))
        tracked = TrackedFile(tmp_path / "copy.mp4", log)
        at = 0
        while at < len(data):
            step = chances.randint(*size_range)
            tracked.write(data[at : at + step])
            at += step
        tracked.release()
        view = log.view()
        assert view.init == read_init(source).data
        assert [(f.offset, f.end, f.moof) for f in view.fragments] == _complete_in_file(source), size_range


@pytest.mark.parametrize("continues", [True, False])
def test_audio_keeps_its_own_start_in_a_segment_that_continues_the_last(
    clip: Path, tmp_path: Path, continues: bool
) -> None:
    """A segment that continues the one before keeps its first audio packet's time after the keyframe
    (it used to be moved to zero, overlapping the previous segment's last audio: players checking
    timestamps dropped it). At the start of footage it is moved to zero and stretched: no hole."""
    writer: SegmentWriter | None = None
    dropped = 0
    audio_first_s: float | None = None
    path = tmp_path / "audio.mp4"
    for video, audio, packet in _packets(clip):
        assert packet.dts is not None
        assert packet.pts is not None
        if writer is None:
            if packet.stream is not video or not packet.is_keyframe or packet.dts == 0:
                continue  # the second keyframe: audio before it is dropped, as at a segment boundary
            writer = SegmentWriter(path, "cam", START_MS, video, audio, packet.dts, continues=continues)
            start_s = float(packet.dts * packet.time_base)
        if packet.stream is video:
            writer.write_video(packet, packet.pts, packet.dts)
        elif dropped < 3:
            dropped += 1  # the first audio packets after the keyframe went to the previous segment
        else:
            if audio_first_s is None:
                audio_first_s = float(packet.dts * packet.time_base) - start_s
            writer.write_audio(packet, packet.pts, packet.dts)
    assert writer is not None
    assert audio_first_s is not None
    assert audio_first_s > 0.1
    writer.close(START_MS + 5000)
    segment = read_segment(path)
    sound = segment.init.audio
    assert sound is not None
    runs = [run for f in segment.fragments for run in f.runs if run.track_id == sound.track_id]
    first, second = runs[0].base_dts, runs[0].base_dts + runs[0].durations[0]
    tick = 1 / sound.timescale
    if continues:
        assert abs(first * tick - audio_first_s) < 2 * tick
    else:
        assert first == 0
    # Either way the second packet is at its own time: only the first one moves.
    assert abs(second * tick - (audio_first_s + 1024 / sound.timescale)) < 2 * tick


def test_parts_are_numbered_across_segments_and_break_only_where_time_does(clip: Path, tmp_path: Path) -> None:
    feed = LiveFeed(500)
    writers: list[SegmentWriter] = []
    sessions = [1, 1, 2]  # two segments that abut, then a new connection
    for number, session in enumerate(sessions):
        writer: SegmentWriter | None = None
        start_ms = START_MS + number * 6000 + (1000 if number == 2 else 0)
        for video, audio, packet in _packets(clip):
            assert packet.dts is not None
            assert packet.pts is not None
            if writer is None:
                if packet.stream is not video or not packet.is_keyframe:
                    continue
                writer = SegmentWriter(
                    tmp_path / f"{number}.mp4", "cam", start_ms, video, audio, packet.dts, feed, session
                )
            elif packet.stream is video and packet.is_keyframe:
                writer.mark_keyframe(packet.dts)
            if packet.stream is video:
                writer.write_video(packet, packet.pts, packet.dts)
            else:
                writer.write_audio(packet, packet.pts, packet.dts)
        assert writer is not None
        writer.close(start_ms + 6000, end_dts=writer.last_video_dts + writer.last_video_duration)
        writers.append(writer)
    views = feed.segments()
    assert [v.discontinuity for v in views] == [0, 0, 1]
    parts = LiveParts().parts(views)
    assert [p.sequence for p in parts] == list(range(500, 500 + 18))
    assert [p.discontinuity for p in parts] == [0] * 12 + [1] * 6
    # Within a session each part starts where the one before ended.
    for before, after in itertools.pairwise(parts[:12]):
        assert abs(before.end_ms - after.start_ms) <= 1


def test_keyframes_closer_than_half_a_second_share_a_part(tmp_path: Path) -> None:
    log = SegmentLog(tmp_path / "x.mp4", START_MS, Fraction(1, 90_000), fragments.sequence_from(7))
    for seconds in (Fraction(3, 10), Fraction(6, 10), Fraction(7, 10), Fraction(12, 10)):
        log.mark(int(seconds * 90_000))
    assert [(m.sequence, m.offset) for m in log.view().marks] == [(7, 0), (8, 54_000), (9, 108_000)]


def test_the_feed_keeps_the_newest_parts_only(tmp_path: Path) -> None:
    feed = LiveFeed(0)
    for number in range(40):
        log = SegmentLog(tmp_path / f"{number}.mp4", START_MS + number * 1000, Fraction(1, 1000), feed.sequence)
        feed.add(log, session=1)
        log.close(1000)
    kept = feed.segments()
    assert len(kept) == KEEP_PARTS  # one part each: the newest KEEP_PARTS segments
    assert kept[-1].start_ms == START_MS + 39_000
