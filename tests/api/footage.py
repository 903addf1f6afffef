"""Real footage without a running engine: a test clip cut into segments by the engine's own writer.

``record_footage`` demuxes a clip made by :func:`tests.support.media.make_clip`, cuts it at the
first keyframe after every ``segment_seconds`` with :class:`SegmentWriter` (exactly what a
camera worker does) and indexes each file, so clip and HLS code can be tested in-process on
the files and rows the engine would produce.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from av.packet import Packet

from vigil_engine.recording.segment_writer import SegmentWriter
from vigil_engine.storage.index import GapRecord, Index, SegmentRecord
from vigil_engine.storage.layout import segment_path


@dataclass(frozen=True, slots=True)
class Footage:
    camera_id: str
    segments: list[SegmentRecord]
    keyframes_ms: list[int]  # UTC ms of every video keyframe written
    frame_ms: float  # one frame interval


def record_footage(
    index: Index,
    recordings: Path,
    camera_id: str,
    source: Path,
    start_ms: int,
    segment_seconds: float = 10.0,
    gap_after: int | None = None,
    gap_ms: int = 0,
) -> Footage:
    """Cut ``source`` into indexed segments starting at ``start_ms``.

    With ``gap_after`` = k, a gap of ``gap_ms`` is left (and indexed) after the k-th segment.
    """
    index.upsert_camera(camera_id, camera_id, start_ms)
    segments: list[SegmentRecord] = []
    keyframes: list[int] = []
    with av.open(str(source)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        assert video.time_base is not None
        vtb = Fraction(video.time_base.numerator, video.time_base.denominator)
        rate = video.average_rate or Fraction(15)
        frame_ms = 1000 / float(rate)
        writer: SegmentWriter | None = None
        seg_start_dts = 0
        offset_ms = start_ms  # UTC ms of dts 0 in the current run
        first_dts: int | None = None
        streams: list[Any] = [video] if audio is None else [video, audio]
        packets: list[Packet[Any]] = [p for p in container.demux(*streams) if p.dts is not None and p.size]
        # Interleave by time as a camera does (the test clip stores its audio after its video);
        # video first at equal times, so a segment starts with its keyframe.
        packets.sort(key=lambda p: (float((p.dts or 0) * p.time_base), p.stream is not video))
        for packet in packets:
            assert packet.dts is not None
            assert packet.pts is not None
            if packet.stream is video:
                if first_dts is None:
                    first_dts = packet.dts
                dts = packet.dts - first_dts
                t_ms = offset_ms + round(float(dts * vtb) * 1000)
                if packet.is_keyframe and (writer is None or float((dts - seg_start_dts) * vtb) >= segment_seconds):
                    if writer is not None:
                        record = _close(writer, index, recordings, camera_id, t_ms)
                        segments.append(record)
                        if gap_after is not None and len(segments) == gap_after:
                            index.add_gap(GapRecord(camera_id, record.end_ms, record.end_ms + gap_ms, "camera offline"))
                            offset_ms += gap_ms
                            t_ms += gap_ms
                    path = segment_path(recordings, camera_id, t_ms)
                    writer = SegmentWriter(path, camera_id, t_ms, video, audio, packet.dts)
                    seg_start_dts = dts
                if packet.is_keyframe:
                    keyframes.append(t_ms)
                assert writer is not None
                writer.write_video(packet, packet.pts, packet.dts)
            elif writer is not None:
                writer.write_audio(packet, packet.pts, packet.dts)
        assert writer is not None
        end_ms = offset_ms + round((writer.media_seconds() + float(seg_start_dts * vtb)) * 1000)
        segments.append(_close(writer, index, recordings, camera_id, end_ms))
    return Footage(camera_id, segments, keyframes, frame_ms)


def _close(writer: SegmentWriter, index: Index, recordings: Path, camera_id: str, end_ms: int) -> SegmentRecord:
    written = writer.close(end_ms)
    record = SegmentRecord(
        camera_id=camera_id,
        start_ms=written.start_ms,
        end_ms=written.end_ms,
        bytes=written.bytes,
        path=written.path.relative_to(recordings).as_posix(),
        video_codec=written.video_codec,
        width=written.width,
        height=written.height,
        audio_codec=written.audio_codec,
        frames=written.frames,
    )
    return dataclasses.replace(record, id=index.add_segment(record))
