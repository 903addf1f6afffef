"""Writes ``old_index/``: an index (and its footage) as an older engine left it, for the migration tests.

Run with the engine of the version to capture on ``PYTHONPATH`` (the fixture in this folder
was written by the engine of commit e2c1b49, index schema 2, before numbered migrations):

    git worktree add /tmp/old-vigil e2c1b49
    cp tests/engine/data/make_old_index.py /tmp/old-vigil/tests/engine/data/
    cd /tmp/old-vigil && PYTHONPATH=. <repo>/.venv/bin/python tests/engine/data/make_old_index.py /tmp/old-index

It records the demo camera (4 s segments: events from its moving box), sets run-time settings,
adds a camera at run time, starts and ends a manual event, stops, starts again (a gap while the
engine was not running) and stops. Then ``old_index/`` is copied from the output folder.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import yaml

from tests.api.client import WsClient
from tests.support.engine_process import EngineProcess


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    config = {
        "segment_seconds": 4,
        "api_token": "old-index-fixture-token-0123456789",
        "cameras": [{"id": "demo", "name": "Demo", "url": "demo://", "events": {"pre_capture": 2, "post_capture": 2}}],
    }
    engine = EngineProcess(out, config)
    engine.start()
    port = engine.wait_for(lambda: re.search(r"API listening on 127.0.0.1:(\d+)", engine.log()), 30, "the API")
    client = WsClient(f"http://127.0.0.1:{port.group(1)}", str(config["api_token"]))
    client.connect()
    client.result("set_motion_detection", {"camera_id": "demo", "enabled": True})
    client.result(
        "add_camera",
        {"camera": {"id": "added", "name": "Added at run time", "url": "demo://", "record": "events"}},
    )
    client.result("set_record_mode", {"camera_id": "added", "record_mode": "off"})
    client.result("start_manual_event", {"camera_id": "demo", "label": "doorbell"})
    time.sleep(8)
    client.result("end_manual_event", {"camera_id": "demo"})
    time.sleep(30)  # the demo box moves 10 s of every 30 s: a motion event
    client.close()
    engine.stop()
    time.sleep(3)
    engine.start()
    time.sleep(10)
    engine.stop()
    print(yaml.safe_dump(sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())))
    subprocess.run(["sqlite3", str(out / "storage" / "vigil.db"), ".tables"], check=False)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
