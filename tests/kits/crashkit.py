"""Interrupting an update for the crash tests: a SIGKILL at a named step, a pause there for a power cut, and a
device whose state survives the cut (tests/system/test_crash.py).

`DUNEBUGGER_UNITS_KILL_AT=<step>` and `DUNEBUGGER_UNITS_PAUSE_AT=<step>` are read by the update as it records
each step; they reach it through a drop-in of dunebugger-update@.service.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kits.devicekit import Device
from kits.harness import Harness

DROPIN_DIR = "/etc/systemd/system/dunebugger-update@.service.d"


def disks(tmp_path: Path, device: Device, *, docker: bool = False) -> dict[str, Any]:
    """What survives a power cut: the device dir, the state dir, the unit files (and /var/lib/docker)."""
    names = ("state", "units", "docker") if docker else ("state", "units")
    for name in names:
        (tmp_path / name).mkdir(exist_ok=True)
    kept: dict[str, Any] = {"binds": {"/opt/dunebugger": device.root / "opt/dunebugger",
                                      "/var/lib/dunebugger-units": tmp_path / "state",
                                      "/etc/systemd/system": tmp_path / "units"}}
    if docker:
        kept["docker_data"] = tmp_path / "docker"
    return kept


def boot(tmp_path: Path, device: Device, *, docker: bool = False, allow_degraded: bool = False) -> Harness:
    """A test systemd on the disks of `disks()`: booting again on them after `kill()` is the power coming back.
    `allow_degraded`: a failed unit at boot (the recovery) is for the test to judge, with the results to show."""
    return Harness.boot(tmp_path / "harness", docker=docker, allow_degraded=allow_degraded,
                        **disks(tmp_path, device, docker=docker))


def kill_at(h: Harness, step: str) -> None:
    """The next update is SIGKILLed right after `step` is durable."""
    h.write_file(f"{DROPIN_DIR}/kill.conf", f"[Service]\nEnvironment=DUNEBUGGER_UNITS_KILL_AT={step}\n")
    h.systemctl("daemon-reload")


def pause_at(h: Harness, step: str) -> None:
    """The next update holds once `step` is durable (then cut the power)."""
    h.write_file(f"{DROPIN_DIR}/pause.conf", f"[Service]\nEnvironment=DUNEBUGGER_UNITS_PAUSE_AT={step}\n")
    h.systemctl("daemon-reload")


def wait_for_step(h: Harness, state_dir: Path, step: str, timeout: float) -> None:
    """Wait until the transaction on disk (the host side of the state dir) has reached `step`."""
    txn = state_dir / "transaction.json"
    h.wait_for(lambda: txn.exists() and json.loads(txn.read_text())["step"] == step, timeout,
               f"the update to reach {step!r}")

