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

The muxer writes to a :class:`TrackedFile` rather than to a path of its own: FFmpeg calls it
only when it flushes (the header, each fragment), and it logs each complete fragment for live
HLS (see ``fragments``). The worker marks the keyframes that start live parts
(``mark_keyframe``); nothing is added per packet.
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

from .fragments import SegmentLog, TrackedFile, sequence_from
from .live import LiveFeed

MOVFLAGS = "frag_keyframe+empty_moov+default_base_moof+use_metadata_tags"
# Bytes of media data after which a fragment ends even without a keyframe (see above).
FRAGMENT_MAX_BYTES = 256 * 1024
# What FFmpeg gathers before it calls the file object's ``write`` (its own file protocol: 32 KiB).
# Each call crosses into Python: with 32 KiB, muxing cost 50 % more CPU than writing to a path;
# with 128 KiB, 21 % more (0.012 % of a core more for a 4 Mbit/s camera), for 96 KiB more memory
# per camera than FFmpeg's own buffer (measured: 30 s of 1080p30 at 4 Mbit/s, 17.1 / 20.7 ms).
WRITE_BUFFER_BYTES = 128 * 1024
# Where a track's first sample goes. A segment starts at a video keyframe; its first audio packet
# usually comes some tens of milliseconds later. At the start of footage (a new connection, or
# after lost footage) the muxer's default moves each track's first sample to zero and stretches
# it: the footage has no hole at its start (a player would stall on it). A segment that continues
# the one before must keep the audio's own start instead (``frag_discont`` with
# ``avoid_negative_ts=make_non_negative``, no edit list): the previous segment's audio already
# runs past the keyframe (packets that arrived before it), and a first sample moved back to zero
# overlapped it, played early, and was dropped by players that check timestamps.
MUXER_OPTIONS = {"movflags": MOVFLAGS, "frag_size": str(FRAGMENT_MAX_BYTES), "flush_packets": "1"}
CONTINUING_MUXER_OPTIONS = {
    **MUXER_OPTIONS,
    "movflags": MOVFLAGS + "+frag_discont",
    "use_editlist": "0",
    "avoid_negative_ts": "make_non_negative",
}


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

    ``continues``: the segment follows the previous one of the same connection without a break
    (see ``CONTINUING_MUXER_OPTIONS``).

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
        live: LiveFeed | None = None,
        session: int = 0,
        continues: bool = False,
    ) -> None:
        self.path = path
        self.start_ms = start_ms
        self.frames = 0
        self._video_in = video
        self._audio_in = audio
        assert video.time_base is not None
        self._video_tb = Fraction(video.time_base.numerator, video.time_base.denominator)
        sequence = live.sequence if live is not None else sequence_from(0)
        self.log = SegmentLog(path, start_ms, self._video_tb, sequence)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = TrackedFile(path, self.log)
        try:
            options = CONTINUING_MUXER_OPTIONS if continues else MUXER_OPTIONS
            self._out = av.open(self._file, "w", format="mp4", options=dict(options), buffer_size=WRITE_BUFFER_BYTES)
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
        except BaseException:
            self._file.release()
            path.unlink(missing_ok=True)
            raise
        if live is not None:
            live.add(self.log, session)
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

    def mark_keyframe(self, dts: int) -> None:
        """A keyframe after the first is about to be written: it may start a live part (once per keyframe)."""
        self.log.mark(dts - self._video_offset)

    def media_seconds(self, next_dts: int | None = None) -> float:
        """Duration covered so far: up to ``next_dts`` or one frame past the last packet."""
        end = next_dts if next_dts is not None else self.last_video_dts + self.last_video_duration
        return float((end - self._video_offset) * self._video_tb)

    def close(self, end_ms: int, end_dts: int | None = None) -> WrittenSegment:
        """Finish the file and make it durable (file and folder fsynced) before indexing.

        ``end_dts``: where the footage ends in stream time (the next segment's first keyframe);
        by default one frame past the last packet.
        """
        end = end_dts if end_dts is not None else self.last_video_dts + self.last_video_duration
        try:
            self._out.close()
        except BaseException:
            self.log.close(None)
            raise
        else:
            self.log.close(end - self._video_offset)
        finally:
            with contextlib.suppress(OSError):
                self._file.sync()
            self._file.release()
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
        self.log.close(None)
        with contextlib.suppress(OSError, av.FFmpegError):
            self._out.close()
        self._file.release()


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
