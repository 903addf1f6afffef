"""Test media made on the spot with PyAV: the demo scene encoded to a file (no downloads)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import numpy as np
from av.audio.stream import AudioStream
from av.video.stream import VideoStream

from vigil_engine.ingest.demo import DemoScene


def make_clip(
    path: Path,
    seconds: float,
    *,
    fps: int = 15,
    width: int = 640,
    height: int = 360,
    codec: str = "libx264",
    keyframe_seconds: float = 1.0,
    audio: bool = True,
    audio_codec: str = "aac",
) -> Path:
    """Encode ``seconds`` of the demo scene (moving box) to ``path`` (Matroska or MP4)."""
    scene = DemoScene(width, height, motion_period=10.0, motion_seconds=5.0)
    with av.open(str(path), "w") as out:
        video = cast(VideoStream, out.add_stream(codec, rate=fps))
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.gop_size = max(1, round(fps * keyframe_seconds))
        video.options = {"preset": "ultrafast", "bf": "0"} if codec == "libx264" else {"preset": "ultrafast"}
        if codec == "libx265":
            video.options = {
                "preset": "ultrafast",
                "x265-params": f"keyint={video.codec_context.gop_size}:log-level=error",
            }
        sound = (
            cast(
                AudioStream,
                out.add_stream(audio_codec, rate=8000 if audio_codec.startswith("pcm") else 16000, layout="mono"),
            )
            if audio
            else None
        )
        rate = 8000 if audio_codec.startswith("pcm") else 16000
        frames = round(seconds * fps)
        for index in range(frames):
            frame = scene.frame(index / fps)
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if sound is not None:
            fmt = "s16" if audio_codec.startswith("pcm") else "fltp"
            tone = 0.05 * np.sin(2 * np.pi * 440 * np.arange(1024) / rate)
            samples = (tone * 32767).astype(np.int16) if fmt == "s16" else tone.astype(np.float32)
            pts = 0
            while pts < seconds * rate:
                chunk = av.AudioFrame.from_ndarray(samples[None, :], format=fmt, layout="mono")
                chunk.sample_rate = rate
                chunk.pts = pts
                pts += 1024
                out.mux(sound.encode(chunk))
            out.mux(sound.encode(None))
    return path
