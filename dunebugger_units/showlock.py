"""The show lock: while any process holds `flock` on `policy.show_lock` (default
/run/dunebugger/updates.lock), a show is running. Unattended updates wait for the next window; a person's
update is refused, naming the holder, unless forced. Touches /proc and the lock file (never creates it).

Testing takes the lock exclusively for an instant and lets it go at once: an exclusive test sees a holder of
either kind (`flock` or `flock -s`). The holder's PID comes from /proc/locks, its unit from /proc/PID/cgroup.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from pathlib import Path

PROC_LOCKS = Path("/proc/locks")


def holders_from_proc_locks(text: str, device: int, inode: int) -> list[int]:
    """Pure: the PIDs /proc/locks names for the file (device, inode). A line reads
    `1: FLOCK  ADVISORY  WRITE 812 00:1a:4711 0 EOF`; blocked waiters (`->`) and OFD locks (PID -1) are left
    out."""
    wanted = f"{os.major(device):02x}:{os.minor(device):02x}:{inode}"
    pids: list[int] = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 6 or fields[1] == "->":  # id, type, mode, access, pid, dev:inode
            continue
        pid, where = fields[4], fields[5]
        if where == wanted and pid.isdigit() and int(pid) > 0 and int(pid) not in pids:
            pids.append(int(pid))
    return pids


def unit_from_cgroup(text: str) -> str | None:
    """Pure: the service or scope a /proc/PID/cgroup line places the process in."""
    for line in text.splitlines():
        path = line.rpartition(":")[2]
        for part in reversed(path.split("/")):
            if part.endswith((".service", ".scope")):
                return part
    return None


def describe_holder(pid: int, unit_of: Callable[[int], str | None] | None = None) -> str:
    """`PID 812, dunebugger.service`: the unit from /proc/PID/cgroup, else from `unit_of` (systemd over
    D-Bus: the update units cannot see other users' processes in /proc)."""
    try:
        unit = unit_from_cgroup(Path(f"/proc/{pid}/cgroup").read_text(encoding="utf-8"))
    except OSError:
        unit = unit_of(pid) if unit_of is not None else None
    return f"PID {pid}, {unit}" if unit else f"PID {pid}"


def show_lock_holder(path: str, unit_of: Callable[[int], str | None] | None = None) -> str | None:
    """None when no show runs; else who holds the lock ("held by PID 812, dunebugger.service")."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None  # nobody ever took it since boot (/run is a tmpfs)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            st = os.fstat(fd)
            try:
                text = PROC_LOCKS.read_text(encoding="utf-8")
            except OSError:
                text = ""
            pids = holders_from_proc_locks(text, st.st_dev, st.st_ino)
            return "held by " + ("; ".join(describe_holder(p, unit_of) for p in pids) if pids else "another process")
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
