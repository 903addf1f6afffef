"""One motion thread per camera: decode, analyse, feed the camera's events; keep the latest frame.

What it decodes:
- the camera's **substream** when one is configured (its own connection; small frames make
  decoding cheap), reconnecting with backoff like the recorder;
- otherwise the **recorded main stream**, whose packets the recording thread hands over
  (copied, through a bounded queue: if this thread falls behind, packets are dropped up to
  the next keyframe — recording never waits for motion detection).

Turned off at run time, the thread stops decoding altogether (the substream connection is
closed). For on-demand snapshots it keeps a copy of the main stream's last keyframe, and
decodes that single packet when asked while no fresh decoded frame is at hand.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import av
from av.packet import Packet
from av.video.codeccontext import VideoCodecContext
from av.video.stream import VideoStream

from vigil_engine.clock import EngineClock
from vigil_engine.config import CameraConfig, EngineConfig
from vigil_engine.events.manager import CameraEvents, EventManager, Publish
from vigil_engine.events.snapshots import encode_jpeg
from vigil_engine.events.tracker import Observation
from vigil_engine.ingest.source import SourceError, classify_error, open_source

from .sharp import SharpFrames, StreamParams, new_decoder

if TYPE_CHECKING:
    from vigil_engine.detection.camera import CameraObjects
    from vigil_engine.ingest.worker import CameraWorker

    from .analyzer import MotionAnalyzer

_LOGGER = logging.getLogger(__name__)

# About four seconds of 30 fps video: enough to ride out a slow analysis, small in memory.
QUEUE_PACKETS = 120
IDLE_TICK_S = 0.5
# A decoded frame older than this is not "the latest frame" any more (camera stalled).
FRESH_FRAME_S = 5.0
BACKOFF_START_S = 1.0
BACKOFF_MAX_S = 30.0


@dataclass(frozen=True, slots=True)
class _Item:
    data: bytes | None  # None: the session ended
    utc_ms: int
    keyframe: bool
    params: StreamParams | None = None  # set on the first packet of a session


class MotionWorker:
    def __init__(
        self,
        camera: CameraConfig,
        config: EngineConfig,
        clock: EngineClock,
        events: EventManager,
        publish: Publish,
        recorder: CameraWorker | None,
        objects: CameraObjects | None = None,
    ) -> None:
        self.camera = camera
        # Object detection on the analysed frames (None: the camera has none, or no detector).
        self.objects = objects
        self.config = config
        self.clock = clock
        self.events: CameraEvents = events.camera(camera.id)
        self._publish = publish
        self._enabled = camera.motion.enabled
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._queue: queue.Queue[_Item] = queue.Queue(QUEUE_PACKETS)
        self._resync = True  # drop packets until a keyframe (start, or after an overflow)
        self._params: StreamParams | None = None
        self._new_session = False
        self._last_key: tuple[bytes, StreamParams, int] | None = None
        self._latest: av.VideoFrame | None = None
        self._latest_mono = 0.0
        self._lock = threading.Lock()
        self.frames_decoded = 0
        self.frames_analysed = 0
        self.dropped_packets = 0
        self._use_substream = camera.substream_url is not None
        # The substream is decoded without deblocking; pictures shown to people are decoded
        # again with it (see motion.sharp). The main stream's frames are decoded in full.
        self._sharp = SharpFrames() if self._use_substream else None
        if self._sharp is not None:
            self.events.sharpen = self._sharp.sharpen
        if recorder is not None:
            recorder.set_packet_tap(self)
        self._thread = threading.Thread(target=self._run, name=f"motion-{camera.id}", daemon=True)

    # --- control ---
    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def set_enabled(self, enabled: bool) -> None:
        self._enabled = enabled
        self._wake.set()

    @property
    def enabled(self) -> bool:
        return self._enabled

    @property
    def motion_active(self) -> bool:
        return self.events.motion_active

    @property
    def active_zones(self) -> frozenset[str]:
        return self.events.active_zones

    # --- the recording thread's tap (must return at once) ---
    def tap_session(self, video: VideoStream) -> None:
        ctx = video.codec_context
        self._params = StreamParams(ctx.name, ctx.extradata, ctx.width, ctx.height)
        self._new_session = True
        self._resync = True

    def tap_packet(self, packet: Packet[Any], utc_ms: int, keyframe: bool) -> None:
        params = self._params
        if params is None:
            return
        data: bytes | None = None
        if keyframe:
            data = bytes(packet)
            self._last_key = (data, params, utc_ms)
        if not self._enabled or self._use_substream:
            return
        if self._resync and not keyframe:
            return
        item = _Item(
            data if data is not None else bytes(packet), utc_ms, keyframe, params if self._new_session else None
        )
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.dropped_packets += 1
            self._resync = True  # the decoder cannot continue without the lost packets
            return
        self._resync = False
        self._new_session = False

    def tap_end(self) -> None:
        if self._enabled and not self._use_substream:
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(_Item(None, 0, False))
        self._params = None

    # --- snapshots (any thread) ---
    def latest_frame(self) -> av.VideoFrame | None:
        with self._lock:
            latest = self._latest if time.monotonic() - self._latest_mono <= FRESH_FRAME_S else None
        if latest is not None:
            return self._sharp.sharpen(latest) if self._sharp is not None else latest
        key = self._last_key
        if key is None:
            return None
        return _decode_single(key[0], key[1])

    def snapshot_jpeg(self, width: int | None = None) -> bytes | None:
        frame = self.latest_frame()
        return encode_jpeg(frame, width) if frame is not None else None

    def _keep_latest(self, frame: av.VideoFrame) -> None:
        with self._lock:
            self._latest = frame
            self._latest_mono = time.monotonic()

    # --- the thread ---
    def _run(self) -> None:
        analyzer: MotionAnalyzer | None = None
        was_enabled = False
        while not self._stop.is_set():
            if not self._enabled:
                if was_enabled:
                    was_enabled = False
                    self._drain()
                    self.events.stop_detection(self.clock.now_ms())
                    _LOGGER.info("Camera %s: motion detection off", self.camera.id)
                self._tick()
                self._wake.wait(IDLE_TICK_S)
                self._wake.clear()
                continue
            if not was_enabled:
                was_enabled = True
                if analyzer is None:
                    # Imported here: numpy and the analysis cost nothing while no camera detects.
                    from .analyzer import MotionAnalyzer  # noqa: PLC0415

                    analyzer = MotionAnalyzer(self.camera.motion)
                analyzer.reset()
                _LOGGER.info(
                    "Camera %s: motion detection on (%s, %g fps)",
                    self.camera.id,
                    "substream" if self._use_substream else "main stream",
                    self.camera.motion.fps,
                )
            assert analyzer is not None
            try:
                if self._use_substream:
                    self._run_substream(analyzer)
                else:
                    self._run_main_stream(analyzer)
            except Exception:  # detection must survive anything; recording is unaffected
                _LOGGER.exception("Camera %s: motion detection failed; restarting it", self.camera.id)
                self.events.stop_detection(self.clock.now_ms())
                self._stop.wait(BACKOFF_START_S)
        self.events.stop_detection(self.clock.now_ms())
        if self.objects is not None:
            self.objects.stop(self.clock.now_ms())

    def _tick(self) -> None:
        """Time passes without a frame: events go quiet, detection results are taken up."""
        now = self.clock.now_ms()
        if self.objects is not None:
            self.objects.apply_results(now)
        self.events.idle(now)

    def _drain(self) -> None:
        with contextlib.suppress(queue.Empty):
            while True:
                self._queue.get_nowait()
        self._resync = True

    def _analyse(self, analyzer: MotionAnalyzer, frame: av.VideoFrame, utc_ms: int) -> None:
        self.frames_decoded += 1
        self._keep_latest(frame)
        objects = self.objects
        if objects is not None:
            objects.apply_results(utc_ms)
        if not analyzer.due(utc_ms / 1000):
            return
        mono = time.monotonic()
        result = analyzer.analyze(frame, areas=objects is not None and objects.enabled)
        self.frames_analysed += 1
        zones = frozenset(name for name, moving in result.zones.items() if moving)
        self.events.observe(Observation(utc_ms, mono, result.motion, result.score, zones), frame)
        if objects is not None:
            objects.after_motion(frame, result, utc_ms, mono)

    # --- main stream, from the recorder's tap ---
    def _run_main_stream(self, analyzer: MotionAnalyzer) -> None:
        decoder: VideoCodecContext | None = None
        last_tick = time.monotonic()
        while self._enabled and not self._stop.is_set():
            try:
                item = self._queue.get(timeout=IDLE_TICK_S)
            except queue.Empty:
                item = None
            now = time.monotonic()
            if item is not None and item.data is None:
                decoder = None  # the session ended (camera offline): motion cannot go on
                self.events.stop_detection(self.clock.now_ms())
                analyzer.reset()
            elif item is not None and item.data is not None:
                if item.params is not None or decoder is None:
                    params = item.params or self._params
                    if params is None:
                        continue
                    decoder = new_decoder(params)
                    analyzer.reset()
                packet = Packet(item.data)
                packet.pts = item.utc_ms
                try:
                    frames = decoder.decode(packet)
                except av.FFmpegError as err:
                    _LOGGER.debug("Camera %s: undecodable packet skipped: %s", self.camera.id, err)
                    continue
                for frame in frames:
                    assert isinstance(frame, av.VideoFrame)
                    self._analyse(analyzer, frame, frame.pts if frame.pts is not None else item.utc_ms)
            if now - last_tick >= IDLE_TICK_S:
                last_tick = now
                self._tick()

    # --- substream, on its own connection ---
    def _run_substream(self, analyzer: MotionAnalyzer) -> None:
        assert self.camera.substream_url is not None
        sub = replace(self.camera, url=self.camera.substream_url)
        backoff = BACKOFF_START_S
        down_logged = False
        while self._enabled and not self._stop.is_set():
            try:
                source = open_source(sub, self.config.open_timeout, self.config.read_timeout)
            except SourceError as err:
                failure: SourceError | None = err
            else:
                failure = None
                if down_logged:
                    _LOGGER.warning("Camera %s: substream is back", self.camera.id)
                    down_logged = False
                backoff = BACKOFF_START_S
                try:
                    self._read_substream(source, analyzer)
                except SourceError as err:
                    failure = err
                except av.FFmpegError as err:
                    failure = classify_error(err, self.config.read_timeout)
                finally:
                    source.close()
                    self.events.stop_detection(self.clock.now_ms())
                    analyzer.reset()
            if not self._enabled or self._stop.is_set():
                return
            if not down_logged:
                down_logged = True
                reason = failure or "the stream ended"
                _LOGGER.warning("Camera %s: substream for motion detection is down: %s", self.camera.id, reason)
            deadline = time.monotonic() + backoff
            while self._enabled and not self._stop.is_set() and time.monotonic() < deadline:
                self._tick()
                self._wake.wait(min(IDLE_TICK_S, max(0.0, deadline - time.monotonic())))
                self._wake.clear()
            backoff = min(backoff * 2, BACKOFF_MAX_S)

    def _read_substream(self, source: Any, analyzer: MotionAnalyzer) -> None:
        video: VideoStream = source.video
        ctx = video.codec_context
        ctx.thread_count = 1  # frame threads add CPU and latency (measured)
        # No deblocking: the detector cannot tell, decoding costs a tenth less (motion.sharp).
        ctx.options = {**ctx.options, "skip_loop_filter": "all"}
        sharp = self._sharp
        assert sharp is not None
        sharp.reset(StreamParams(ctx.name, ctx.extradata, ctx.width, ctx.height))
        assert video.time_base is not None
        tb_ms = float(video.time_base) * 1000
        first: int | None = None
        anchor_ms = float("inf")
        last_tick = time.monotonic()
        for packet in source.packets(self.config.read_timeout):
            if self._stop.is_set() or not self._enabled:
                return
            now = time.monotonic()
            if now - last_tick >= IDLE_TICK_S:
                last_tick = now
                self._tick()
            if packet.stream is not video:
                continue
            ts = packet.pts if packet.pts is not None else packet.dts
            if ts is None:
                continue
            if first is None:
                first = ts
            # The stream's anchor on the wall clock: the packet that waited least (see the
            # recorder's settling), refined as packets arrive.
            anchor_ms = min(anchor_ms, self.clock.utc_for_monotonic(now) * 1000 - (ts - first) * tb_ms)
            if packet.pts is not None:
                sharp.add(packet.pts, bytes(packet), packet.is_keyframe)
            for frame in packet.decode():
                assert isinstance(frame, av.VideoFrame)
                frame_ts = frame.pts if frame.pts is not None else ts
                self._analyse(analyzer, frame, round(anchor_ms + (frame_ts - first) * tb_ms))


def _decode_single(data: bytes, params: StreamParams) -> av.VideoFrame | None:
    """Decode one keyframe on its own (an on-demand snapshot while detection is off)."""
    try:
        decoder = new_decoder(params)
        frames = [*decoder.decode(Packet(data)), *decoder.decode(None)]
    except av.FFmpegError:
        return None
    for frame in frames:
        if isinstance(frame, av.VideoFrame):
            return frame
    return None
