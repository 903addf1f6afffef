"""Run the real engine as a separate process (``python -m vigil_engine``), as users do."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


class EngineProcess:
    def __init__(self, workdir: Path, config: dict[str, Any], env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.env = env or {}  # added to the process's environment
        # The API on a free loopback port unless a test asks otherwise (tests run in parallel
        # with other engines; port 8750 belongs to a real installation).
        self.config = {"storage_path": str(workdir / "storage"), "api_host": "127.0.0.1", "api_port": 0, **config}
        self.config_path = workdir / "engine.yaml"
        self.log_path = workdir / "engine.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def storage(self) -> Path:
        return Path(self.config["storage_path"])

    @property
    def recordings(self) -> Path:
        return self.storage / "recordings"

    @property
    def db_path(self) -> Path:
        return Path(self.config.get("database_path") or self.storage / "vigil.db")

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(yaml.safe_dump(self.config), encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(ROOT / "addon"), "PYTHONUNBUFFERED": "1", **self.env}
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "vigil_engine", "--config", str(self.config_path)],
                stdout=log,
                stderr=log,
                env=env,
                cwd=self.workdir,
            )
        self.starts += 1

    def stop(self, timeout: float = 20) -> int:
        """Graceful stop (SIGTERM): the engine finishes and indexes its open segments."""
        if self.proc is None:
            return 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.proc = None
        return code

    def kill(self) -> None:
        """``kill -9``: nothing is finished, nothing is flushed by the engine."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        if not self.db_path.exists():
            return []
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)
        conn.row_factory = sqlite3.Row
        try:
            return conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError:
            return []
        finally:
            conn.close()

    def segments(self, camera_id: str) -> list[sqlite3.Row]:
        return self.query("SELECT * FROM segments WHERE camera_id = ? ORDER BY start_ms", (camera_id,))

    def gaps(self, camera_id: str) -> list[sqlite3.Row]:
        return self.query("SELECT * FROM gaps WHERE camera_id = ? ORDER BY start_ms", (camera_id,))

    def wait_for(self, predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = predicate()
            if result:
                return result
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"engine exited with {self.proc.returncode} waiting for {what}:\n{self.log()}")
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout} s waiting for {what}; engine log:\n{self.log()[-4000:]}")
