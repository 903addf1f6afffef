"""An engine process of a test module's own, with its API: HTTP requests, WebSocket commands, signed paths.

The package's shared engine (``conftest.live``) records one RTSP camera; modules that need other
cameras (the demo scene, a disabled camera, a given resolution) start their own with
:func:`start_engine` and reach it through an :class:`ApiRig`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.api.client import WsClient
from tests.api.conftest import Response, free_port, request
from tests.engine.conftest import enable_loopback_sockets
from tests.support.engine_process import EngineProcess

TOKEN = "rig-token-3c7a1f9e5b2d4a6c8e0f"
PLAYLIST_LINE = re.compile(r"^#EXT-X-([A-Z-]+)(?::(.*))?$")


@dataclass
class ApiRig:
    engine: EngineProcess
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, headers: dict[str, str] | None = None, auth: bool = True) -> Response:
        all_headers = {"Authorization": f"Bearer {TOKEN}"} if auth else {}
        all_headers.update(headers or {})
        return request(self.port, path, all_headers)

    def client(self) -> WsClient:
        client = WsClient(self.base_url, TOKEN)
        client.connect()
        return client

    def command(self, command: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        client = self.client()
        try:
            return client.result(command, args)
        finally:
            client.close()

    def signed(self, path: str, seconds: int = 600) -> str:
        """``path`` signed by the engine (``sign_path``), as a player without the token would get it."""
        signed: str = self.command("sign_path", {"path": path, "expires_in": seconds})["path"]
        return signed


def start_engine(workdir: Path, cameras: list[dict[str, Any]], **config: Any) -> ApiRig:
    enable_loopback_sockets()  # module fixtures are set up before the autouse fixture allows sockets
    port = free_port()
    engine = EngineProcess(
        workdir,
        {"api_port": port, "api_token": TOKEN, "min_free": "1MB", "read_timeout": 3, "cameras": cameras, **config},
    )
    engine.start()
    rig = ApiRig(engine, port)

    def answers() -> bool:
        try:
            return rig.get("/api/info").status == 200
        except OSError:
            return False

    engine.wait_for(answers, 30, "the API to answer")
    return rig


@dataclass
class PlaylistEntry:
    uri: str
    duration_s: float
    date_ms: int
    discontinuity: bool
    map_uri: str | None


@dataclass
class Playlist:
    tags: dict[str, str]
    entries: list[PlaylistEntry]

    @property
    def media_sequence(self) -> int:
        return int(self.tags["MEDIA-SEQUENCE"])

    @property
    def target(self) -> int:
        return int(self.tags["TARGETDURATION"])

    def sequences(self) -> list[int]:
        return [self.media_sequence + index for index in range(len(self.entries))]


def parse_playlist(text: str) -> Playlist:
    """An HLS media playlist, as far as the engine writes them (the tests check each tag is where it must be)."""
    from datetime import datetime

    lines = text.splitlines()
    assert lines[0] == "#EXTM3U", text[:200]
    tags: dict[str, str] = {}
    entries: list[PlaylistEntry] = []
    pending: dict[str, Any] = {}
    current_map: str | None = None
    for line in lines[1:]:
        match = PLAYLIST_LINE.match(line)
        if line.startswith("#EXTINF:"):
            pending["duration_s"] = float(line.removeprefix("#EXTINF:").rstrip(","))
        elif match is not None:
            name, value = match.group(1), match.group(2) or ""
            if name == "PROGRAM-DATE-TIME":
                pending["date_ms"] = round(datetime.fromisoformat(value).timestamp() * 1000)
            elif name == "DISCONTINUITY":
                pending["discontinuity"] = True
            elif name == "MAP":
                current_map = value.removeprefix('URI="').removesuffix('"')
                pending["map_uri"] = current_map
            else:
                tags[name] = value
        elif line and not line.startswith("#"):
            assert "duration_s" in pending, (line, pending)
            assert "date_ms" in pending, (line, pending)
            entries.append(
                PlaylistEntry(
                    uri=line,
                    duration_s=pending["duration_s"],
                    date_ms=pending["date_ms"],
                    discontinuity=pending.get("discontinuity", False),
                    map_uri=pending.get("map_uri", current_map),
                )
            )
            pending = {}
    return Playlist(tags, entries)
