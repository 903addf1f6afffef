"""The card's bundle: built from frontend/ with the pinned toolchain, strict TypeScript, unit-tested.

The committed bundle (``custom_components/vigil/frontend/vigil-timeline-card.js``, what HACS
installs) must be byte for byte what ``frontend/build.mjs`` makes from the sources now: a
change to the sources without a rebuild fails here. ``scripts/setup`` installs the pinned
toolchain (``npm ci``) and rebuilds the bundle when its inputs change.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from custom_components.vigil.card import BUNDLE

ROOT = Path(__file__).resolve().parents[3]
FRONTEND = ROOT / "frontend"
EXACT = re.compile(r"^\d+\.\d+\.\d+$")
TIMEOUT_S = 180


def _node() -> str:
    node = shutil.which("node")
    assert node is not None, "Node.js 20+ is needed to build the card (scripts/setup says so)"
    assert (FRONTEND / "node_modules" / "esbuild").is_dir(), "frontend/node_modules is missing: run scripts/setup"
    return node


def _run(*args: str, cwd: Path = FRONTEND) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)


def test_committed_bundle_is_a_fresh_build(tmp_path: Path) -> None:
    """Built elsewhere (another folder, another working directory), the bundle is the same bytes."""
    fresh = tmp_path / "vigil-timeline-card.js"
    result = _run(_node(), str(FRONTEND / "build.mjs"), "--outfile", str(fresh), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert fresh.read_bytes() == BUNDLE.read_bytes(), (
        "custom_components/vigil/frontend/vigil-timeline-card.js is not the build of frontend/: run scripts/setup"
    )
    again = tmp_path / "again.js"
    assert _run(_node(), "build.mjs", "--outfile", str(again)).returncode == 0
    assert again.read_bytes() == fresh.read_bytes()


def test_bundle_is_one_module_without_paths_or_secrets() -> None:
    text = BUNDLE.read_text(encoding="utf-8")
    # No chunks to fetch: nothing imported, statically or on demand.
    assert not re.search(r"^import ", text, re.MULTILINE)
    assert "import(" not in text
    for leak in (str(ROOT), "/home/", "/root/", "node_modules/", "api_token"):
        assert leak not in text, leak
    for defined in ("vigil-timeline-card", "vigil-timeline-card-editor", "ll-strategy-dashboard-vigil", "vigil-panel"):
        assert f'"{defined}"' in text, defined
    assert len(text) < 600_000  # lit + hls.js light + the card: it is loaded on every page


def test_toolchain_is_pinned() -> None:
    package = json.loads((FRONTEND / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((FRONTEND / "package-lock.json").read_text(encoding="utf-8"))
    wanted = {**package["dependencies"], **package["devDependencies"]}
    assert {"esbuild", "typescript", "lit", "hls.js"} <= set(wanted)
    for name, version in wanted.items():
        assert EXACT.match(version), f"{name} {version}: exact versions only"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version, name
        installed = json.loads((FRONTEND / "node_modules" / name / "package.json").read_text(encoding="utf-8"))
        assert installed["version"] == version, f"{name}: run scripts/setup (npm ci)"


@pytest.mark.parametrize("project", [".", "test"])
def test_typescript_is_strict_and_clean(project: str) -> None:
    config = json.loads((FRONTEND / "tsconfig.json").read_text(encoding="utf-8"))
    assert config["compilerOptions"]["strict"] is True
    _node()
    result = _run(str(FRONTEND / "node_modules" / ".bin" / "tsc"), "--noEmit", "-p", project)
    assert result.returncode == 0, result.stdout + result.stderr


def test_unit_tests_of_the_card(tmp_path: Path) -> None:
    """frontend/test: time zones, the timeline's geometry, the wall clock of a frame, markers."""
    node = _node()
    built = tmp_path / "tests"
    result = _run(node, "build.mjs", "--tests", str(built))
    assert result.returncode == 0, result.stderr
    result = _run(node, "--test", str(built))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr
    assert re.search(r"^# fail 0$", result.stdout, re.MULTILINE), result.stdout[-2000:]
    assert not re.search(r"^# pass 0$", result.stdout, re.MULTILINE)
