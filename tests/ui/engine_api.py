"""The development stack's engine, asked with its token for the truth a UI test compares the page with."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from tests.support.develop_stack import DevelopStack


class Engine:
    """The stack's engine API (its token is in the stack's ``develop.json``)."""

    def __init__(self, stack: DevelopStack) -> None:
        self.url = f"http://127.0.0.1:{stack.engine_port}"
        self.token = json.loads((stack.folder / "develop.json").read_text(encoding="utf-8"))["engine_token"]

    def get(self, path: str) -> Any:
        request = urllib.request.Request(self.url + path, headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def camera(self, camera_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.get(f"/api/cameras/{camera_id}")["camera"]
        return result

    def summary(self, camera_id: str, day: str, time_zone: str) -> dict[str, Any]:
        result: dict[str, Any] = self.get(f"/api/cameras/{camera_id}/summary?date={day}&time_zone={time_zone}")[
            "summary"
        ]
        return result
