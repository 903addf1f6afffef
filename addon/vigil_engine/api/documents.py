"""Write (or check) the API's documents from the protocol's models: ``python -m vigil_engine.api.documents [--check]``.

docs/api/websocket.md gets its tables and title from :mod:`websocket_doc`; docs/api/openapi.json
is :func:`openapi.build_spec`. ``scripts/sync-protocol`` runs this after copying the models; with
``--check`` nothing is written and the exit status is 1 if a document is not current.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .openapi import build_spec
from .websocket_doc import render

DOCS = Path(__file__).resolve().parents[3] / "docs" / "api"


def documents(docs: Path = DOCS) -> dict[Path, str]:
    """Each document's path and what it must hold."""
    websocket_md = docs / "websocket.md"
    return {
        websocket_md: render(websocket_md.read_text(encoding="utf-8")),
        docs / "openapi.json": json.dumps(build_spec(), indent=2) + "\n",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vigil_engine.api.documents", description=__doc__)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a document is not current")
    args = parser.parse_args(argv)
    stale = []
    for path, text in documents().items():
        if path.read_text(encoding="utf-8") != text:
            stale.append(path)
            if not args.check:
                path.write_text(text, encoding="utf-8")
    for path in stale:
        print(f"{'not current' if args.check else 'wrote'}: {path}", file=sys.stderr)
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
