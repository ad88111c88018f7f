"""A throw-away real systemd, PID 1 of private namespaces, for the system tests.

Recipe and measurements: shared/notes/real-systemd-in-tests.md. The harness boots the machine's own
/lib/systemd/systemd with a real system bus (dbus-daemon), over copy-on-write overlays of the host's
/etc, /var, /usr and /opt, in its own pid, mount, uts, ipc, cgroup and network namespaces. Tests talk to it
by running commands inside (`Harness.run`, which uses nsenter) and through its files (`Harness.path`).
Nothing here is a mock: units, timers, OnFailure=, Docker and compose are the real programs.

Modules, by concern:
- `machine`: the booted systemd (`Harness`): boot, poweroff, kill, run, journal, paths, sockets inside.
- `plumbing`: the Linux parts under it: cgroup v2, setns into its network, process groups, polling.
- `images`: Docker inside a harness, the loopback registry, busybox rootfs dirs, import and push.
- `errors`: what they raise.
"""

from __future__ import annotations

from .errors import INSTALL_HINT, CommandFailed, HarnessError
from .images import REGISTRY, busybox_rootfs
from .machine import HARNESS_PATH, Harness, missing_dependencies
from .plumbing import cgroup2_root, wait_for

__all__ = [
    "HARNESS_PATH",
    "INSTALL_HINT",
    "REGISTRY",
    "CommandFailed",
    "Harness",
    "HarnessError",
    "busybox_rootfs",
    "cgroup2_root",
    "missing_dependencies",
    "wait_for",
]
