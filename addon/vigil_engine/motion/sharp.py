"""Pictures for people from a decoder that saves work: decode a chosen frame again, deblocked.

The substream decoder of motion detection skips H.264/H.265's deblocking filter
(``skip_loop_filter``): about a tenth of the decoding cost, which is most of what detection
costs (measured with ``scripts/bench motion``), and invisible to the detector, which looks at
a blurred grey picture a quarter of the size. But the same decoded frames are the event
snapshots and the camera's still images, and there the block edges that the filter would
have smoothed show, more so as errors add up until the next keyframe.

So the packets of the last few GOPs are kept (compressed, a few hundred KB for a substream),
and when a frame is to be shown, :meth:`SharpFrames.sharpen` decodes it again with a full
decoder, from its GOP's keyframe up to it. That costs one GOP's decode at most (about 20 ms
for 640x360 with a keyframe every 2 s), and only when a picture is taken: at an event's
start and when a clearly better one replaces it (at most once a second), or when a client
asks for a still. A frame whose packets are gone (older than what is kept, or from before a
reconnect) is returned as it is.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass
from typing import cast

import av
from av.packet import Packet
from av.video.codeccontext import VideoCodecContext

_LOGGER = logging.getLogger(__name__)

# Compressed bytes kept: a minute of a 0.5 Mbit/s substream, the GOP of an event's best frame
# long after it was seen. A GOP larger than this on its own is not kept at all.
KEEP_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class StreamParams:
    """What a decoder needs to know about the stream before its first packet."""

    codec: str
    extradata: bytes | None
    width: int
    height: int


def new_decoder(params: StreamParams, *, deblock: bool = True) -> VideoCodecContext:
    """A single-threaded video decoder for the stream (frame threads add CPU and latency: measured)."""
    decoder = cast(VideoCodecContext, av.CodecContext.create(params.codec, "r"))
    if params.extradata:
        decoder.extradata = params.extradata
    if params.width and params.height:
        decoder.width, decoder.height = params.width, params.height
    decoder.thread_count = 1
    if not deblock:
        decoder.options = {"skip_loop_filter": "all"}
    return decoder


@dataclass(slots=True)
class _Gop:
    packets: list[tuple[int, bytes]]  # (pts, data), keyframe first
    size: int


class SharpFrames:
    """The packets of the latest GOPs of one stream, and full-quality decodes of their frames."""

    def __init__(self, keep_bytes: int = KEEP_BYTES) -> None:
        self._keep_bytes = keep_bytes
        self._lock = threading.Lock()
        self._params: StreamParams | None = None
        self._gops: deque[_Gop] = deque()
        self._bytes = 0

    def reset(self, params: StreamParams | None) -> None:
        """A new session (or none): forget the packets of the last one, whose timestamps may repeat."""
        with self._lock:
            self._params = params
            self._gops.clear()
            self._bytes = 0

    def add(self, pts: int, data: bytes, keyframe: bool) -> None:
        """One packet, in decoding order. Packets before the first keyframe are not kept."""
        with self._lock:
            if keyframe:
                self._gops.append(_Gop([], 0))
            elif not self._gops:
                return
            gop = self._gops[-1]
            gop.packets.append((pts, data))
            gop.size += len(data)
            self._bytes += len(data)
            while self._bytes > self._keep_bytes and self._gops:
                dropped = self._gops.popleft()
                self._bytes -= dropped.size

    def sharpen(self, frame: av.VideoFrame) -> av.VideoFrame:
        """``frame`` decoded again with deblocking, or ``frame`` itself if its packets are gone."""
        pts = frame.pts
        with self._lock:
            params = self._params
            packets = next((list(gop.packets) for gop in self._gops if any(p == pts for p, _ in gop.packets)), None)
        if pts is None or params is None or packets is None:
            return frame
        try:
            decoder = new_decoder(params)
            for packet_pts, data in packets:
                packet = Packet(data)
                packet.pts = packet_pts
                for decoded in decoder.decode(packet):
                    if isinstance(decoded, av.VideoFrame) and decoded.pts == pts:
                        return decoded
                if packet_pts == pts:
                    break  # no B-frames in the stream: its frame comes with the flush below
            for decoded in decoder.decode(None):
                if isinstance(decoded, av.VideoFrame) and decoded.pts == pts:
                    return decoded
        except av.FFmpegError as err:
            _LOGGER.debug("A deblocked decode of a frame failed (the frame is used as decoded): %s", err)
        return frame
