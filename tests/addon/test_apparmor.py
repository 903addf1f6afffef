"""addon/apparmor.txt compiled by the real AppArmor parser, as the Supervisor loads it.

The Supervisor loads the add-on's profile on the host (through OS Agent's
``apparmor_parser``) before it builds the image, after renaming the profile to the add-on's
full slug (``supervisor/utils/apparmor.py``: the one line starting with ``profile``). A
profile that does not compile fails the installation and every update, so it is compiled
here with Debian's parser (package ``apparmor``), without loading it into the kernel.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.addon.conftest import ADDON

PROFILE = ADDON / "apparmor.txt"
# supervisor/utils/apparmor.py: the profile's name is on the one line that starts with it.
RE_PROFILE = re.compile(r"^profile ([^ ]+).*$")
# Rules that grant a whole class of access at once.
RE_BLANKET = re.compile(
    r"^(?:(?:audit|allow|deny|owner)\s+)*"
    r"(?:file|capability|network|mount|remount|umount|pivot_root|ptrace|signal|dbus|unix|change_profile)\s*,$"
)
RE_FILE_RULE = re.compile(r"^(?:(?:audit|allow|owner)\s+)*(?P<path>[/@]\S*)\s+(?P<perms>[rwaklmixuxpPcCUI]+)\b")


def _parser() -> str:
    found = shutil.which("apparmor_parser") or shutil.which("apparmor_parser", path="/usr/sbin:/sbin")
    if found is None:
        pytest.fail(
            "apparmor_parser is not installed: the add-on's AppArmor profile cannot be compiled "
            "(Debian: apt-get install apparmor; scripts/setup installs it)",
            pytrace=False,
        )
    return found


def _compile(path: Path) -> subprocess.CompletedProcess[str]:
    # -Q: do not load into the kernel; -K/-T: neither write nor read the cache.
    return subprocess.run([_parser(), "-Q", "-K", "-T", str(path)], capture_output=True, text=True, check=False)


def _rules(text: str) -> list[tuple[tuple[str, ...], str]]:
    """Every rule line with the profiles it is in (outermost first), comments and includes left out."""
    rules: list[tuple[tuple[str, ...], str]] = []
    stack: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.split(" #", 1)[0].strip()
        if line.startswith("profile "):
            stack.append(line.split()[1])
            continue
        if line == "}":
            stack.pop()
            continue
        rules.append((tuple(stack), line))
    assert not stack, "unbalanced braces"
    return rules


def test_the_profile_compiles() -> None:
    result = _compile(PROFILE)
    assert result.returncode == 0, result.stderr


def test_the_profile_compiles_under_the_name_the_supervisor_gives_it(tmp_path: Path) -> None:
    """supervisor/utils/apparmor.py ``adjust_profile``: the name becomes the full slug."""
    lines = PROFILE.read_text(encoding="utf-8").splitlines(keepends=True)
    names = {match.group(1) for line in lines if (match := RE_PROFILE.match(line))}
    assert names == {"vigil"}, "one profile line, named after the slug"
    adjusted = tmp_path / "apparmor.txt"
    adjusted.write_text(
        "".join(line.replace("vigil", "a0d7b954_vigil", 1) if RE_PROFILE.match(line) else line for line in lines),
        encoding="utf-8",
    )
    result = _compile(adjusted)
    assert result.returncode == 0, result.stderr


def test_no_blanket_rules() -> None:
    rules = _rules(PROFILE.read_text(encoding="utf-8"))
    blanket = [rule for _, rule in rules if RE_BLANKET.match(rule)]
    assert blanket == []
    assert [rule for _, rule in rules if rule.startswith(("capability", "owner capability"))] == []
    whole_filesystem = [rule for _, rule in rules if re.match(r"^(?:owner\s+)?/(?:\*\*|\{,?\*\*\})?\s", rule)]
    assert whole_filesystem == []
    # Nothing runs unconfined.
    unconfined = [rule for _, rule in rules if (m := RE_FILE_RULE.match(rule)) and re.search("[uU]", m["perms"])]
    assert unconfined == []


def test_the_engine_writes_only_its_own_folders() -> None:
    """The engine's profile: writes to /data, /media, temporary folders and ONVIF's WSDL cache."""
    rules = _rules(PROFILE.read_text(encoding="utf-8"))
    assert any(profiles == ("vigil",) and rule == "/usr/local/bin/python3* cx -> engine," for profiles, rule in rules)
    writable = sorted(
        match["path"]
        for profiles, rule in rules
        if profiles == ("vigil", "engine") and (match := RE_FILE_RULE.match(rule)) and "w" in match["perms"]
    )
    allowed = ("/data/", "/media/", "/tmp/", "/var/tmp/", "/dev/shm/", "@{HOME}/.cache/", "@{PROC}/@{pid}/task/")
    assert writable, "the engine must be able to write its index and footage"
    assert [path for path in writable if not path.startswith(allowed)] == []
    for needed in ("/data/** rwk,", "/media/** rwk,", "network inet stream,", "network inet dgram,"):
        assert any(profiles == ("vigil", "engine") and rule == needed for profiles, rule in rules), needed
