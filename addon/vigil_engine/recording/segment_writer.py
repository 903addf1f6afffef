"""One fragmented-MP4 segment, written by stream copy (no re-encode).

Fragmented MP4 (``empty_moov`` + a fragment per keyframe) keeps every complete fragment
playable even when the process is killed or the power fails mid-segment; ``reconcile``
trims a torn last fragment at start-up. The exact start time is stored in the file's
metadata (``vigil_start_ms``) so the index can be rebuilt from the files alone.

The MP4 muxer holds a fragment's media data in memory until the fragment is complete (the
``moof`` that describes it comes first in the file). A fragment per keyframe alone would
make that buffer as large as a whole GOP: 1 MB for a 4 Mbit/s camera with a keyframe every
2 s, 8 MB for a 16 Mbit/s one with a 4 s GOP, per camera. A fragment therefore also ends
once it holds ``FRAGMENT_MAX_BYTES``: every keyframe still starts a fragment, and a long
GOP is split into more of them (a later one may start on a non-keyframe, which fragmented
MP4, HLS and the torn-tail trim all handle: each fragment's samples carry their own sync
flags). Memory per camera stays bounded whatever the bitrate, and a crash loses at most
that much. Measured with ``scripts/bench record`` at 32 cameras: peak RSS -20 to -40 MB,
and no more CPU (smaller buffers are cheaper to grow).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from av.audio.stream import AudioStream
from av.packet import Packet
from av.video.stream import VideoStream

MOVFLAGS = "frag_keyframe+empty_moov+default_base_moof+use_metadata_tags"
# Bytes of media data after which a fragment ends even without a keyframe (see above).
FRAGMENT_MAX_BYTES = 256 * 1024
MUXER_OPTIONS = {"movflags": MOVFLAGS, "frag_size": str(FRAGMENT_MAX_BYTES), "flush_packets": "1"}


@dataclass(frozen=True, slots=True)
class WrittenSegment:
    path: Path
    start_ms: int
    end_ms: int
    bytes: int
    frames: int
    video_codec: str
    width: int
    height: int
    audio_codec: str | None


class SegmentWriter:
    """Writes packets of one segment; the first packet must be a video keyframe.

    Timestamps are shifted so the segment starts at zero: every segment plays on its own,
    and the index (not the file) carries the absolute time.
    """

    def __init__(
        self,
        path: Path,
        camera_id: str,
        start_ms: int,
        video: VideoStream,
        audio: AudioStream | None,
        start_dts: int,
    ) -> None:
        self.path = path
        self.start_ms = start_ms
        self.frames = 0
        self._video_in = video
        self._audio_in = audio
        path.parent.mkdir(parents=True, exist_ok=True)
        self._out = av.open(str(path), "w", format="mp4", options=dict(MUXER_OPTIONS))
        # Called for every packet: ``mux_one`` is ``mux`` without its check for a list of packets.
        self._mux = self._out.mux_one
        self._out.metadata["vigil_start_ms"] = str(start_ms)
        self._out.metadata["vigil_camera"] = camera_id
        self._video = self._out.add_stream_from_template(video)
        self._audio = self._out.add_stream_from_template(audio) if audio is not None else None
        self._bsf: av.BitStreamFilterContext | None = None
        if audio is not None and audio.codec_context.name == "aac" and not audio.codec_context.extradata:
            # ADTS framing (no AudioSpecificConfig) must become raw AAC for MP4.
            self._bsf = av.BitStreamFilterContext("aac_adtstoasc", audio, self._audio)
        assert video.time_base is not None
        self._video_tb = Fraction(video.time_base.numerator, video.time_base.denominator)
        self._video_offset = start_dts
        self._start_s = float(start_dts * video.time_base)
        self._audio_offset = 0
        if audio is not None and audio.time_base is not None:
            self._audio_offset = round(self._start_s / audio.time_base)
        self.last_video_dts = start_dts
        self.last_video_duration = 0

    def write_video(self, packet: Packet[Any], pts: int, dts: int) -> None:
        offset = self._video_offset
        packet.pts = pts - offset
        packet.dts = dts - offset
        packet.stream = self._video
        self._mux(packet)
        self.frames += 1
        last = self.last_video_dts
        if dts > last:
            self.last_video_duration = dts - last
        self.last_video_dts = dts

    def write_audio(self, packet: Packet[Any], pts: int, dts: int) -> None:
        if self._audio is None:
            return
        shifted_dts = dts - self._audio_offset
        if shifted_dts < 0:
            return  # audio from before the segment's first keyframe
        packet.pts = pts - self._audio_offset
        packet.dts = shifted_dts
        if self._bsf is not None:
            for filtered in self._bsf.filter(packet):
                filtered.stream = self._audio
                self._mux(filtered)
            return
        packet.stream = self._audio
        self._mux(packet)

    def media_seconds(self, next_dts: int | None = None) -> float:
        """Duration covered so far: up to ``next_dts`` or one frame past the last packet."""
        end = next_dts if next_dts is not None else self.last_video_dts + self.last_video_duration
        return float((end - self._video_offset) * self._video_tb)

    def close(self, end_ms: int) -> WrittenSegment:
        """Finish the file and make it durable (file and folder fsynced) before indexing."""
        try:
            self._out.close()
        finally:
            fsync_path(self.path)
            fsync_path(self.path.parent)
        audio_codec = self._audio_in.codec_context.name if self._audio_in is not None else None
        return WrittenSegment(
            path=self.path,
            start_ms=self.start_ms,
            end_ms=max(end_ms, self.start_ms + 1),
            bytes=self.path.stat().st_size,
            frames=self.frames,
            video_codec=self._video_in.codec_context.name,
            width=self._video_in.codec_context.width,
            height=self._video_in.codec_context.height,
            audio_codec=audio_codec,
        )

    def abort(self) -> None:
        """Close after a write error; whatever complete fragments exist stay on disk."""
        with contextlib.suppress(OSError, av.FFmpegError):
            self._out.close()


def fsync_path(path: Path) -> None:
    flags = os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
