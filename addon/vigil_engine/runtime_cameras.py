"""Cameras added at run time through the API, kept in ``cameras.json`` beside the index database.

The file holds each camera as it was given (the config file's camera schema), passwords
included, so it is written atomically (a crash leaves the old or the new file, never half
of one) and readable by the engine's user only (mode 0600). A camera of the file that no
longer validates is skipped with an error in the log: one bad entry must not keep the
engine, and every other camera, from starting.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from .config import CameraConfig, ConfigError, parse_camera

_LOGGER = logging.getLogger(__name__)

FILE_NAME = "cameras.json"
FORMAT_VERSION = 1


def label(camera_id: str) -> str:
    """How errors name a run-time camera (the file's name, like the config's ``cameras[id]``)."""
    return f"{FILE_NAME}[{camera_id}]"


class RuntimeCameras:
    """The run-time cameras, in the order they were added (raw entries, by camera id)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.raw: dict[str, dict[str, Any]] = {}
        # Removed cameras -> their retention days: their footage still ages out (see retention).
        self.removed: dict[str, float] = {}

    def __contains__(self, camera_id: object) -> bool:
        return camera_id in self.raw

    def load(self) -> list[CameraConfig]:
        """Read the file (a missing file: no cameras); the cameras that validate."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except OSError as err:
            _LOGGER.error("Cannot read %s: %s; cameras added at run time are not started", self.path, err.strerror)
            return []
        try:
            data = json.loads(text)
            entries = data["cameras"]
            if not isinstance(entries, list):
                raise TypeError
        except ValueError, KeyError, TypeError:
            _LOGGER.error("%s is not a camera list written by Vigil: no camera added at run time starts", self.path)
            return []
        removed = data.get("removed")
        if isinstance(removed, dict):
            self.removed = {
                str(key): float(days) for key, days in removed.items() if isinstance(days, int | float) and days > 0
            }
        cameras: list[CameraConfig] = []
        for entry in entries:
            camera_id = str(entry.get("id")) if isinstance(entry, dict) else "?"
            try:
                camera = parse_camera(entry, label(camera_id))
            except ConfigError as err:
                _LOGGER.error("Skipping a camera added at run time: %s", err)
                continue
            self.raw[camera.id] = entry
            cameras.append(camera)
        return cameras

    def add(self, camera_id: str, entry: dict[str, Any]) -> None:
        self.raw[camera_id] = entry
        self.removed.pop(camera_id, None)
        self._save()

    def remove(self, camera_id: str, retention_days: float | None = None) -> None:
        """Forget the camera; with ``retention_days``, remember how long its footage is kept."""
        self.raw.pop(camera_id, None)
        if retention_days is not None:
            self.removed[camera_id] = retention_days
        self._save()

    def _save(self) -> None:
        data = json.dumps(
            {"version": FORMAT_VERSION, "cameras": list(self.raw.values()), "removed": self.removed}, indent=2
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_name(f".{self.path.name}.tmp")
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()  # a leftover of a crash: O_EXCL below must create the file afresh, 0600
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise
        # The rename itself reaches the disk only with the folder.
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
