"""The protocol's models are one source, copied byte for byte where each distribution needs them.

``protocol/vigil_protocol/`` is the source; the add-on's build context (``addon/``) and HACS's
folder (``custom_components/vigil/``) each hold a copy, written by ``scripts/sync-protocol``. A copy
that differs from the source fails here, as does a source module that imports anything but
itself, the standard library and mashumaro (the copies live in other packages).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "protocol" / "vigil_protocol"
COPIES = (ROOT / "addon" / "vigil_engine" / "protocol", ROOT / "custom_components" / "vigil" / "protocol")


def _modules(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.glob("*.py"))}


@pytest.mark.parametrize("copy", COPIES, ids=lambda path: str(path.relative_to(ROOT)))
def test_each_copy_is_the_source_byte_for_byte(copy: Path) -> None:
    source = _modules(SOURCE)
    assert source, "no source modules"
    copied = _modules(copy)
    assert sorted(copied) == sorted(source), f"run scripts/sync-protocol: {copy} has other modules"
    stale = [name for name, text in source.items() if copied[name] != text]
    assert stale == [], f"run scripts/sync-protocol: {copy} differs in {stale}"
    assert {path.name for path in copy.iterdir()} <= {*source, "__pycache__"}


def test_the_source_imports_only_itself_the_standard_library_and_mashumaro() -> None:
    for path in SOURCE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                top = (node.module or "").split(".")[0]
            elif isinstance(node, ast.Import):
                top = node.names[0].name.split(".")[0]
            else:
                continue
            assert top in sys.stdlib_module_names or top == "mashumaro", f"{path.name} imports {top}"
            if isinstance(node, ast.ImportFrom):
                assert node.level in (0, 1), f"{path.name}: only relative imports of its own package"


def test_the_engine_and_the_integration_use_the_same_models() -> None:
    from custom_components.vigil import protocol as integration
    from vigil_engine import protocol as engine

    assert list(engine.COMMANDS) == list(integration.COMMANDS)
    assert list(engine.EVENTS) == list(integration.EVENTS)
    assert engine.SCHEMA_VERSION == integration.SCHEMA_VERSION


def test_sync_protocol_check_passes() -> None:
    """``scripts/sync-protocol --check``: the copies and the documents are what the source makes."""
    done = subprocess.run(
        [str(ROOT / "scripts" / "sync-protocol"), "--check"], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
