"""Who may hold a connection to the API: caps in total and per client address, strangers first to go.

Every accepted socket asks :meth:`Admission.admit` before any protocol object exists for it;
refused, it is closed at once (it cost an ``accept`` and a ``close``). A connection starts
*unauthenticated* and becomes *trusted* once a request on it carried the token (or a valid
signed path) or its WebSocket authenticated (:meth:`Admission.trust`). Unauthenticated
connections are cheap to open and worth nothing, so the caps are mostly about them:

- all connections: ``FdBudget.connections`` (the descriptor budget, at most 256);
- unauthenticated ones: half of that, and ``MAX_UNTRUSTED_PER_ADDRESS`` from one address;
- from one address, trusted or not: half of the total, so that one buggy client cannot take all.

When the total or the unauthenticated cap is reached, a newcomer is let in only by dropping
the oldest unauthenticated connection of the address that holds the most of them, and only
if that address holds at least two more than the newcomer's: Home Assistant opening a
connection from its own address gets in however many connections a flood from other
addresses holds, while a flooding address only ever takes turns with itself, which costs
nothing. An address is an IPv4 address, or an IPv6 /64 (one host can use a whole /64).
Trusted connections are never dropped to make room: with all slots trusted, newcomers are
refused.
"""

from __future__ import annotations

import ipaddress
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from .fdbudget import FdBudget
from .lograte import RateLimitedLog

_LOGGER = logging.getLogger(__name__)

MAX_UNTRUSTED_PER_ADDRESS: Final = 32
# Dropping one address's connection for another's must even things out, not swap them.
_FAIRNESS_MARGIN: Final = 2

_refused_log = RateLimitedLog(_LOGGER, logging.WARNING)
_dropped_log = RateLimitedLog(_LOGGER, logging.INFO)


@dataclass(eq=False)
class Slot:
    """One admitted connection."""

    address: str
    trusted: bool = False
    released: bool = False
    closer: Callable[[], None] | None = None  # set by the connection's protocol: aborts its transport


def address_key(peer: Any) -> str:
    """The address a connection is counted under: the peer's IP, an IPv4-mapped one as IPv4, IPv6 by /64."""
    host = peer[0] if isinstance(peer, tuple) and peer else str(peer)
    try:
        ip = ipaddress.ip_address(str(host).partition("%")[0])
    except ValueError:
        return str(host)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


@dataclass(frozen=True)
class Caps:
    total: int
    untrusted: int
    untrusted_per_address: int
    per_address: int

    @classmethod
    def of(cls, budget: FdBudget) -> Caps:
        total = budget.connections
        untrusted = max(1, total // 2)
        return cls(total, untrusted, min(MAX_UNTRUSTED_PER_ADDRESS, untrusted), max(1, total // 2))


class Admission:
    """The table of the API's connections (see the module docstring)."""

    def __init__(self, budget: Callable[[], FdBudget]) -> None:
        self._budget = budget
        self._total = 0
        self._per_address: Counter[str] = Counter()
        # Unauthenticated connections by address, oldest first (dicts keep insertion order).
        self._untrusted: dict[str, dict[Slot, None]] = {}
        self._untrusted_total = 0
        self.refused = 0
        self.dropped = 0

    @property
    def connections(self) -> int:
        return self._total

    @property
    def untrusted(self) -> int:
        return self._untrusted_total

    def admit(self, address: str, fd: int) -> Slot | None:
        """A slot for a new connection from ``address`` whose socket is ``fd``, or None: refuse it."""
        why = self._refusal(address, fd)
        if why is not None:
            self.refused += 1
            _refused_log("API refused a connection from %s: %s", address, why)
            return None
        slot = Slot(address)
        self._total += 1
        self._per_address[address] += 1
        self._untrusted.setdefault(address, {})[slot] = None
        self._untrusted_total += 1
        return slot

    def _refusal(self, address: str, fd: int) -> str | None:
        """Why a newcomer cannot be let in, or None (after making room for it if need be)."""
        budget = self._budget()
        caps = Caps.of(budget)
        if fd >= budget.ceiling:
            return f"the engine holds {fd} open files or more; the rest are kept for recording"
        if self._per_address[address] >= caps.per_address:
            return f"{caps.per_address} connections from one address"
        if len(self._untrusted.get(address, ())) >= caps.untrusted_per_address:
            return f"{caps.untrusted_per_address} unauthenticated connections from one address"
        if (self._total >= caps.total or self._untrusted_total >= caps.untrusted) and not self._make_room(address):
            return f"all {caps.total} connections ({caps.untrusted} unauthenticated) are taken"
        return None

    def trust(self, slot: Slot) -> None:
        """The connection has shown the token: it is no longer dropped to make room."""
        if slot.trusted or slot.released:
            return
        slot.trusted = True
        self._forget_untrusted(slot)

    def release(self, slot: Slot) -> None:
        """The connection is closed (safe to call more than once)."""
        if slot.released:
            return
        slot.released = True
        self._total -= 1
        self._per_address[slot.address] -= 1
        if not self._per_address[slot.address]:
            del self._per_address[slot.address]
        if not slot.trusted:
            self._forget_untrusted(slot)

    def _forget_untrusted(self, slot: Slot) -> None:
        mine = self._untrusted.get(slot.address)
        if mine is None or slot not in mine:
            return
        del mine[slot]
        self._untrusted_total -= 1
        if not mine:
            del self._untrusted[slot.address]

    def _make_room(self, newcomer: str) -> bool:
        """Drop the oldest unauthenticated connection of the most crowded address, if fair (see above)."""
        if not self._untrusted:
            return False
        crowded, slots = max(self._untrusted.items(), key=lambda item: len(item[1]))
        if len(slots) < len(self._untrusted.get(newcomer, ())) + _FAIRNESS_MARGIN:
            return False
        oldest = next(iter(slots))
        self.release(oldest)
        if oldest.closer is not None:
            oldest.closer()
        self.dropped += 1
        _dropped_log("API dropped an unauthenticated connection from %s to let one from %s in", crowded, newcomer)
        return True
