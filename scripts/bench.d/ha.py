"""Home Assistant benchmark: end-to-end latency, test camera to motion and "Person detected" in Home Assistant.

Three processes, as in a real installation (the engine is the add-on, Home Assistant core is
another container):

* the RTSP test camera (GStreamer, ``tests/support/camera.py``) at 640x360 15 fps, keyframe every
  1 s, whose box moves for ``--on`` seconds every ``--period`` seconds of scene time;
* the engine, in this process on its own event-loop thread, with its API server: it records the
  camera and detects motion on the main stream at 5 fps (the default confirmation time, 0.4 s);
* Home Assistant core (``hass -c <dir>``) with only the integrations it needs and the Vigil
  integration from this repository, set up through its config flow over HTTP like a user would.

For each motion window the latency is measured from the first moving frame, i.e. the engine
bus message's ``first_seen_mono`` (``time.monotonic()`` when the box's first moving frame entered
the detector), to the moment Home Assistant set ``binary_sensor.<camera>_motion`` to ``on``: the
``time_fired`` of that ``state_changed`` event, a wall-clock time converted to this machine's
monotonic clock (CLOCK_MONOTONIC and the wall clock are system-wide; their offset is read here).
The breakdown shows how much of it is the engine's confirmation (first moving frame to the frame
that confirmed motion, ``detected_mono``) and how much is delivery (engine to WebSocket to Home
Assistant's state machine).

What ``first_seen_mono`` leaves out: the detector analyses 5 of the camera's 15 frames per second,
so the first *analysed* moving frame comes up to two frames (133 ms) after the box's very first
moving frame; and the frame spent a few milliseconds in RTSP transport and decoding before it.
Add up to ~140 ms to the figures for the strict camera-to-sensor time.

Between windows the test camera's box parks where the window left it; the detector stops
reporting a parked object within about half a second (it only counts changes near recent
changes), so motion ends by itself during the quiet time and each window is a fresh motion
start, as with a real person walking by. Goal (from the issue): p95 <= 1.0 s.

The person path (``--walks``, 20 by default) runs a second test camera, the person scene: a
person cut from a real photograph walks in from the left edge at ``WALK[0]`` seconds of scene
time. Its camera ``porch`` detects objects with the real model (YOLOX-Nano, ONNX Runtime on the
CPU) where there is motion. Each walk restarts the camera's RTSP server, so the engine
reconnects and the scene starts over (first switching its object detection off and on: the
person who stood still after the last walk is still tracked, since the detector looks only
where something moves, and the switch ends her track): scene time 0 is the first frame of the new connection,
i.e. the start of the engine's first segment of it (the ``segment`` bus message's ``start_ms``,
the engine's wall clock), so the person enters at ``start_ms + WALK[0]``. The latency is from
then to the ``time_fired`` of the ``state_changed`` that set
``binary_sensor.porch_person_detected`` to ``on`` (the same machine's wall clock). It includes
what the person needs to be recognisable (a sliver of her at the frame's edge is not a person
yet): the time to walk in far enough, the detector's confirmation (two detections, or one sure
one), and the delivery. Goal (issue #16): p95 <= 1.5 s over 20 walks.

Work files (Home Assistant's config and log, the engine's storage and log) stay in
``.bench/ha/`` after the run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "addon"))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support.camera import RtspCamera
from vigil_engine.api.server import ApiServer
from vigil_engine.bus import BusMessage
from vigil_engine.config import parse_config
from vigil_engine.engine import Engine
from vigil_engine.logs import setup_logging

REPO = Path(__file__).resolve().parents[2]
WORK = REPO / ".bench" / "ha"
TOKEN = "bench-ha-token-0123456789abcdef"
CAMERA_ID = "bench"
GOAL_P95_S = 1.0
PERSON_CAMERA_ID = "porch"
PERSON_GOAL_P95_S = 1.5
WALK = (3.0, 7.0)  # scene seconds: the person walks in, then stands still
WALK_TIMEOUT_S = 40.0
# The detection model: the shared test data beside the checkout, or what scripts/setup downloaded.
MODELS = (REPO.parent / "shared" / "models" / "yolox_nano.onnx", REPO / ".models" / "yolox_nano.onnx")
FIRST_WINDOW_S = 10.0
HA_USER = "bench"
HA_PASSWORD = "bench-password-123"  # a throwaway local Home Assistant user


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Sample:
    first_seen_mono: float
    detected_mono: float
    ha_mono: float

    @property
    def total_s(self) -> float:
        return self.ha_mono - self.first_seen_mono

    @property
    def confirm_s(self) -> float:
        return self.detected_mono - self.first_seen_mono

    @property
    def delivery_s(self) -> float:
        return self.ha_mono - self.detected_mono


@dataclass
class EngineRun:
    """The engine on its own event loop thread, with the API, and the motion starts it published."""

    engine: Engine
    server: ApiServer
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    starts: list[tuple[float, float]] = field(default_factory=list)  # (first_seen_mono, detected_mono)
    person_segments: list[int] = field(default_factory=list)  # start_ms of the person camera's segments
    person_found: list[int] = field(default_factory=list)  # at_ms (frame time) of the person camera's objects
    person_log: list[tuple[str, int, str, bool]] = field(default_factory=list)  # object_* (kind, at_ms, id, stationary)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def call(self, coro: Any, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def on_message(self, message: BusMessage) -> None:
        data = message.data
        if message.kind == "motion" and data.get("active") and data.get("zone") is None:
            if data.get("camera_id") == CAMERA_ID:
                with self.lock:
                    self.starts.append((float(data["first_seen_mono"]), float(data["detected_mono"])))
        elif message.kind == "segment" and data.get("camera_id") == PERSON_CAMERA_ID:
            with self.lock:
                self.person_segments.append(int(data["start_ms"]))
        elif message.kind.startswith("object_") and data.get("camera_id") == PERSON_CAMERA_ID:
            with self.lock:
                tracked = data["object"]
                self.person_log.append((message.kind, int(data["at_ms"]), tracked["id"], tracked["stationary"]))
                if message.kind == "object_appeared":
                    self.person_found.append(int(data["at_ms"]))

    def found_ms(self, after_ms: int) -> int | None:
        """The frame time of the first object the person camera found after ``after_ms``."""
        with self.lock:
            found = sorted(at for at in self.person_found if at >= after_ms)
        return found[0] if found else None

    def scene_start_ms(self, after_ms: int) -> int | None:
        """Scene time 0 of the person camera's connection made after ``after_ms``: its first segment's start."""
        with self.lock:
            starts = sorted(start for start in self.person_segments if start >= after_ms)
        return starts[0] if starts else None

    def start_before(self, mono: float) -> tuple[float, float] | None:
        """The newest motion start published before ``mono``."""
        with self.lock:
            earlier = [start for start in self.starts if start[1] <= mono]
        return earlier[-1] if earlier else None


def start_engine(camera: RtspCamera, person: RtspCamera | None, storage: Path) -> EngineRun:
    cameras: list[dict[str, Any]] = [
        {
            "id": CAMERA_ID,
            "name": "Bench",
            "url": camera.url("h264"),
            "motion": {"fps": 5},
            "events": {"quiet_seconds": 1, "pre_capture": 1, "post_capture": 1},
            "object_detection": False,  # the motion path measures motion alone
        }
    ]
    detector: dict[str, Any] = {}
    if person is not None:
        cameras.append(
            {
                "id": PERSON_CAMERA_ID,
                "name": "Porch",
                "url": person.url("h264-noaudio"),
                "motion": {"fps": 5},
                "events": {"quiet_seconds": 1, "pre_capture": 1, "post_capture": 1},
            }
        )
        model = next((path for path in MODELS if path.is_file()), None)
        if model is None:
            raise SystemExit(f"ha: no detection model at {' or '.join(str(path) for path in MODELS)}")
        detector = {"model": str(model)}
    config = parse_config(
        {
            "storage_path": str(storage),
            "segment_seconds": 4,
            "api_host": "127.0.0.1",
            "api_port": 0,
            "api_token": TOKEN,
            "log_level": "warning",
            "detector": detector,
            "cameras": cameras,
        }
    )
    setup_logging("warning")
    engine = Engine(config)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="engine-loop", daemon=True)
    thread.start()
    run = EngineRun(engine, ApiServer(engine), loop, thread)
    engine.bus.add_listener(run.on_message)

    async def start() -> None:
        await engine.start()
        await run.server.start()

    run.call(start())
    return run


def stop_engine(run: EngineRun) -> None:
    async def stop() -> None:
        await run.server.stop()
        await run.engine.stop()

    try:
        run.call(stop())
    finally:
        run.loop.call_soon_threadsafe(run.loop.stop)
        run.thread.join(10)


def write_ha_config(config_dir: Path, port: int) -> None:
    shutil.rmtree(config_dir, ignore_errors=True)
    (config_dir / "custom_components").mkdir(parents=True)
    (config_dir / "custom_components" / "vigil").symlink_to(REPO / "custom_components" / "vigil")
    (config_dir / "configuration.yaml").write_text(
        "\n".join(
            [
                "homeassistant:",
                "  name: Vigil bench",
                "  time_zone: UTC",
                "  unit_system: metric",
                "http:",
                "  server_host: 127.0.0.1",
                f"  server_port: {port}",
                "api:",
                "auth:",
                "config:",
                "onboarding:",
                "websocket_api:",
                "logger:",
                "  default: warning",
                "",
            ]
        )
    )


async def wait_http(session: aiohttp.ClientSession, url: str, process: subprocess.Popen[bytes], limit: float) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Home Assistant exited with {process.returncode}")
        try:
            async with session.get(f"{url}/api/onboarding", timeout=aiohttp.ClientTimeout(total=3)) as response:
                if response.status < 500:
                    return
        except aiohttp.ClientError, TimeoutError:
            pass
        await asyncio.sleep(0.5)
    raise RuntimeError(f"Home Assistant did not answer within {limit:.0f} s")


async def onboard(session: aiohttp.ClientSession, url: str) -> str:
    """Create the owner through onboarding; return an access token."""
    client_id = f"{url}/"
    async with session.post(
        f"{url}/api/onboarding/users",
        json={"client_id": client_id, "name": "Bench", "username": HA_USER, "password": HA_PASSWORD, "language": "en"},
    ) as response:
        response.raise_for_status()
        code = (await response.json())["auth_code"]
    async with session.post(
        f"{url}/auth/token", data={"grant_type": "authorization_code", "code": code, "client_id": client_id}
    ) as response:
        response.raise_for_status()
        return str((await response.json())["access_token"])


async def add_vigil(session: aiohttp.ClientSession, url: str, token: str, engine_url: str) -> dict[str, Any]:
    """Add the engine through the integration's config flow, as a user would in the UI."""
    headers = {"Authorization": f"Bearer {token}"}
    async with session.post(f"{url}/api/config/config_entries/flow", json={"handler": "vigil"}, headers=headers) as r:
        r.raise_for_status()
        flow = await r.json()
    async with session.post(
        f"{url}/api/config/config_entries/flow/{flow['flow_id']}",
        json={"url": engine_url, "token": TOKEN},
        headers=headers,
    ) as r:
        r.raise_for_status()
        result: dict[str, Any] = await r.json()
    if result.get("type") != "create_entry":
        raise RuntimeError(f"config flow did not create the entry: {result}")
    return result


async def measure(run: EngineRun, url: str, token: str, events: int, period: float) -> list[Sample]:
    entity_id = f"binary_sensor.{CAMERA_ID}_motion"
    samples: list[Sample] = []
    wall_minus_mono = time.time() - time.monotonic()
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{url}/api/websocket") as ws:
        await ws.receive_json()  # auth_required
        await ws.send_json({"type": "auth", "access_token": token})
        if (await ws.receive_json()).get("type") != "auth_ok":
            raise RuntimeError("Home Assistant refused the access token")
        await ws.send_json({"id": 1, "type": "subscribe_events", "event_type": "state_changed"})
        deadline = time.monotonic() + FIRST_WINDOW_S + (events + 3) * period + 60
        while len(samples) < events and time.monotonic() < deadline:
            message = await ws.receive_json(timeout=max(1.0, deadline - time.monotonic()))
            if message.get("type") != "event":
                continue
            event = message["event"]
            data = event["data"]
            if data.get("entity_id") != entity_id or not data.get("new_state"):
                continue
            old = (data.get("old_state") or {}).get("state")
            if data["new_state"]["state"] != "on" or old == "on":
                continue
            fired = datetime.fromisoformat(event["time_fired"]).timestamp()
            ha_mono = fired - wall_minus_mono
            start = run.start_before(ha_mono + 0.05)  # the bus listener runs before the API sends it
            if start is None:
                continue
            samples.append(Sample(start[0], start[1], ha_mono))
            print(f"ha: motion {len(samples)}/{events}: {samples[-1].total_s * 1000:.0f} ms", file=sys.stderr)
    return samples


async def ha_websocket(session: aiohttp.ClientSession, url: str, token: str) -> aiohttp.ClientWebSocketResponse:
    """Home Assistant's WebSocket API, authenticated and subscribed to state changes."""
    ws = await session.ws_connect(f"{url}/api/websocket")
    await ws.receive_json()  # auth_required
    await ws.send_json({"type": "auth", "access_token": token})
    if (await ws.receive_json()).get("type") != "auth_ok":
        raise RuntimeError("Home Assistant refused the access token")
    await ws.send_json({"id": 1, "type": "subscribe_events", "event_type": "state_changed"})
    return ws


@dataclass
class Walk:
    """One walk: when she entered the frame, the frame she was found in, and the sensor's "on" (wall clock, s)."""

    entered: float
    found: float
    ha: float

    @property
    def total_s(self) -> float:
        return self.ha - self.entered

    @property
    def recognisable_s(self) -> float:
        """Walking in until the frame the detector found (and confirmed) her in."""
        return self.found - self.entered

    @property
    def delivery_s(self) -> float:
        """That frame to Home Assistant's state: detection, tracking, the engine's bus, WebSocket, hub."""
        return self.ha - self.found


async def measure_walks(run: EngineRun, person: RtspCamera, url: str, token: str, walks: int) -> list[Walk]:
    """From the person's entering the frame to "Person detected" on in Home Assistant, per walk.

    An "on" counts once the walk's scene time is known (the new connection's first segment) and
    it came after she entered: one left over from the previous connection is not this walk's.
    """
    entity_id = f"binary_sensor.{PERSON_CAMERA_ID}_person_detected"
    samples: list[Walk] = []
    async with aiohttp.ClientSession() as session:
        ws = await ha_websocket(session, url, token)
        for walk in range(walks):
            restarted_ms = int(time.time() * 1000)
            await asyncio.to_thread(person.restart)  # the scene starts over with the engine's new connection
            # She stood still after the last walk: with nothing moving the detector does not look,
            # so she is still tracked (and detected), and the new walk would find her old track.
            # Switching detection off and on ends it; now, while the new scene's first seconds
            # (before she enters) are all there is to see, so that she cannot be found again.
            for enabled in (False, True):
                await asyncio.to_thread(run.call, run.engine.set_objects_enabled(PERSON_CAMERA_ID, enabled))
            deadline = time.monotonic() + WALK_TIMEOUT_S
            ons: list[float] = []  # time_fired of the sensor's turns on
            seen: list[tuple[str, float]] = []  # for the report of a failed walk
            sample: Walk | None = None
            while sample is None and time.monotonic() < deadline:
                with contextlib.suppress(TimeoutError):
                    message = await ws.receive_json(timeout=0.5)
                    data = message["event"]["data"] if message.get("type") == "event" else {}
                    if data.get("entity_id") == entity_id and data.get("new_state"):
                        fired = datetime.fromisoformat(message["event"]["time_fired"]).timestamp()
                        seen.append((data["new_state"]["state"], round(fired - restarted_ms / 1000, 3)))
                        if data["new_state"]["state"] == "on" and (data.get("old_state") or {}).get("state") != "on":
                            ons.append(fired)
                scene_ms = run.scene_start_ms(restarted_ms)
                if scene_ms is None:
                    continue
                entered = scene_ms / 1000 + WALK[0]
                fired_at = next((on for on in ons if on >= entered), None)
                found_ms = run.found_ms(scene_ms)
                if fired_at is not None and found_ms is not None:
                    sample = Walk(entered, found_ms / 1000, fired_at)
            if sample is None:
                with run.lock:
                    found = [(kind, at - restarted_ms, stationary) for kind, at, _id, stationary in run.person_log]
                print(
                    f"ha: walk {walk + 1}/{walks}: no person in Home Assistant (sensor {seen}; scene start"
                    f" {run.scene_start_ms(restarted_ms)}; engine objects since the restart, ms:"
                    f" {[item for item in found if item[1] >= 0]})",
                    file=sys.stderr,
                )
                continue
            samples.append(sample)
            print(f"ha: walk {walk + 1}/{walks}: {sample.total_s * 1000:.0f} ms", file=sys.stderr)
            await asyncio.sleep(1.0)  # she has stood still a moment: the next restart makes her vanish
        await ws.close()
    return samples


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def report(samples: list[Sample], events: int) -> dict[str, Any]:
    total = [s.total_s for s in samples]
    confirm = [s.confirm_s for s in samples]
    delivery = [s.delivery_s for s in samples]
    print()
    print(f"Motion latency, test camera box to binary_sensor on in Home Assistant ({len(samples)}/{events} windows)")
    print(f"{'':>28} {'p50':>8} {'p95':>8} {'max':>8}")
    for name, values in (
        ("first moving frame -> HA", total),
        ("  of which confirmation", confirm),
        ("  of which delivery", delivery),
    ):
        print(
            f"{name:>28} {percentile(values, 0.5) * 1000:>6.0f}ms {percentile(values, 0.95) * 1000:>6.0f}ms"
            f" {max(values, default=float('nan')) * 1000:>6.0f}ms"
        )
    p95 = percentile(total, 0.95)
    verdict = "met" if len(samples) == events and p95 <= GOAL_P95_S else "NOT met"
    print(f"Goal: p95 <= {GOAL_P95_S:.1f} s at 5 fps detection: {verdict} (p95 {p95:.3f} s)")
    return {
        "samples_s": [s.__dict__ | {"total_s": s.total_s} for s in samples],
        "p50_s": percentile(total, 0.5),
        "p95_s": p95,
        "confirm_p50_s": statistics.median(confirm) if confirm else None,
        "delivery_p50_s": statistics.median(delivery) if delivery else None,
        "delivery_p95_s": percentile(delivery, 0.95),
    }


def spawn_home_assistant(config_dir: Path, log: IO[bytes]) -> subprocess.Popen[bytes]:
    """``hass -c <dir>`` (requirements come from this repository's pinned set: no installs at start)."""
    return subprocess.Popen(
        [sys.executable, "-m", "homeassistant", "-c", str(config_dir), "--skip-pip"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def report_walks(samples: list[Walk], walks: int) -> dict[str, Any]:
    total = [walk.total_s for walk in samples]
    print()
    print(f"Person latency, the person entering the frame to Person detected on ({len(samples)}/{walks} walks)")
    print(f"{'':>32} {'p50':>8} {'p95':>8} {'max':>8}")
    for name, values in (
        ("entering -> HA", total),
        ("  of which walking in, found", [walk.recognisable_s for walk in samples]),
        ("  of which found frame -> HA", [walk.delivery_s for walk in samples]),
    ):
        print(
            f"{name:>32} {percentile(values, 0.5) * 1000:>6.0f}ms {percentile(values, 0.95) * 1000:>6.0f}ms"
            f" {max(values, default=float('nan')) * 1000:>6.0f}ms"
        )
    p95 = percentile(total, 0.95)
    verdict = "met" if len(samples) == walks and p95 <= PERSON_GOAL_P95_S else "NOT met"
    print(f"Goal: p95 <= {PERSON_GOAL_P95_S:.1f} s: {verdict} (p95 {p95:.3f} s)")
    return {
        "person_samples_s": [walk.__dict__ | {"total_s": walk.total_s} for walk in samples],
        "person_p50_s": percentile(total, 0.5),
        "person_p95_s": p95,
        "person_delivery_p95_s": percentile([walk.delivery_s for walk in samples], 0.95),
    }


async def run_home_assistant(
    run: EngineRun, events: int, period: float, person: RtspCamera | None, walks: int
) -> tuple[list[Sample], list[Walk]]:
    config_dir = WORK / "hass"
    port = free_port()
    write_ha_config(config_dir, port)
    url = f"http://127.0.0.1:{port}"
    log = (WORK / "hass.log").open("wb")
    hass = spawn_home_assistant(config_dir, log)
    try:
        async with aiohttp.ClientSession() as session:
            await wait_http(session, url, hass, 120)
            token = await onboard(session, url)
            await add_vigil(session, url, token, f"http://127.0.0.1:{run.server.port}")
        print("ha: Home Assistant is up and the integration is set up", file=sys.stderr)
        samples = await measure(run, url, token, events, period) if events else []
        walked = await measure_walks(run, person, url, token, walks) if person is not None and walks else []
        return samples, walked
    finally:
        hass.terminate()
        try:
            hass.wait(30)
        except subprocess.TimeoutExpired:
            hass.kill()
        log.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=30, help="motion windows to measure (default 30)")
    parser.add_argument("--on", type=float, default=2.0, help="seconds the box moves per window (default 2)")
    parser.add_argument("--period", type=float, default=8.0, help="seconds from one window to the next (default 8)")
    parser.add_argument("--walks", type=int, default=20, help="person walks to measure (default 20; 0: none)")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    WORK.mkdir(parents=True, exist_ok=True)
    storage = WORK / "storage"
    shutil.rmtree(storage, ignore_errors=True)
    windows = tuple(
        (FIRST_WINDOW_S + k * args.period, FIRST_WINDOW_S + k * args.period + args.on) for k in range(args.events + 40)
    )
    camera = RtspCamera(width=640, height=360, fps=15, keyint=1.0, motion=windows).start()
    person = RtspCamera(width=640, height=360, fps=15, keyint=1.0, person=WALK).start() if args.walks else None
    try:
        run = start_engine(camera, person, storage)
        try:
            samples, walked = asyncio.run(run_home_assistant(run, args.events, args.period, person, args.walks))
        finally:
            stop_engine(run)
    finally:
        camera.close()
        if person is not None:
            person.close()
    results = report(samples, args.events) if args.events else {}
    if args.walks:
        results |= report_walks(walked, args.walks)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0 if len(samples) == args.events and len(walked) == args.walks else 1


if __name__ == "__main__":
    sys.exit(main())
