"""Reading a still (JPEG, PNG, ... or the first frame of a video file) for the ``detect`` command.

FFmpeg (PyAV) decodes it, as it decodes the cameras: no image library of its own. The decoded
frame goes to the detector as it is (YUV for a JPEG), which converts it while scaling it.
"""

from __future__ import annotations

from pathlib import Path

import av


class ImageError(Exception):
    """The file cannot be read as a picture; the message is one line naming it."""


def read_picture(path: Path) -> av.VideoFrame:
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise ImageError(f"{path}: no picture in it")
            for frame in container.decode(video=0):
                return frame
    except FileNotFoundError:
        raise ImageError(f"{path}: not found") from None
    except av.FFmpegError as err:
        reason = (err.strerror or str(err)).lower()
        raise ImageError(f"{path}: not a picture FFmpeg can read ({reason})") from None
    except OSError as err:
        raise ImageError(f"{path}: cannot be read: {(err.strerror or str(err)).lower()}") from None
    raise ImageError(f"{path}: no picture in it")
