"""Frames shown to people are decoded again with deblocking (motion.sharp).

The detection decoder of a substream skips the deblocking filter; these tests check, on a
real H.264 stream encoded with deblocking on (libx264 veryfast, as cameras encode), that a
frame taken from it is replaced by the exact frame a full decoder makes, and what happens
when its packets are gone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from av.packet import Packet
from av.video.stream import VideoStream

from vigil_engine.motion.sharp import SharpFrames, StreamParams, new_decoder

FPS = 10
GOP = 10


@pytest.fixture(scope="module")
def stream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three seconds of a textured, moving picture at a bitrate where deblocking shows."""
    path = tmp_path_factory.mktemp("sharp") / "sub.mkv"
    rng = np.random.default_rng(7)
    texture = rng.integers(0, 256, (180, 320, 3), dtype=np.uint8)
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=FPS)
        assert isinstance(video, VideoStream)
        video.width, video.height, video.pix_fmt = 320, 180, "yuv420p"
        video.codec_context.gop_size = GOP
        video.bit_rate = 150_000
        video.options = {"preset": "veryfast", "bf": "0"}
        for i in range(3 * FPS):
            picture = np.roll(texture, 3 * i, axis=1)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
    return path


def _decode(path: Path, *, deblock: bool, keep: SharpFrames | None = None) -> list[av.VideoFrame]:
    """Decode like the motion worker: packet by packet, feeding ``keep`` as it goes."""
    frames: list[av.VideoFrame] = []
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        ctx = video.codec_context
        if keep is not None:
            keep.reset(StreamParams(ctx.name, ctx.extradata, ctx.width, ctx.height))
        decoder = new_decoder(StreamParams(ctx.name, ctx.extradata, ctx.width, ctx.height), deblock=deblock)
        for packet in container.demux(video):
            if packet.size == 0:
                continue
            if keep is not None and packet.pts is not None:
                keep.add(packet.pts, bytes(packet), packet.is_keyframe)
            data = Packet(bytes(packet))
            data.pts = packet.pts
            frames.extend(f for f in decoder.decode(data) if isinstance(f, av.VideoFrame))
        frames.extend(f for f in decoder.decode(None) if isinstance(f, av.VideoFrame))
    return frames


def _pixels(frame: av.VideoFrame) -> Any:
    return frame.to_ndarray(format="gray")


def test_a_frame_is_decoded_again_exactly_as_a_full_decoder_would(stream: Path) -> None:
    keep = SharpFrames()
    fast = _decode(stream, deblock=False, keep=keep)
    full = _decode(stream, deblock=True)
    assert len(fast) == len(full) == 3 * FPS
    # The last frame of a GOP carries the most drift: it differs without deblocking...
    target = GOP * 2 - 1
    assert not np.array_equal(_pixels(fast[target]), _pixels(full[target]))
    # ...and is identical once sharpened, for a keyframe, a mid-GOP frame and the latest one.
    for index in (GOP, target, 3 * FPS - 1):
        sharp = keep.sharpen(fast[index])
        assert sharp.pts == fast[index].pts
        assert np.array_equal(_pixels(sharp), _pixels(full[index])), index


def test_frames_whose_packets_are_gone_are_returned_as_they_are(stream: Path) -> None:
    # Room for about one GOP: the first GOPs are dropped as later ones arrive.
    keep = SharpFrames(keep_bytes=len(stream.read_bytes()) // 3)
    fast = _decode(stream, deblock=False, keep=keep)
    assert keep.sharpen(fast[0]) is fast[0]
    assert keep.sharpen(fast[-1]) is not fast[-1]
    # A new session forgets the old one's packets (its timestamps start again).
    keep.reset(None)
    assert keep.sharpen(fast[-1]) is fast[-1]
    # A frame without a timestamp cannot be found.
    loose = av.VideoFrame(320, 180, "yuv420p")
    assert keep.sharpen(loose) is loose
