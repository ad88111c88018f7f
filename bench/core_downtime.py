"""Benchmark: core's downtime during an update and a rollback, against the shell-script procedures (figures in
docs/performance.md). Needs root: it boots a throw-away real systemd (tests/kits/harness) with the fixture core app.

Run: /usr/local/lib/dunebugger-units/venv/bin/python bench/core_downtime.py [rounds]

Downtime is the time dunebugger.service is not active, read from systemd's own records: from its
"Stopping ..." journal entry (it leaves `active`) to ActiveEnterTimestamp (active again). On the same fixture, in the
same run:
1. a bare `systemctl restart dunebugger` (the floor);
2. the shell-script update, as the host coordinator's script runs it: stop, remove, extract, pip install
   (fresh venv), start;
3. ours: `systemctl start dunebugger-update@core` (download, staging, venv and pip happen before the stop);
4. rollback: the shell script's (stop, tar restore, venv rebuild, start) against ours (OnFailure= after a release that
   crashes at start: relink to the previous release, restart), each timed from its start until core is active
   on the old version again.
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from kits.corekit import (
    INSTALL_DIR,
    SERVICE,
    WHEELHOUSE,
    install_core,
    publish,
    publish_all,
    release_files,
    tarball,
    wait_healthy,
)
from kits.corekit import updater_config as core_config
from kits.devicekit import Device
from kits.harness import Harness
from kits.productkit import install_product
from kits.standin import GithubStandin

UPDATE = "dunebugger-update@core.service"
ROLLBACK = "dunebugger-rollback@core.service"


def stamps(h: Harness, unit: str = SERVICE) -> dict[str, int]:
    names = ("ActiveExitTimestampMonotonic", "ActiveEnterTimestampMonotonic", "InactiveExitTimestampMonotonic")
    out = h.systemctl("show", unit, *(f"--property={n}" for n in names)).stdout
    return {k: int(v) for k, v in (line.split("=", 1) for line in out.splitlines() if "=" in line)}


def now_monotonic_us() -> int:
    """CLOCK_MONOTONIC is shared by every namespace here: the host's clock matches systemd's stamps."""
    return time.monotonic_ns() // 1000


def left_active_us(h: Harness) -> int:
    """When the last stop began: systemd's own "Stopping ..." entry (a stop or restart job starting).

    ActiveExitTimestamp cannot be used: systemd resets it when a stopped unit is started again.
    """
    entries = [e for e in h.journal("_PID=1", f"UNIT={SERVICE}")
               if e.get("JOB_TYPE") in ("stop", "restart") and "JOB_RESULT" not in e]
    return int(entries[-1]["__MONOTONIC_TIMESTAMP"])


def downtime(h: Harness) -> float:
    """From the moment it left `active` to the moment it is `active` again."""
    return (stamps(h)["ActiveEnterTimestampMonotonic"] - left_active_us(h)) / 1e6


def bare_restart(h: Harness) -> float:
    h.systemctl("restart", SERVICE)
    return downtime(h)


def script_update(h: Harness, tarball: str) -> float:
    """The shell-script core update, step by step as the script does it, while the service is down."""
    d = str(INSTALL_DIR)
    h.systemctl("stop", SERVICE)
    h.run(["find", d, "-mindepth", "1", "-delete"])
    h.run(["tar", "-xzf", tarball, "-C", d])
    h.run(["python3", "-m", "venv", f"{d}/.venv"], timeout=300)
    h.run([f"{d}/.venv/bin/python", "-m", "pip", "install", "-q", "--no-index", "--find-links", str(WHEELHOUSE),
           "-r", f"{d}/requirements.txt"], timeout=300)
    h.run(["chown", "-R", "pi:pi", d])
    h.systemctl("start", SERVICE)
    return downtime(h)


def script_rollback(h: Harness, backup: str) -> float:
    """The shell-script rollback: stop, restore the tarball, rebuild the venv, start; timed from its first step."""
    d = str(INSTALL_DIR)
    started = now_monotonic_us()
    h.systemctl("stop", SERVICE)
    h.run(["find", d, "-mindepth", "1", "-delete"])
    h.run(["tar", "-xzf", backup, "-C", d])
    h.run(["python3", "-m", "venv", f"{d}/.venv"], timeout=300)
    h.run([f"{d}/.venv/bin/python", "-m", "pip", "install", "-q", "--no-index", "--find-links", str(WHEELHOUSE),
           "-r", f"{d}/requirements.txt"], timeout=300)
    h.run(["chown", "-R", "pi:pi", d])
    h.systemctl("start", SERVICE)
    return (stamps(h)["ActiveEnterTimestampMonotonic"] - started) / 1e6


def our_update(h: Harness, gh: GithubStandin, version: str) -> float:
    publish_all(gh, [version])
    h.run(["dunebugger-units", "check", "core"], timeout=60)
    h.systemctl("start", UPDATE, timeout=300)
    wait_healthy(h, version)
    return downtime(h)


def med(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.0f} ms"


@contextlib.contextmanager
def core_device(prefix: str) -> Iterator[tuple[Harness, GithubStandin, Device]]:
    """A throw-away systemd with dunebugger-units installed and core 1.0.0 running from the device's
    /opt/dunebugger, and the GitHub stand-in inside its network; both are gone afterwards."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        root = Path(tmp)
        device = Device(root / "device").lay_out()
        h = Harness.boot(root / "harness", binds={"/opt/dunebugger": device.root / "opt/dunebugger"})
        gh = GithubStandin().start(h.listen_tcp())
        try:
            install_product(h, core_config(device, gh.url))
            install_core(h, device)
            yield h, gh, device
        finally:
            gh.stop()
            h.poweroff()


def main(rounds: int) -> None:
    with core_device("core-downtime-") as (h, gh, _device):
        # the shell script's inputs: the release tarball and a backup of the running install (without its venv)
        publish_all(gh, ["1.2.0"])
        h.write_file("/root/dunebugger-1.2.0.tar.gz",
                     gh.blobs["/download/dunebugger/v1.2.0/dunebugger-1.2.0.tar.gz"])
        h.run(["tar", "-czf", "/root/core.backup.tar.gz", "--exclude=./.venv", "-C", str(INSTALL_DIR), "."])
        restarts = [bare_restart(h) for _ in range(rounds)]
        script = [script_update(h, "/root/dunebugger-1.2.0.tar.gz") for _ in range(rounds)]
        script_back = [script_rollback(h, "/root/core.backup.tar.gz") for _ in range(rounds)]
        wait_healthy(h, "1.0.0")
        ours, ours_back = [], []
        for i in range(rounds):
            good, bad = f"1.{10 + 2 * i}.0", f"1.{11 + 2 * i}.0"
            ours.append(our_update(h, gh, good))
            ours_back.append(our_rollback(h, gh, bad, good))
    floor, script_m, ours_m = (statistics.median(x) for x in (restarts, script, ours))
    print(f"rounds: {rounds} (medians)")
    print(f"bare systemctl restart dunebugger      downtime {med(restarts)}")
    print(f"shell-script update (stop/rm/extract/pip/start) downtime {med(script)}")
    print(f"dunebugger-units update                 downtime {med(ours)}  "
          f"= {ours_m / floor:.2f}x the bare restart (target <= 1.5x), {ours_m / script_m:.3f}x the shell script's "
          f"(target <= 0.2x)")
    print(f"shell-script rollback (tar restore, venv rebuild) {med(script_back)}")
    print(f"dunebugger-units rollback (relink, restart) {med(ours_back)}  "
          f"= {statistics.median(ours_back) / statistics.median(script_back):.3f}x the shell script's")


def our_rollback(h: Harness, gh: GithubStandin, crashing: str, back_to: str) -> float:
    """Update to a release that crashes at start; time from the rollback unit's start to core active again."""
    publish(gh, crashing, tarball(release_files(crashing, crash=True)))
    h.run(["dunebugger-units", "check", "core"], timeout=60)
    h.systemctl("start", UPDATE, check=False, timeout=300)
    wait_healthy(h, back_to, timeout=300)  # the rollback (queued by OnFailure=) has brought it back
    h.wait_until_inactive(ROLLBACK, timeout=120)  # ... and has finished its re-checks (it holds the lock)
    started = stamps(h, ROLLBACK)["InactiveExitTimestampMonotonic"]
    return (stamps(h)["ActiveEnterTimestampMonotonic"] - started) / 1e6


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
