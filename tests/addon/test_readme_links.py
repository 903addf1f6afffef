"""README.md as HACS shows it: every link absolute, and every link into this repository alive.

With ``render_readme`` in hacs.json, HACS renders the repository's root README.md in Home
Assistant (``async_get_info_file_contents``: README.md of the repository's root only, so
not custom_components/vigil/README.md, which GitHub renders as the manifest's documentation
link). There a relative link (``addon/DOCS.md``, ``#install``) resolves against Home
Assistant's own address and breaks, so every link must be absolute.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.addon.conftest import ROOT

REPOSITORY = "https://github.com/vigil-nvr/vigil"
IN_REPOSITORY = re.compile(rf"^{re.escape(REPOSITORY)}/(?:blob|tree)/main/(?P<path>[^#?]+)(?:#(?P<anchor>.+))?$")
# Inline links and images, reference definitions, HTML attributes.
LINKS = (
    re.compile(r"\]\(\s*<?(?P<target>[^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)"),
    re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(?P<target>[^\s>]+)>?", re.MULTILINE),
    re.compile(r"\b(?:href|src)\s*=\s*[\"'](?P<target>[^\"']+)[\"']", re.IGNORECASE),
)
ABSOLUTE = re.compile(r"^(?:https?|mailto):", re.IGNORECASE)


def _links(text: str) -> list[tuple[int, str]]:
    found = []
    for pattern in LINKS:
        for match in pattern.finditer(text):
            found.append((text.count("\n", 0, match.start()) + 1, match["target"]))
    return sorted(found)


def _github_anchor(heading: str) -> str:
    """GitHub's id for a heading: lower case, punctuation dropped, spaces become hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {_github_anchor(m[1]) for m in re.finditer(r"^#{1,6}\s+(.+?)\s*#*$", path.read_text(), re.MULTILINE)}


def test_hacs_renders_the_root_readme() -> None:
    assert json.loads((ROOT / "hacs.json").read_text(encoding="utf-8"))["render_readme"] is True


def test_every_link_is_absolute() -> None:
    links = _links((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(links) >= 5
    assert [(line, target) for line, target in links if not ABSOLUTE.match(target)] == []


@pytest.mark.parametrize("kind", ["relative", "anchor", "reference", "html"])
def test_relative_links_are_found(kind: str) -> None:
    text = {
        "relative": "see [the docs](addon/DOCS.md) here",
        "anchor": "[install](#install)",
        "reference": "[docs][1]\n\n[1]: docs/api/websocket.md",
        "html": '<img src="addon/icon.png">',
    }[kind]
    assert [target for _, target in _links(text) if not ABSOLUTE.match(target)]


def test_links_into_the_repository_lead_somewhere() -> None:
    for line, target in _links((ROOT / "README.md").read_text(encoding="utf-8")):
        match = IN_REPOSITORY.match(target)
        if match is None:
            assert not target.startswith(REPOSITORY + "/blob/"), (line, target)
            continue
        path = ROOT / match["path"]
        assert path.exists(), f"README.md line {line}: {target} names no file of the repository"
        if match["anchor"]:
            assert match["anchor"] in _anchors(path), f"README.md line {line}: no heading for #{match['anchor']}"
