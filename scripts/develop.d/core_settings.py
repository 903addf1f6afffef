"""Home Assistant's core settings for the development instance: time zone, country, units, language.

What onboarding's "Home" page would ask a user, taken from the machine instead: its time zone
(``$TZ``, else ``/etc/localtime``), and the country that time zone belongs to in the time zone
database's ``zone.tab``. A zone of no country (UTC, as in most containers) gets Ireland:
English-speaking, on the euro and metric, so it matches the language and the currency and
units Home Assistant defaults to. Without a country Home Assistant raises a repair. The
currency stays Home Assistant's default (EUR): nothing of Vigil's depends on it.
"""

from __future__ import annotations

import os
import zoneinfo
from contextlib import suppress
from pathlib import Path
from typing import Any

FALLBACK_COUNTRY = "IE"
# The countries that measure in miles and pounds (Home Assistant's "us_customary" system).
US_CUSTOMARY_COUNTRIES = frozenset({"US", "LR", "MM"})
LANGUAGE = "en"  # the dev user's language at onboarding, and the frontend's default


def machine_time_zone() -> str:
    """The machine's IANA time zone: ``$TZ``, else the target of ``/etc/localtime``, else
    ``/etc/timezone``; UTC when none of them names one."""
    candidates = [os.environ.get("TZ", "").removeprefix(":")]
    localtime = Path("/etc/localtime")
    if localtime.is_symlink():
        # /usr/share/zoneinfo/Europe/Berlin, or a path through zoneinfo/posix/ on some systems
        candidates.append(str(localtime.resolve()).rpartition("zoneinfo/")[2].removeprefix("posix/"))
    with suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    known = zoneinfo.available_timezones()
    return next((name for name in candidates if name in known), "UTC")


def zone_country(zone: str) -> str | None:
    """The ISO 3166 code of the country ``zone`` is in (``zone.tab``); None for UTC and the like."""
    for folder in zoneinfo.TZPATH:
        table = Path(folder, "zone.tab")
        if not table.is_file():
            continue
        for line in table.read_text(encoding="utf-8").splitlines():
            fields = line.split("\t")
            if not line.startswith("#") and len(fields) >= 3 and fields[2] == zone:
                return fields[0]
        return None
    return None


def core_settings(location_name: str) -> dict[str, Any]:
    """The fields of Home Assistant's ``config/core/update`` WebSocket command."""
    time_zone = machine_time_zone()
    country = zone_country(time_zone) or FALLBACK_COUNTRY
    return {
        "location_name": location_name,
        "time_zone": time_zone,
        "country": country,
        "unit_system": "us_customary" if country in US_CUSTOMARY_COUNTRIES else "metric",
        "language": LANGUAGE,
    }
