"""The share of the process's open files the API may take, so that recording never runs out.

One limit (``RLIMIT_NOFILE``) covers every descriptor of the engine: each camera's RTSP
socket(s), the segment file it writes, the index, snapshots, and every connection to the API.
When the limit is reached, whichever opens next fails; before this budget that was, as often
as not, a camera's next segment file, so a few hundred idle connections from anyone on the
LAN stopped recording. So:

- at start the soft limit is raised to the hard one (:func:`raise_open_file_limit`): the
  1024 that many systems give a process is a default, not a need;
- a reserve is set aside for the engine itself and for each camera (:class:`FdBudget`), and
  the API holds at most what is left, counting two descriptors per connection (its socket
  and a file it may be streaming), and never more than ``MAX_CONNECTIONS``;
- as a second line, a connection whose socket number reaches the reserve is refused at once:
  descriptors are numbered lowest-free-first, so such a number means the process already
  holds at least that many, whoever opened them.

The budget is computed again for each new connection from the current number of cameras
(cameras can be added at run time), which costs a few additions.
"""

from __future__ import annotations

import logging
import resource
from dataclasses import dataclass
from typing import Final

_LOGGER = logging.getLogger(__name__)

# The engine's own descriptors with no camera (standard streams, the event loop, the index
# database with its WAL and shared memory per connection, the API's listening sockets, log
# files) and room for its bursts: a clip export reads several segment files at once, retention
# and the start-up reconcile open files, ONVIF discovery opens a socket. Measured at rest: 11.
RESERVE_BASE: Final = 64
# Per camera: the main and sub stream RTSP sockets, the segment file being written, the file a
# failed segment is salvaged from, snapshot and thumbnail files, ONVIF's HTTP connections
# (commands and the event pull point). Measured at rest: 3 (main and sub stream, segment file).
RESERVE_PER_CAMERA: Final = 16
FDS_PER_CONNECTION: Final = 2
# Home Assistant uses one WebSocket and a pool of HTTP connections (up to 100 per host in its
# client session); a few browsers playing footage add some each. Beyond this, a connection is
# far more likely an attack than a user.
MAX_CONNECTIONS: Final = 256
UNLIMITED: Final = 1 << 20  # what an infinite limit counts as


@dataclass(frozen=True)
class FdBudget:
    """The API's share of ``limit`` open files in a process recording ``cameras`` cameras."""

    limit: int
    cameras: int

    @property
    def reserved(self) -> int:
        """Descriptors the API never takes: the engine's and its cameras'."""
        return RESERVE_BASE + RESERVE_PER_CAMERA * self.cameras

    @property
    def ceiling(self) -> int:
        """A connection whose socket gets this number or a higher one is refused (see the module docstring)."""
        return max(0, self.limit - self.reserved)

    @property
    def connections(self) -> int:
        """At most this many connections at once."""
        return min(MAX_CONNECTIONS, self.ceiling // FDS_PER_CONNECTION)

    def describe(self) -> str:
        return (
            f"open-file limit {self.limit}, {self.reserved} kept for the engine and its {self.cameras} "
            f"camera{'s' if self.cameras != 1 else ''}: the API takes at most {self.connections} connections"
        )


def raise_open_file_limit() -> int:
    """Raise the soft ``RLIMIT_NOFILE`` to the hard limit; the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return UNLIMITED
    if hard == resource.RLIM_INFINITY or soft >= hard:
        return soft  # an infinite hard limit cannot be the soft one (Linux caps it at nr_open)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError) as err:
        _LOGGER.warning("Cannot raise the open-file limit from %d to %d: %s", soft, hard, err)
        return soft
    return hard
