"""``scripts/develop``: the engine and a Home Assistant development instance, set up for each other.

Started by ``scripts/develop`` (after ``scripts/setup --dev``). It runs, each in its own
process group so that a Ctrl-C reaches them only through this supervisor, in this order:

1. the RTSP test camera (``tests/support/camera.py``), when Debian's GStreamer stack is there;
2. the engine (``python -m vigil_engine``) with the demo camera and the test camera (or the
   cameras of the config file given), its API on loopback with a token kept in the folder;
3. Home Assistant (``hass -c <folder>/ha``) with the integration linked in from this
   repository; onboarding is done over its HTTP API (user ``dev``), its country, time zone and
   units are set over its WebSocket API (``core_settings.py``), and the integration is
   configured against the engine through the config-flow REST API, as a user would.

Then it prints the URL and the login, and waits. SIGINT or SIGTERM stops Home Assistant
first (it holds a connection to the engine), then the engine (which finishes and indexes
its open segments), then the camera. A Home Assistant restart from its UI (exit code 100)
starts it again. Every child also gets SIGTERM if this process dies (``setpriv
--pdeathsig``), so nothing outlives it.

Everything lives in one folder (``.develop`` by default), reused by the next run: footage,
the engine's config (written on every run), Home Assistant's config folder, its media folder
(``media/``: the files of Vigil's export and snapshot actions), and ``develop.json`` (mode 0600:
the engine's token and the ``dev`` password) plus ``ha_token`` (a long-lived Home Assistant
access token, for tools and tests). Nothing secret is printed except the password of the local
``dev`` user, which is what the developer needs to log in.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import aiohttp
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core_settings import core_settings

from tests.support.camera import CameraError, RtspCamera, gstreamer_problem

REPO = Path(__file__).resolve().parents[2]

HA_USER = "dev"
HA_LOCATION_NAME = "Vigil development"
HA_RESTART_EXIT_CODE = 100  # homeassistant.const.RESTART_EXIT_CODE: "start me again"
ENGINE_START_TIMEOUT_S = 60
HA_START_TIMEOUT_S = 180
STOP_TIMEOUT_S = 30
# The integrations onboarding's core-config step sets up (homeassistant/components/onboarding/
# views.py): their packages are missing under --skip-pip. Folders from before that step was
# skipped (skip_onboarding_core_config) may still hold their failed entries.
ONBOARDING_DOMAINS = ("google_translate", "met", "radio_browser")
FAILED_ENTRY_STATES = frozenset({"setup_error", "setup_retry", "migration_error", "failed_unload"})
# The test camera's box moves for 3 s every 30 s of scene time (6 hours' worth), so that
# motion sensors and events have something to show.
TEST_CAMERA_MOTION = tuple((float(start), float(start + 3)) for start in range(20, 6 * 3600, 30))
TEST_CAMERA_ID = "test_camera"


class DevelopError(RuntimeError):
    """Something the developer has to fix; the message says what."""


def log(message: str) -> None:
    print(f"develop: {message}", file=sys.stderr, flush=True)


# --- settings -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Settings:
    folder: Path
    ha_port: int
    engine_port: int
    engine_config: Path | None
    engine_only: bool
    password: str | None

    @property
    def ha_url(self) -> str:
        return f"http://127.0.0.1:{self.ha_port}"

    @property
    def engine_url(self) -> str:
        return f"http://127.0.0.1:{self.engine_port}"

    @property
    def ha_dir(self) -> Path:
        return self.folder / "ha"

    @property
    def media_dir(self) -> Path:
        """Home Assistant's ``local`` media folder, pinned into ours (it takes ``/media`` where that exists)."""
        return self.folder / "media"


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a TCP port") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a TCP port")
    return port


def parse_args(argv: Sequence[str]) -> Settings:
    env = os.environ
    parser = argparse.ArgumentParser(
        prog="scripts/develop",
        description="Run the engine and a Home Assistant development instance set up for it, until Ctrl-C.",
        epilog="Each option can also be given by the environment variable named in its help.",
    )
    parser.add_argument("config", nargs="?", type=Path, help="engine config with your cameras (default: demo cameras)")
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path(env.get("VIGIL_DEVELOP_DIR") or REPO / ".develop"),
        help="work folder, reused by the next run (VIGIL_DEVELOP_DIR; default .develop)",
    )
    parser.add_argument(
        "--ha-port",
        type=_port,
        # A string default goes through type=, so a bad variable is reported like a bad option.
        default=env.get("VIGIL_DEVELOP_HA_PORT") or "8123",
        help="Home Assistant's HTTP port on 127.0.0.1 (VIGIL_DEVELOP_HA_PORT; default 8123)",
    )
    parser.add_argument(
        "--engine-port",
        type=_port,
        # A string default goes through type=, so a bad variable is reported like a bad option.
        default=env.get("VIGIL_DEVELOP_ENGINE_PORT") or "8750",
        help="the engine's API port on 127.0.0.1 (VIGIL_DEVELOP_ENGINE_PORT; default 8750)",
    )
    parser.add_argument(
        "--engine-only",
        action="store_true",
        default=bool(env.get("VIGIL_DEVELOP_ENGINE_ONLY")),
        help="run only the engine, no Home Assistant (VIGIL_DEVELOP_ENGINE_ONLY=1)",
    )
    args = parser.parse_args(argv)
    return Settings(
        folder=args.dir.resolve(),
        ha_port=args.ha_port,
        engine_port=args.engine_port,
        engine_config=args.config.resolve() if args.config else None,
        engine_only=args.engine_only,
        # Used when the dev user is created (first run); later runs print the stored one.
        password=env.get("VIGIL_DEVELOP_PASSWORD") or None,
    )


# --- the folder ---------------------------------------------------------------------------------


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (it holds a token or a password)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)
    path.chmod(0o600)


@dataclass(slots=True)
class Secrets:
    """develop.json: what a later run must find again."""

    path: Path
    engine_token: str
    ha_password: str

    @classmethod
    def load(cls, folder: Path, password: str | None) -> Secrets:
        path = folder / "develop.json"
        data: dict[str, Any] = {}
        if path.exists():
            data = json.loads(path.read_text(encoding="utf-8"))
        found = cls(
            path,
            engine_token=str(data.get("engine_token") or secrets.token_urlsafe(24)),
            ha_password=str(data.get("ha_password") or password or secrets.token_urlsafe(9)),
        )
        if password and data.get("ha_password") and password != data["ha_password"]:
            log(f"VIGIL_DEVELOP_PASSWORD is ignored: user {HA_USER} exists with the password in {path}")
        found.save()
        return found

    def save(self) -> None:
        _write_private(
            self.path,
            json.dumps({"engine_token": self.engine_token, "ha_password": self.ha_password}, indent=2) + "\n",
        )


def check_port_free(port: int, what: str, option: str) -> None:
    """Fail early and clearly when a port is taken (often: scripts/develop already running)."""
    with socket.socket() as sock:
        # As the servers bind: connections of an earlier run waiting out TIME_WAIT do not count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as err:
            raise DevelopError(
                f"port {port} for {what} is in use ({err.strerror}): is scripts/develop already running?"
                f" Stop it or pick another port with {option}"
            ) from None


def write_engine_config(settings: Settings, token: str, camera: RtspCamera | None) -> tuple[Path, str]:
    """The engine's config for this run (the demo cameras, or the given file with the API moved to
    ours); its path and the storage path in it."""
    path = settings.folder / "engine.yaml"
    if settings.engine_config is None:
        cameras: list[dict[str, Any]] = [{"id": "demo", "name": "Demo camera", "url": "demo://"}]
        if camera is not None:
            cameras.append(
                {
                    "id": TEST_CAMERA_ID,
                    "name": "Test camera",
                    "url": camera.url("h264"),
                    "motion": {"fps": 5},
                    "events": {"quiet_seconds": 3, "pre_capture": 2, "post_capture": 2},
                }
            )
        config: dict[str, Any] = {
            "storage_path": str(settings.folder / "storage"),
            "segment_seconds": 10,
            "disk_cap": "2GB",
            "min_free": "1GB",
            "cameras": cameras,
        }
    else:
        try:
            loaded = yaml.safe_load(settings.engine_config.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as err:
            raise DevelopError(f"cannot read {settings.engine_config}: {err}") from err
        if not isinstance(loaded, dict):
            raise DevelopError(f"{settings.engine_config} is not a mapping of settings")
        config = loaded
        # Relative paths are relative to the file they were written in, not to this copy.
        base = settings.engine_config.parent
        config.setdefault("storage_path", str(settings.folder / "storage"))
        for key in ("storage_path", "database_path"):
            if config.get(key):
                config[key] = str((base / str(config[key])).resolve())
    # The API where Home Assistant (and only this machine) reaches it, with our token
    # unless the file brings its own.
    config["api_host"] = "127.0.0.1"
    config["api_port"] = settings.engine_port
    config.setdefault("api_token", token)
    header = (
        "# Written by scripts/develop on every run (edits are lost): pass your own file instead,\n"
        "# scripts/develop my-cameras.yaml. The API token is the one in develop.json.\n"
    )
    _write_private(path, header + yaml.safe_dump(config, sort_keys=False))
    return path, str(config["storage_path"])


def write_ha_config(settings: Settings) -> None:
    """Home Assistant's config folder: configuration.yaml (every run) and the integration linked in.

    Not ``default_config``: offline, Home Assistant installs a dozen packages into the
    project's .venv at start (downgrading pinned ones) and fails to build pymicro-vad for
    the voice pipeline. Instead it runs with --skip-pip and the integrations a Vigil
    developer looks at (the packages of those it always loads come with requirements/dev.txt).

    The ``homeassistant:`` section pins only the media folder into ours (Home Assistant takes
    ``/media`` wherever that exists, and the export and snapshot actions write there). Name,
    country and time zone are set over the API instead: any of them here would lock the
    General settings page ("stored in configuration.yaml").
    """
    ha_dir = settings.ha_dir
    (ha_dir / "custom_components").mkdir(parents=True, exist_ok=True)
    link = ha_dir / "custom_components" / "vigil"
    target = REPO / "custom_components" / "vigil"
    if link.is_symlink() and link.resolve() != target.resolve():
        link.unlink()
    if not link.is_symlink():
        if link.exists():
            raise DevelopError(f"{link} exists and is not the link to {target}: move it away")
        link.symlink_to(target)
    settings.media_dir.mkdir(parents=True, exist_ok=True)
    config = {
        # The media folder is also allowed for file access (allowlist_external_dirs) by itself.
        "homeassistant": {"media_dirs": {"local": str(settings.media_dir)}},
        "logger": {"default": "warning", "logs": {"custom_components.vigil": "info"}},
        # What the frontend shows a Vigil developer: devices and entries (config), live
        # view (stream), recordings and snapshots (media_source), motion history.
        "config": {},
        "stream": {},
        "media_source": {},
        "history": {},
        "logbook": {},
    }
    text = (
        "# Written by scripts/develop on every run (edits are lost). Home Assistant's state\n"
        "# (users, the Vigil entry, entities) lives in .storage/ and is kept.\n"
        + yaml.safe_dump(config, sort_keys=False).replace(": {}", ":")
    )
    (ha_dir / "configuration.yaml").write_text(text, encoding="utf-8")
    write_ha_http_config(settings)
    skip_onboarding_core_config(settings)


def write_ha_http_config(settings: Settings) -> None:
    """Home Assistant's HTTP settings (address and port), straight into its storage, every run.

    Since 2026.10 Home Assistant keeps them in .storage/http, not in configuration.yaml: an
    ``http:`` section is imported once as an unconfirmed trial that Home Assistant reverts to
    its defaults (port 8123 on every address) five minutes later unless someone confirms it
    in the UI, and later runs ignore the section (so a new port would never apply). Written
    as the confirmed ("stable") config, in the store's own format, before each start.
    """
    stable = {
        "server_host": ["127.0.0.1"],
        "server_port": settings.ha_port,
        "cors_allowed_origins": ["https://cast.home-assistant.io"],
        "login_attempts_threshold": -1,
        "ip_ban_enabled": True,
        "ssl_profile": "modern",
        "use_x_frame_options": True,
        "created_at": datetime.now(UTC).isoformat(),
        "error": None,
        "error_message": None,
    }
    store = {
        "version": 2,
        "minor_version": 2,
        "key": "http",
        "data": {"stable": stable, "pending": None, "yaml_migration_done": True},
    }
    _write_private(settings.ha_dir / ".storage" / "http", json.dumps(store, indent=2) + "\n")


def skip_onboarding_core_config(settings: Settings) -> None:
    """Mark onboarding's core-config step done in its store before Home Assistant reads it.

    That step (the frontend's "Home" page posts it) does nothing but start the config flows of
    google_translate, met, radio_browser and shopping_list (``CoreConfigOnboardingView``). Their
    packages are not installed (--skip-pip), so met's and radio_browser's flows fail to load and
    google_translate's entry fails to set up: errors in the log and a failed card on the
    integrations page before the developer has done anything. What the page would set (country,
    time zone, units) is set over the WebSocket API instead (``ensure_core_config``). The other
    steps go through the HTTP API as before.
    """
    path = settings.ha_dir / ".storage" / "onboarding"
    # homeassistant.components.onboarding's STORAGE_VERSION (a later one migrates this one).
    store: dict[str, Any] = {"version": 4, "minor_version": 1, "key": "onboarding", "data": {"done": []}}
    if path.exists():
        store = json.loads(path.read_text(encoding="utf-8"))
    done: list[str] = store["data"]["done"]
    if "core_config" not in done:
        done.append("core_config")
        _write_private(path, json.dumps(store, indent=2) + "\n")


# --- child processes ----------------------------------------------------------------------------


class Child:
    """A child in its own process group, sent SIGTERM if this process dies."""

    def __init__(self, name: str, command: list[str], output: IO[bytes] | None, cwd: Path) -> None:
        self.name = name
        prefix = ["setpriv", "--pdeathsig", "TERM"] if shutil.which("setpriv") else []
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO / "addon")}
        self.proc = subprocess.Popen(
            prefix + command,
            stdout=output,
            stderr=subprocess.STDOUT if output is not None else None,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )

    @property
    def exit_code(self) -> int | None:
        return self.proc.poll()

    async def stop(self, seconds: float = STOP_TIMEOUT_S) -> int:
        """SIGTERM, wait, then SIGKILL; and whatever is left in its process group goes too."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.proc.wait, seconds)
            except subprocess.TimeoutExpired:
                log(f"{self.name} did not stop within {seconds:.0f} s: killing it")
                self.proc.kill()
        code = self.proc.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        return code


async def _wait_until(
    check: Any, child: Child, what: str, seconds: float, log_path: Path | None = None, interval: float = 0.25
) -> Any:
    """Poll the coroutine function ``check`` until it returns something true."""
    deadline = time.monotonic() + seconds
    last = ""
    while time.monotonic() < deadline:
        if child.exit_code is not None:
            where = f" (its log: {log_path})" if log_path else " (its output is above)"
            raise DevelopError(f"{child.name} exited with code {child.exit_code} while waiting for {what}{where}")
        try:
            if result := await check():
                return result
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            last = f": {err}"
        await asyncio.sleep(interval)
    raise DevelopError(f"timed out after {seconds:.0f} s waiting for {what}{last}")


# --- the engine --------------------------------------------------------------------------------


async def wait_engine(session: aiohttp.ClientSession, settings: Settings, token: str, engine: Child) -> list[str]:
    """Until the engine's API answers with our token; its camera ids."""

    async def cameras() -> list[str] | None:
        async with session.get(
            f"{settings.engine_url}/api/cameras",
            headers={"Authorization": f"Bearer {token}"},
            timeout=aiohttp.ClientTimeout(total=3),
        ) as response:
            if response.status == 401:
                raise DevelopError(f"the engine on port {settings.engine_port} refuses the token: is it another one?")
            if response.status != 200:
                return None
            return [str(camera["camera_id"]) for camera in (await response.json())["cameras"]]

    found: list[str] = await _wait_until(cameras, engine, "the engine's API", ENGINE_START_TIMEOUT_S)
    return found


# --- Home Assistant ----------------------------------------------------------------------------


class HomeAssistant:
    """Home Assistant's HTTP API, as the frontend uses it."""

    def __init__(self, session: aiohttp.ClientSession, settings: Settings) -> None:
        self.session = session
        self.url = settings.ha_url
        self.client_id = f"{self.url}/"
        self.redirect_uri = f"{self.url}/?auth_callback=1"
        self.token = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def request(self, method: str, path: str, *, auth: bool = True, **kwargs: Any) -> Any:
        async with self.session.request(
            method, self.url + path, headers=self.headers if auth else None, **kwargs
        ) as response:
            body = await response.text()
            if response.status >= 400:
                raise DevelopError(f"Home Assistant answered {method} {path} with {response.status}: {body[:300]}")
            return json.loads(body) if body else None

    async def answers(self) -> bool:
        # The frontend's manifest needs no token (the API's root would log a failed login).
        async with self.session.get(f"{self.url}/manifest.json", timeout=aiohttp.ClientTimeout(total=3)) as response:
            return response.status == 200

    async def onboarding_steps(self) -> dict[str, bool]:
        """Onboarding's steps and whether each is done ({} once all are: the view is gone)."""
        async with self.session.get(f"{self.url}/api/onboarding") as response:
            if response.status == 404:
                return {}
            response.raise_for_status()
            return {step["step"]: bool(step["done"]) for step in await response.json()}

    async def _token_from_code(self, code: str) -> None:
        data = {"grant_type": "authorization_code", "code": code, "client_id": self.client_id}
        self.token = str((await self.request("POST", "/auth/token", auth=False, data=data))["access_token"])

    async def create_owner(self, password: str) -> None:
        result = await self.request(
            "POST",
            "/api/onboarding/users",
            auth=False,
            json={
                "client_id": self.client_id,
                "name": "Developer",
                "username": HA_USER,
                "password": password,
                "language": "en",
            },
        )
        await self._token_from_code(result["auth_code"])

    async def log_in(self, password: str) -> None:
        """The frontend's login flow (Home Assistant's own user store)."""
        flow = await self.request(
            "POST",
            "/auth/login_flow",
            auth=False,
            json={"client_id": self.client_id, "handler": ["homeassistant", None], "redirect_uri": self.redirect_uri},
        )
        result = await self.request(
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            auth=False,
            json={"client_id": self.client_id, "username": HA_USER, "password": password},
        )
        if result.get("type") != "create_entry":
            raise DevelopError(
                f"Home Assistant refused the login of {HA_USER} with the password in develop.json"
                f" ({result.get('errors')}): delete the ha/ folder beside it to start over"
            )
        await self._token_from_code(result["result"])

    async def finish_onboarding(self, steps: dict[str, bool]) -> None:
        # Not the core-config step: skip_onboarding_core_config marked it done beforehand.
        if not steps.get("analytics", True):
            await self.request("POST", "/api/onboarding/analytics")
        if not steps.get("integration", True):
            await self.request(
                "POST",
                "/api/onboarding/integration",
                json={"client_id": self.client_id, "redirect_uri": self.redirect_uri},
            )

    async def token_works(self, token: str) -> bool:
        async with self.session.get(f"{self.url}/api/", headers={"Authorization": f"Bearer {token}"}) as response:
            return response.status == 200

    async def websocket(self, command: dict[str, Any]) -> Any:
        """One command of the WebSocket API (its own connection); its result."""
        async with self.session.ws_connect(f"{self.url}/api/websocket") as ws:
            await ws.receive_json()  # auth_required
            await ws.send_json({"type": "auth", "access_token": self.token})
            if (await ws.receive_json()).get("type") != "auth_ok":
                raise DevelopError("Home Assistant refused its own access token")
            await ws.send_json({"id": 1, **command})
            reply: dict[str, Any] = await ws.receive_json()
            if not reply.get("success"):
                raise DevelopError(f"Home Assistant refused {command['type']}: {reply.get('error')}")
            return reply["result"]

    async def long_lived_token(self) -> str:
        """A long-lived access token for tools (the WebSocket API is the only way to make one)."""
        token = await self.websocket(
            {
                "type": "auth/long_lived_access_token",
                # Unique per user: a name per creation, so a lost token never blocks the next.
                "client_name": f"scripts/develop {time.strftime('%Y-%m-%d %H:%M:%S')}",
                "lifespan": 3650,
            }
        )
        return str(token)

    async def config(self) -> dict[str, Any]:
        config: dict[str, Any] = await self.request("GET", "/api/config")
        return config

    async def running(self) -> bool:
        return (await self.config()).get("state") == "RUNNING"

    async def entries(self, domain: str | None = None) -> list[dict[str, Any]]:
        query = f"?domain={domain}" if domain else ""
        entries: list[dict[str, Any]] = await self.request("GET", f"/api/config/config_entries/entry{query}")
        return entries

    async def vigil_entries(self) -> list[dict[str, Any]]:
        return await self.entries("vigil")

    async def add_vigil(self, engine_url: str, engine_token: str) -> dict[str, Any]:
        """The integration's config flow, as a user fills it in."""
        flow = await self.request("POST", "/api/config/config_entries/flow", json={"handler": "vigil"})
        if flow.get("type") != "form":
            raise DevelopError(f"the Vigil config flow did not ask for the engine: {flow}")
        result: dict[str, Any] = await self.request(
            "POST",
            f"/api/config/config_entries/flow/{flow['flow_id']}",
            json={"url": engine_url, "token": engine_token},
        )
        if result.get("type") != "create_entry":
            raise DevelopError(f"the Vigil config flow did not create an entry: {result.get('errors') or result}")
        return result


async def set_up_home_assistant(
    ha: HomeAssistant, settings: Settings, keys: Secrets, hass: Child, log_path: Path
) -> None:
    """Onboarding (once), a token for tools, and the Vigil entry (once), all idempotent."""
    await _wait_until(ha.answers, hass, "Home Assistant's HTTP API", HA_START_TIMEOUT_S, log_path)
    steps = await ha.onboarding_steps()
    if steps and not steps.get("user"):
        await ha.create_owner(keys.ha_password)
        log(f"created the Home Assistant user {HA_USER}")
    else:
        await ha.log_in(keys.ha_password)
    await ha.finish_onboarding(steps)

    token_path = settings.folder / "ha_token"
    if not (token_path.exists() and await ha.token_works(token_path.read_text(encoding="utf-8").strip())):
        _write_private(token_path, await ha.long_lived_token() + "\n")

    await _wait_until(ha.running, hass, "Home Assistant to finish starting", HA_START_TIMEOUT_S, log_path)
    await ensure_core_config(ha)
    await remove_failed_onboarding_entries(ha)
    await ensure_vigil_entry(ha, settings, keys, hass, log_path)


async def ensure_core_config(ha: HomeAssistant) -> None:
    """Country, time zone, units and language, once (a developer's later changes in the UI stay)."""
    if (await ha.config()).get("country"):
        return
    wanted = core_settings(HA_LOCATION_NAME)
    # Also clears the "country not configured" repair Home Assistant raised at start.
    await ha.websocket({"type": "config/core/update", **wanted})
    log(
        f"set Home Assistant's time zone {wanted['time_zone']}, country {wanted['country']}"
        f" and {wanted['unit_system']} units (Settings → System → General changes them)"
    )


async def remove_failed_onboarding_entries(ha: HomeAssistant) -> None:
    """Entries an earlier onboarding left that cannot load here (see ONBOARDING_DOMAINS)."""
    for entry in await ha.entries():
        if entry["domain"] in ONBOARDING_DOMAINS and entry["state"] in FAILED_ENTRY_STATES:
            await ha.request("DELETE", f"/api/config/config_entries/entry/{entry['entry_id']}")
            log(f"removed the {entry['title']!r} entry ({entry['state']}): onboarding made it, it cannot load here")


async def ensure_vigil_entry(ha: HomeAssistant, settings: Settings, keys: Secrets, hass: Child, log_path: Path) -> None:
    """Exactly one Vigil entry, loaded, for this engine."""

    async def settled() -> list[dict[str, Any]] | None:
        entries = await ha.vigil_entries()
        # Setting up takes a moment after start. Anything else is final here: the engine is
        # up by now, so an entry that is retrying (or failed) points somewhere else.
        if any(entry["state"] in {"not_loaded", "setup_in_progress"} for entry in entries):
            return None
        return entries or [{}]

    entries = [entry for entry in await _wait_until(settled, hass, "the Vigil entry", 30, log_path) if entry]
    if len(entries) == 1 and entries[0]["state"] == "loaded":
        return
    for entry in entries:
        # An entry for another port or token (an earlier run with other settings) that does
        # not load: replace it rather than leave a second engine's worth of errors around.
        log(f"removing the Vigil entry {entry['title']!r} ({entry['state']}): it does not reach this engine")
        await ha.request("DELETE", f"/api/config/config_entries/entry/{entry['entry_id']}")
    result = await ha.add_vigil(settings.engine_url, keys.engine_token)
    log(f"added the Vigil integration for the engine at {settings.engine_url} ({result['title']})")

    async def loaded() -> bool:
        return any(entry["state"] == "loaded" for entry in await ha.vigil_entries())

    await _wait_until(loaded, hass, "the Vigil entry to load", 30, log_path)


# --- the run -------------------------------------------------------------------------------------


def start_test_camera() -> RtspCamera | None:
    problem = gstreamer_problem()
    if problem is not None:
        log(f"no RTSP test camera (only the demo camera): {problem}")
        return None
    try:
        camera = RtspCamera(width=640, height=360, fps=15, keyint=2.0, motion=TEST_CAMERA_MOTION).start()
    except CameraError as err:
        log(f"no RTSP test camera (only the demo camera): {err}")
        return None
    log(f"RTSP test camera on {camera.url('h264')}")
    return camera


def start_home_assistant(settings: Settings, output: IO[bytes]) -> Child:
    # --skip-pip: never install into the project's .venv (see write_ha_config).
    command = [sys.executable, "-m", "homeassistant", "-c", str(settings.ha_dir), "--skip-pip", "--log-no-color"]
    return Child("Home Assistant", command, output, settings.folder)


async def run(settings: Settings, stop: asyncio.Event) -> int:
    settings.folder.mkdir(parents=True, exist_ok=True)
    keys = Secrets.load(settings.folder, settings.password)
    camera = start_test_camera() if settings.engine_config is None else None
    engine: Child | None = None
    hass: Child | None = None
    ha_log_path = settings.folder / "ha.log"
    ha_log: IO[bytes] | None = None
    storage = ""
    code = 0

    async def start() -> None:
        nonlocal engine, hass, ha_log, storage
        check_port_free(settings.engine_port, "the engine's API", "--engine-port")
        if not settings.engine_only:
            check_port_free(settings.ha_port, "Home Assistant", "--ha-port")
        config_path, storage = write_engine_config(settings, keys.engine_token, camera)
        engine = Child(
            "the engine", [sys.executable, "-m", "vigil_engine", "--config", str(config_path)], None, settings.folder
        )
        async with aiohttp.ClientSession() as session:
            cameras = await wait_engine(session, settings, keys.engine_token, engine)
            names = ", ".join(cameras) or "(none)"
            log(f"engine up at {settings.engine_url} with cameras {names}; config {config_path}")
            if not settings.engine_only:
                write_ha_config(settings)
                started = time.monotonic()
                ha_log = ha_log_path.open("ab")
                hass = start_home_assistant(settings, ha_log)
                await set_up_home_assistant(HomeAssistant(session, settings), settings, keys, hass, ha_log_path)
                log(f"Home Assistant ready in {time.monotonic() - started:.1f} s (log: {ha_log_path})")

    try:
        # A Ctrl-C while things start stops the start-up too.
        starting = asyncio.create_task(start())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
            log("stopping (while starting)")
            return 0
        stopping.cancel()
        starting.result()
        assert engine is not None
        if hass is not None:
            log(f"open {settings.ha_url} — login {HA_USER} / {keys.ha_password}")
        log(f"footage under {storage}; Ctrl-C stops everything")
        while not stop.is_set():
            if engine.exit_code is not None:
                raise DevelopError(f"the engine exited with code {engine.exit_code} (its output is above)")
            if hass is not None and hass.exit_code is not None:
                if hass.exit_code != HA_RESTART_EXIT_CODE:
                    raise DevelopError(f"Home Assistant exited with code {hass.exit_code} (its log: {ha_log_path})")
                log("Home Assistant asked for a restart: starting it again")
                assert ha_log is not None
                hass = start_home_assistant(settings, ha_log)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
        log("stopping")
    except DevelopError as err:
        log(f"error: {err}")
        code = 1
    finally:
        # Home Assistant first (it holds a connection to the engine), then the engine.
        if hass is not None:
            ha_code = await hass.stop()
            log(f"Home Assistant stopped ({ha_code})")
        if engine is not None:
            engine_code = await engine.stop()
            log(f"engine stopped ({engine_code})")
        if camera is not None:
            camera.close()
        if ha_log is not None:
            ha_log.close()
    return code


def main(argv: Sequence[str]) -> int:
    settings = parse_args(argv)

    async def supervise() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await run(settings, stop)

    try:
        return asyncio.run(supervise())
    except DevelopError as err:
        log(f"error: {err}")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
