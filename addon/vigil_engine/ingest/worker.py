"""One thread per camera: connect, record segments, reconnect forever.

A worker never stops on its own. Each failure is classified (see ``source``), logged once
when the camera goes down and once when it is back, recorded as a gap in the index, and
retried with exponential backoff (1 s up to 30 s; a connection that brought media starts
the next outage at 1 s again). While waiting, cheap probes every half second notice the
camera's return (see ``probe``), so recording resumes within about a second instead of at
the next backoff step: a TCP connect for a camera that refused connections (stopped), an
RTSP ``OPTIONS`` for one that timed out (frozen: its port stays open, its server silent;
it is not opened again until it answers). A camera whose data stops is offline one read
timeout later (see ``_record``: FFmpeg alone would take two), its gap starting at its
last frame.

Time: a session is anchored once, at its first keyframe, to the engine's monotonic UTC
clock; every later instant is the anchor plus stream time, so segments abut exactly and a
host clock step changes nothing. Stream clocks drift from real time (cheap cameras by
100 ppm or more), so at each segment boundary the anchor is slewed toward the engine
clock by at most 500 ppm; a disagreement over 2 s (a camera that stalled without closing
the connection) re-anchors and is logged.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import av
from av.packet import Packet
from av.video.stream import VideoStream

from vigil_engine.clock import MAX_SLEW_PPM, EngineClock
from vigil_engine.config import CameraConfig, EngineConfig
from vigil_engine.recording.live import LiveFeed
from vigil_engine.recording.segment_writer import SegmentWriter
from vigil_engine.redact import redact
from vigil_engine.status import CameraStatus, RateMeter
from vigil_engine.storage.index import GapRecord, Index, SegmentRecord
from vigil_engine.storage.layout import segment_path
from vigil_engine.storage.mp4 import probe_segment, probed_record, trim_torn_tail

from .probe import ServerWatch, tcp_reachable
from .source import FailureKind, OpenedSource, SourceError, classify_error, open_source
from .timestamps import TimestampRepair, as_fraction

_LOGGER = logging.getLogger(__name__)

BACKOFF_START_S = 1.0
BACKOFF_MAX_S = 30.0
PROBE_INTERVAL_S = 0.5
# A camera's server that leaves our request unanswered this long is silent (frozen, hung).
SILENT_S = 1.0
# How often the packet loop looks up from the packets: stop flag, rates, stalls.
TICK_S = 0.25
REANCHOR_THRESHOLD_MS = 2000.0

ChangeCallback = Callable[[str, dict[str, Any]], None]


class PacketTap(Protocol):
    """Sees the recorded video packets (motion detection without a substream, snapshots).

    Called in the camera's recording thread, so it must return at once: it copies what it
    needs and hands it to its own thread.
    """

    def tap_session(self, video: VideoStream) -> None: ...
    def tap_packet(self, packet: Packet[Any], utc_ms: int, keyframe: bool) -> None: ...
    def tap_end(self) -> None: ...


@dataclass
class _Anchor:
    dts: int
    utc_ms: float
    tb_ms: float  # milliseconds per tick

    def at(self, dts: int) -> float:
        return self.utc_ms + (dts - self.dts) * self.tb_ms


class CameraWorker:
    def __init__(
        self,
        camera: CameraConfig,
        config: EngineConfig,
        index: Index,
        clock: EngineClock,
        status: CameraStatus,
        on_change: ChangeCallback | None = None,
        on_disk_error: Callable[[], None] | None = None,
    ) -> None:
        self.camera = camera
        self.config = config
        self.index = index
        self.clock = clock
        self.status = status
        self._on_change = on_change or (lambda kind, data: None)
        self._on_disk_error = on_disk_error or (lambda: None)
        self._stop = threading.Event()
        self._recording_enabled = camera.record != "off"
        self._meter = RateMeter()
        self._down_logged = False
        self._down_since: float | None = None
        self._audio_drop_logged = False
        self._write_error_logged = False
        self._last_end_ms: int | None = None
        self._rates_at = 0.0
        # Why the footage stopped, for the gap recorded when it resumes.
        self._gap_reason = "engine was not running"
        self.tap: PacketTap | None = None
        # The segments being written, for live HLS (read by the API's threads).
        self.live_feed = LiveFeed(clock.now_ms())
        self._sessions = itertools.count(1)
        self._thread = threading.Thread(target=self._run, name=f"camera-{camera.id}", daemon=True)

    # --- control, from any thread ---
    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def set_packet_tap(self, tap: PacketTap | None) -> None:
        """Set before ``start``: who else sees the video packets."""
        self.tap = tap

    def set_recording(self, enabled: bool) -> None:
        """Turn recording on or off at run time (takes effect at the next keyframe)."""
        self._recording_enabled = enabled

    # --- the thread ---
    def _run(self) -> None:
        last = self.index.last_segment(self.camera.id)
        self._last_end_ms = last.end_ms if last else None
        backoff = BACKOFF_START_S
        while not self._stop.is_set():
            got_media, failure = self._connection()
            if self._stop.is_set():
                break
            if got_media:
                backoff = BACKOFF_START_S  # it worked: a new outage starts at the shortest step
            self._went_down(failure or SourceError("ended", "the camera stopped sending (stream ended)"))
            self._wait(backoff, failure.kind if failure else "ended")
            backoff = min(backoff * 2, BACKOFF_MAX_S)
        self.status.online = False
        self._set_recording_state(False)

    def _connection(self) -> tuple[bool, SourceError | None]:
        """Open the camera and record until the connection ends: (media came, why it ended)."""
        try:
            source = open_source(self.camera, self.config.open_timeout, self.config.read_timeout)
        except SourceError as err:
            return False, err
        session: _Session | None = None
        failure: SourceError | None = None
        try:
            session = _Session(self, source)
            self._record(source, session)
        except SourceError as err:
            failure = err
        except av.FFmpegError as err:
            failure = classify_error(err, self.config.read_timeout)
        except Exception as err:  # a worker must survive anything; log it in full
            _LOGGER.exception("Camera %s: unexpected error while recording", self.camera.id)
            failure = SourceError("invalid", f"internal error: {type(err).__name__}")
        finally:
            source.close()
        return session is not None and session.got_media, failure

    def _set_recording_state(self, recording: bool) -> None:
        """Status and one bus message per change (not per segment)."""
        if self.status.recording == recording:
            return
        self.status.recording = recording
        self._on_change("recording", {"camera_id": self.camera.id, "recording": recording})

    def _wait(self, delay: float, kind: FailureKind) -> None:
        """Sleep for the backoff delay, cut short when a camera that was gone is back.

        Probes run every ``PROBE_INTERVAL_S`` (see ``probe``). A camera that refused
        connections (stopped) is back when its port, seen closed, accepts again. A camera
        that timed out may have kept its port open (a frozen server's kernel still accepts),
        so its server is watched instead (``_watch_server``).
        """
        deadline = time.monotonic() + delay
        if kind == "timeout":
            if self._watch_server(deadline):
                return
        elif kind in ("unreachable", "ended"):
            seen_closed = False
            while not self._stop.is_set() and (started := time.monotonic()) < deadline:
                reachable = tcp_reachable(self.camera.url, timeout=PROBE_INTERVAL_S)
                if reachable is None:
                    break  # not a network source
                if not reachable:
                    seen_closed = True
                elif seen_closed:
                    return  # the port was closed and now accepts: the camera is back
                self._stop.wait(max(0.0, min(deadline, started + PROBE_INTERVAL_S) - time.monotonic()))
        self._stop.wait(max(0.0, deadline - time.monotonic()))

    def _watch_server(self, deadline: float) -> bool:
        """Watch a timed-out camera's server; True: it answered after a silence, retry now.

        A server that answers at once, although its stream timed out (alive, its media
        stalled), gets the full backoff step: no hammering. A server that took the
        connection and does not answer (frozen) is not opened at all while so: the open
        would hang on the same silence, and a thaw would reach it late; the watch's own
        request is the one FFmpeg's open sends first, so an open could not get further
        either. Past the deadline the wait therefore ends only on an answer, unless the
        server cannot even be reached (then the full open at each step goes on as before).
        """
        with ServerWatch(self.camera.url) as watch:
            if not watch.supported:
                return False
            was_silent = False
            while not self._stop.is_set():
                started = time.monotonic()
                if watch.poll(PROBE_INTERVAL_S):
                    if was_silent:
                        _LOGGER.debug("Camera %s answers again: retrying now", self.camera.id)
                    return was_silent
                was_silent = was_silent or watch.unanswered_s >= SILENT_S
                if started >= deadline and not watch.asking:
                    return False
                self._stop.wait(max(0.0, started + PROBE_INTERVAL_S - time.monotonic()))
        return False

    def _went_down(self, err: SourceError) -> None:
        message = str(err)
        self.status.last_error = message
        was_online = self.status.online
        self.status.online = False
        self._set_recording_state(False)
        self.status.fps, self.status.bitrate = 0.0, 0
        self._meter.reset()
        self._gap_reason = message
        if not self._down_logged:
            self._down_logged = True
            self._down_since = time.monotonic()
            self.status.since_ms = self.clock.now_ms()
            _LOGGER.warning("Camera %s is offline: %s", self.camera.id, message)
            self._on_change("camera_offline", {"camera_id": self.camera.id, "error": message})
        elif was_online:
            self.status.since_ms = self.clock.now_ms()
        else:
            _LOGGER.debug("Camera %s still offline: %s", self.camera.id, message)

    def _came_up(self, source: OpenedSource) -> None:
        if self._down_logged and self._down_since is not None:
            self.status.reconnects += 1
            _LOGGER.warning(
                "Camera %s is back online after %.0f s", self.camera.id, time.monotonic() - self._down_since
            )
        else:
            _LOGGER.info("Camera %s connected", self.camera.id)
        self._down_logged = False
        self._down_since = None
        ctx = source.video.codec_context
        self.status.online = True
        self.status.since_ms = self.clock.now_ms()
        self.status.video_codec, self.status.width, self.status.height = ctx.name, ctx.width, ctx.height
        self.status.audio_codec = source.audio.codec_context.name if source.audio is not None else None
        if source.dropped_audio_codec and not self._audio_drop_logged:
            self._audio_drop_logged = True
            _LOGGER.warning(
                "Camera %s: audio codec %s cannot be stored in MP4; recording video only",
                self.camera.id,
                source.dropped_audio_codec,
            )
        self._on_change("camera_online", {"camera_id": self.camera.id})

    # --- one connection ---
    def _record(self, source: OpenedSource, session: _Session) -> None:
        """Feed the connection's packets to the session until it ends, stalls or is stopped.

        A stall: when the server stops sending but keeps the connection open, FFmpeg's read
        gives up after the read timeout, but the error does not reach us. The H.264/H.265
        parser still holds the last frame (it waits for the next one to know the frame is
        complete); on the error FFmpeg flushes it and returns it as a normal packet, then
        the next read waits a whole read timeout again (measured: the frame 5.0 s after the
        freeze, the error 5.0 s later). A packet that comes a read timeout or more after
        the previous one is that flushed frame: it is recorded and the connection ends
        there, so the camera is offline when its data stopped, not twice as late.

        The loop runs for every packet of every camera. Everything but the feed and the
        arrival time is done on a tick, at the first packet at least ``TICK_S`` after the
        last tick: the stop flag, the rates, the stall (a stalled packet is always late
        enough to be a tick).
        """
        read_timeout = self.config.read_timeout
        # A replayed file's waits are its own pacing, not a server going quiet.
        stall_s = math.inf if source.realtime else read_timeout
        feed, monotonic = session.feed, time.monotonic
        last = tick_due = monotonic()
        try:
            for packet in source.packets(read_timeout):
                now = monotonic()
                if now >= tick_due:
                    if self._stop.is_set():
                        break
                    tick_due = now + TICK_S
                    self._update_rates(now)
                    if now - last >= stall_s:
                        feed(packet, now)
                        raise SourceError("timeout", f"no answer from the camera within {read_timeout:g} s")
                feed(packet, now)
                last = now
        finally:
            session.finish()
            self._set_recording_state(False)

    def _new_anchor(self, dts: int, time_base: Any, utc_ms: float) -> _Anchor:
        if self._last_end_ms is not None and utc_ms < self._last_end_ms:
            # Never overlap footage already indexed (e.g. an instant restart).
            utc_ms = float(self._last_end_ms)
        return _Anchor(dts=dts, utc_ms=utc_ms, tb_ms=float(time_base) * 1000)

    def _boundary_ms(self, anchor: _Anchor, dts: int, writer: SegmentWriter, live: bool) -> int:
        """The instant at ``dts``, after slewing the session's anchor toward the engine clock."""
        if live:
            error = self.clock.now_ms() - anchor.at(dts)
            if abs(error) > REANCHOR_THRESHOLD_MS:
                _LOGGER.info(
                    "Camera %s: stream time is %.1f s off the clock; re-anchoring", self.camera.id, error / 1000
                )
                anchor.utc_ms += error
            else:
                limit = writer.media_seconds(dts) * 1000 * MAX_SLEW_PPM / 1e6
                anchor.utc_ms += max(-limit, min(limit, error))
        return max(round(anchor.at(dts)), writer.start_ms + 1)

    def _open_writer(
        self, source: OpenedSource, anchor: _Anchor, dts: int, session: int, follows: bool
    ) -> SegmentWriter | None:
        """A writer for a segment starting at ``dts``, or None when the file cannot be made.

        ``follows``: the session wrote the segment before this one. The gap since the last
        footage is recorded once footage resumes, as one row: a file that cannot be opened (a
        full disk, no descriptor left) is tried again at every keyframe, and each try must not
        add a row of its own.
        """
        start_ms = round(anchor.at(dts))
        gap_from: int | None = None
        if self._last_end_ms is not None:
            if start_ms > self._last_end_ms + 1:
                gap_from = self._last_end_ms
            start_ms = max(start_ms, self._last_end_ms)
        path = segment_path(self.config.recordings_path, self.camera.id, start_ms)
        try:
            writer = SegmentWriter(
                path,
                self.camera.id,
                start_ms,
                source.video,
                source.audio,
                dts,
                live=self.live_feed,
                session=session,
                continues=follows and gap_from is None,
            )
        except (OSError, av.FFmpegError) as err:
            self._report_write_error(err)
            self._set_recording_state(False)
            return None
        if gap_from is not None:
            self._record_gap(gap_from, start_ms)
        self._set_recording_state(True)
        return writer

    def _record_gap(self, start_ms: int, end_ms: int) -> None:
        try:
            self.index.add_gap(GapRecord(self.camera.id, start_ms, end_ms, self._gap_reason))
        except Exception:  # the index must never stop recording
            _LOGGER.exception("Camera %s: cannot index a gap", self.camera.id)

    def _finish(self, writer: SegmentWriter, end_ms: int, end_dts: int | None = None) -> None:
        try:
            written = writer.close(end_ms, end_dts)
        except (OSError, av.FFmpegError) as err:
            self._report_write_error(err)
            self._salvage(writer.path, writer.start_ms)
            return
        self._index(
            SegmentRecord(
                camera_id=self.camera.id,
                start_ms=written.start_ms,
                end_ms=written.end_ms,
                bytes=written.bytes,
                path=written.path.relative_to(self.config.recordings_path).as_posix(),
                video_codec=written.video_codec,
                width=written.width,
                height=written.height,
                audio_codec=written.audio_codec,
                frames=written.frames,
            )
        )

    def _write_failed(self, writer: SegmentWriter, err: Exception) -> None:
        self._report_write_error(err)
        writer.abort()
        self._salvage(writer.path, writer.start_ms)
        self._on_disk_error()

    def _salvage(self, path: Path, start_ms: int) -> None:
        """Keep what a failed segment holds: trim a torn fragment and index the rest.

        Called after a write error, which is logged once per outage (``_report_write_error``):
        that a segment of the same outage held nothing is not worth another line each time.
        """
        try:
            trim_torn_tail(path)
            probed = probe_segment(path)
        except FileNotFoundError:
            return  # nothing was written
        except OSError, ValueError, av.FFmpegError:
            _LOGGER.debug("Camera %s: segment %s holds no playable footage", self.camera.id, path.name)
            path.unlink(missing_ok=True)
            return
        rel = path.relative_to(self.config.recordings_path).as_posix()
        self._index(probed_record(self.camera.id, start_ms, rel, path, probed))

    def _index(self, record: SegmentRecord) -> None:
        self._last_end_ms = record.end_ms
        self.status.last_segment_end_ms = record.end_ms
        self.status.segments_written += 1
        if not record.recovered:
            self._write_error_logged = False
        try:
            self.index.add_segment(record)
        except Exception:  # the file is on disk; the next start-up's reconcile indexes it
            _LOGGER.exception("Camera %s: cannot index segment %s", self.camera.id, record.path)
            return
        self._on_change("segment", {"camera_id": self.camera.id, "start_ms": record.start_ms, "end_ms": record.end_ms})

    def _report_write_error(self, err: Exception) -> None:
        message = redact(getattr(err, "strerror", None) or str(err))
        self.status.last_error = f"cannot write footage: {message}"
        self._gap_reason = f"cannot write footage: {message}"
        if not self._write_error_logged:
            self._write_error_logged = True
            _LOGGER.error("Camera %s: cannot write footage: %s", self.camera.id, message)

    def _update_rates(self, now: float) -> None:
        # Once a second is plenty for a status figure; the packet loop stays cheap.
        if now - self._rates_at >= 1.0:
            self._rates_at = now
            self.status.fps, self.status.bitrate = self._meter.rates(now)


class _Session:
    """State of one connection: timestamp repair, the time anchor, the open segment.

    Opening a stream makes FFmpeg read ahead (about two seconds over RTSP) before the first
    packet is handed over, so the first packets arrive in a burst. Anchoring on the first
    packet's arrival would put the footage late by that much. Packets are therefore held
    for a few seconds ("settling"; the burst arrives in chunks, so its end cannot be told
    reliably from arrival gaps), and the anchor is the minimum, over those packets, of
    arrival time minus stream offset: the packet that waited least. Nothing is lost or
    delayed in the index: the held packets are written with their own timestamps.
    """

    SETTLE_S = 3.0

    def __init__(self, worker: CameraWorker, source: OpenedSource) -> None:
        self.w = worker
        self.source = source
        video, audio = source.video, source.audio
        assert video.time_base is not None
        self.tb_ms = float(video.time_base) * 1000
        self.vfix = TimestampRepair(as_fraction(video.time_base), source.frame_duration_s)
        self.afix: TimestampRepair | None = None
        if audio is not None and audio.time_base is not None:
            self.afix = TimestampRepair(as_fraction(audio.time_base), 1024 / (audio.codec_context.sample_rate or 16000))
        self.live = source.realtime or not worker.camera.url.startswith("file:")
        self.number = next(worker._sessions)
        self.anchor: _Anchor | None = None
        self.writer: SegmentWriter | None = None
        self.got_media = False
        self._pending: list[tuple[Packet[Any], bool, int, int]] = []
        self._settling = True
        self._first_dts: int | None = None
        self._best_utc_ms = float("inf")
        self._settle_started = 0.0

    def feed(self, packet: Packet[Any], arrival: float) -> None:
        is_video = packet.stream is self.source.video
        if is_video:
            pts, dts = self.vfix.fix(packet.pts, packet.dts, packet.duration)
            if not self.got_media:
                self.got_media = True
                self._settle_started = arrival
                self.w._came_up(self.source)
            self.w._meter.add(packet.size)
        elif self.afix is not None:
            pts, dts = self.afix.fix(packet.pts, packet.dts, packet.duration)
        else:
            return
        if not self._settling:
            self._handle(packet, is_video, pts, dts)
            return
        self._pending.append((packet, is_video, pts, dts))
        if not is_video:
            return
        if self._first_dts is None:
            self._first_dts = dts
        utc = self.w.clock.utc_for_monotonic(arrival) * 1000 - (dts - self._first_dts) * self.tb_ms
        self._best_utc_ms = min(self._best_utc_ms, utc)
        if not self.live or arrival - self._settle_started >= self.SETTLE_S:
            self._settle()

    def _settle(self) -> None:
        """Fix the anchor from the held packets, then write them out in order.

        A segment boundary among the held packets is placed by the new anchor alone: the
        engine clock is compared with a packet only as it arrives (``_boundary_ms``), and
        these arrived up to ``SETTLE_S`` ago (with 2 s segments that read as 2 s of drift).
        """
        assert self._first_dts is not None
        self.anchor = self.w._new_anchor(self._first_dts, self.source.video.time_base, self._best_utc_ms)
        if self.w.tap is not None:
            self.w.tap.tap_session(self.source.video)
        pending, self._pending = self._pending, []
        for item in pending:
            self._handle(*item)
        self._settling = False

    def _handle(self, packet: Packet[Any], is_video: bool, pts: int, dts: int) -> None:
        w = self.w
        if is_video and w.tap is not None and self.anchor is not None:
            # Before the writer: muxing rebases the packet's timestamps in place.
            w.tap.tap_packet(packet, round(self.anchor.at(pts)), packet.is_keyframe)
        if is_video and packet.is_keyframe and self.anchor is not None:
            want = w._recording_enabled
            writer = self.writer
            if writer is not None:
                if not want or writer.media_seconds(dts) >= w.config.segment_seconds:
                    end_ms = w._boundary_ms(self.anchor, dts, writer, self.live and not self._settling)
                    w._finish(writer, end_ms, dts)
                    self.writer = None
                else:
                    writer.mark_keyframe(dts)  # a live part may start here
            if self.writer is None and want:
                self.writer = w._open_writer(self.source, self.anchor, dts, self.number, writer is not None)
            elif not want:
                w._gap_reason = "recording was turned off"
                w._set_recording_state(False)
        if self.writer is None:
            return
        try:
            if is_video:
                self.writer.write_video(packet, pts, dts)
            else:
                self.writer.write_audio(packet, pts, dts)
        except (OSError, av.FFmpegError) as err:
            w._write_failed(self.writer, err)
            self.writer = None

    def finish(self) -> None:
        if self._settling and self._first_dts is not None:
            self._settle()  # the connection ended while settling: keep what arrived
        writer = self.writer
        if writer is not None and self.anchor is not None:
            last_ms = self.anchor.at(writer.last_video_dts + writer.last_video_duration)
            self.w._finish(writer, max(round(last_ms), writer.start_ms + 1))
        self.writer = None
        if self.w.tap is not None and self.anchor is not None:
            self.w.tap.tap_end()
