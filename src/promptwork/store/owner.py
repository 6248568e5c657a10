"""Which process runs a stored run, and whether it is still alive.

A run is stored with status ``running`` when it starts; if its process dies (``kill -9``, a
crash, a closed laptop) nothing changes that status. So each run records its owner in its
settings (``settings["owner"]``: host name, kernel boot id, process id and the process's start
time), and readers tell a live run from a dead one with :func:`run_status`.

The rule is deliberately conservative, because a store on PostgreSQL is shared by several
machines: a run is declared dead only when its owner was on *this* machine (same host name and,
when recorded, same boot id) and its process is gone or its pid now belongs to a process started
at another time (pid reuse). A run owned by another machine, or with no owner recorded (older
runs), keeps the status it was stored with.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

__all__ = ["INTERRUPTED", "current_owner", "owner_state", "run_status"]

#: The status shown for a run whose process died: it can be finished with ``--resume``.
INTERRUPTED = "interrupted"

OwnerState = Literal["alive", "dead", "unknown"]


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip() or None
    except OSError:
        return None


def _start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ")".
    fields = stat.rpartition(")")[2].split()
    try:
        return int(fields[19])  # field 22 of the whole line
    except (IndexError, ValueError):
        return None


def current_owner() -> dict[str, Any]:
    """This process, as recorded in a run's settings."""
    pid = os.getpid()
    return {"host": socket.gethostname(), "boot": _boot_id(), "pid": pid,
            "started": _start_ticks(pid)}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only checks that the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


def owner_state(owner: Mapping[str, Any] | None) -> OwnerState:
    """``alive``, ``dead``, or ``unknown`` (another machine, no owner recorded, not POSIX)."""
    if not owner or os.name != "posix":  # os.kill(pid, 0) would terminate a process on Windows
        return "unknown"
    try:
        pid = int(owner["pid"])
    except (KeyError, TypeError, ValueError):
        return "unknown"
    if owner.get("host") != socket.gethostname() or pid <= 0:
        return "unknown"
    boot = owner.get("boot")
    here = _boot_id()
    if boot and here and boot != here:
        # The same host name on another boot: maybe a reboot, maybe another machine with the
        # same name sharing the store. Only the second must never be declared dead.
        return "unknown"
    if not _pid_alive(pid):
        return "dead"
    started = owner.get("started")
    if started is not None:
        now = _start_ticks(pid)
        if now is not None and now != started:
            return "dead"  # the pid was reused by a later process
    return "alive"


def run_status(status: str, settings: Mapping[str, Any] | None) -> str:
    """The status to show: a stored ``running`` whose owner process is gone is ``interrupted``."""
    if status != "running":
        return status
    owner = (settings or {}).get("owner")
    return INTERRUPTED if owner_state(owner) == "dead" else status
