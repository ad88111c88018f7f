"""Benchmark: preparing core's update ahead (figures in docs/performance.md). Needs root: it boots a throw-away
real systemd (tests/kits/harness) with the fixture core app.

Run: /usr/local/lib/dunebugger-units/venv/bin/python bench/prepare_ahead.py [rounds] [--no-autogroup]

Each release requires the fixture's own wheel plus setuptools (Debian's wheel from /usr/share/python-wheels:
about 900 files), with requirements that differ from the running release's, so that a venv is built with pip.
In the same run:
1. a bare `systemctl restart dunebugger`, timed from the command's start to its end (the floor);
2. unprepared: `prepare_ahead: false`, a check, then `systemctl start dunebugger-update@core` (download, venv,
   pip, switch, restart, stability window), timed from the start of that command to its end: the update's result;
3. prepared: `prepare_ahead: true`, a check, the preparation it starts waited for, then the same update, timed the
   same way. Target: at most the stability window plus 2x the bare restart.
4. the show's share of the CPU: a CPU-busy loop, one process per core, in a service of its own (the show's
   stand-in), counts its iterations for a fixed window, alone and then while a preparation (staging a release
   with pip) runs at the priority the unit ships with;
5. the priority itself, robust to other load on the machine: the same busy loop beside a CPU hog (the same loop)
   started with the unit's priority settings, then at the default priority; the hog's iterations as a share of
   the busy loop's, in the same window.
The test systemd gets no cgroup controllers on a cgroup-v1 host (its cgroup.subtree_control is empty), so there
CPUWeight=, IOWeight= and IOSchedulingClass= change nothing and only Nice= acts; on a device systemd enables the
cpu and io controllers for them. Nice= itself acts only within a session while the kernel's autogroups are on
(`kernel.sched_autogroup_enabled=1`: each service is a session of its own). `--no-autogroup` turns them off for
parts 4 and 5 and back on afterwards (a host-wide setting: only on a machine of your own), so that Nice= decides
between the services as it does on a kernel without autogroups.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from core_downtime import core_device
from kits.corekit import SERVICE, publish, release_files, tarball, wait_healthy
from kits.corekit import updater_config as core_config
from kits.devicekit import Device
from kits.harness import Harness
from kits.productkit import write_config
from kits.standin import GithubStandin

UPDATE = "dunebugger-update@core.service"
PREPARE = "dunebugger-prepare.service"
SETUPTOOLS = next(Path("/usr/share/python-wheels").glob("setuptools-*.whl"))
PIN = f"setuptools=={SETUPTOOLS.name.split('-')[1]}"
STABILITY = 3.0
# where the busy loops write their counts: a dir of this run's own (the test systemd may share /root and /tmp
# with the host, and a count left by an earlier run must never be read)
WORK = f"/var/tmp/prepare-bench-{os.getpid()}-{int(time.time())}"
BUSY_SECONDS = 20.0
BUSY = """\
import os, sys, time
seconds, out, procs = float(sys.argv[1]), sys.argv[2], int(sys.argv[3])
def spin(i):
    end, n = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        for _ in range(10000):
            pass
        n += 1
    with open(f"{out}.{i}", "w") as f:
        f.write(str(n))
children = []
for i in range(procs):
    pid = os.fork()
    if pid == 0:
        spin(i)
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
"""


def configure(h: Harness, device: Device, gh: GithubStandin, *, ahead: bool) -> None:
    config = core_config(device, gh.url, stability_seconds=STABILITY)
    config["components"]["core"]["prepare_ahead"] = ahead
    write_config(h, config)


def prepare_runs(h: Harness) -> int:
    return sum(1 for e in h.journal("_PID=1", f"UNIT={PREPARE}") if e.get("JOB_TYPE") == "start" and "JOB_RESULT" in e)


def publish_fresh(gh: GithubStandin, version: str) -> None:
    """A release whose requirements differ from every other's: its venv is built with pip."""
    publish(gh, version, tarball(release_files(version, extra_requirement=f"{PIN}\n# build {version}")))


def timed(h: Harness, *args: str) -> float:
    started = time.monotonic()
    h.systemctl(*args, timeout=900)
    return time.monotonic() - started


def update(h: Harness, gh: GithubStandin, device: Device, version: str, *, ahead: bool) -> float:
    configure(h, device, gh, ahead=ahead)
    publish_fresh(gh, version)
    runs = prepare_runs(h)
    h.run(["dunebugger-units", "check", "core"], timeout=120)
    if ahead:
        h.wait_for(lambda: prepare_runs(h) > runs, 900, "the preparation to finish")
        state = h.run(["dunebugger-units", "status", "--json"]).stdout
        assert f'"prepared": "{version}"' in state, state
    seconds = timed(h, "start", UPDATE)
    wait_healthy(h, version)
    return seconds


def busy_rate(h: Harness, tag: str, during: Any = None) -> float:
    """Iterations per second of the busy loop (all its processes) over BUSY_SECONDS; `during()` is started
    with it."""
    out = f"{WORK}/busy-{tag}"
    procs = os.cpu_count() or 2
    h.run(["systemd-run", "--quiet", f"--unit=show-busy-{tag}", "python3", f"{WORK}/busy.py", str(BUSY_SECONDS),
           out, str(procs)])
    if during is not None:
        during()
    h.wait_for(lambda: all(h.path(f"{out}.{i}").exists() for i in range(procs)), BUSY_SECONDS + 120,
               "the busy loop to end")
    time.sleep(0.2)  # the last write
    return sum(int(h.path(f"{out}.{i}").read_text() or 0) for i in range(procs)) / BUSY_SECONDS


def hog_share(h: Harness, tag: str, priority: list[str]) -> float:
    """The hog's iterations over the busy loop's, both running through the same window."""
    procs = os.cpu_count() or 2
    hog = f"{WORK}/hog-{tag}"
    h.run(["systemd-run", "--quiet", f"--unit=hog-{tag}", *priority, "python3", f"{WORK}/busy.py",
           str(BUSY_SECONDS + 2), hog, str(procs)])
    busy = busy_rate(h, f"beside-{tag}")
    h.wait_for(lambda: all(h.path(f"{hog}.{i}").exists() for i in range(procs)), 120, "the hog to end")
    time.sleep(0.2)
    return sum(int(h.path(f"{hog}.{i}").read_text() or 0) for i in range(procs)) / (BUSY_SECONDS + 2) / busy


LOW = ["-p", "Nice=19", "-p", "CPUWeight=1", "-p", "IOWeight=1", "-p", "IOSchedulingClass=idle"]


AUTOGROUP = Path("/proc/sys/kernel/sched_autogroup_enabled")


@contextlib.contextmanager
def autogroups(enabled: bool | None) -> Iterator[None]:
    """The kernel's autogroups on or off for the block (None: as they are), then as they were."""
    before = AUTOGROUP.read_text() if AUTOGROUP.exists() else None
    if enabled is None or before is None:
        yield
        return
    AUTOGROUP.write_text("1" if enabled else "0")
    try:
        yield
    finally:
        AUTOGROUP.write_text(before)


@dataclass
class Shares:
    """Parts 4 and 5, one figure per round."""

    idle: list[float] = field(default_factory=list)  # the busy loop's it/s, alone
    sharing: list[float] = field(default_factory=list)  # the same, while a preparation runs
    prep_seconds: list[float] = field(default_factory=list)
    low: list[float] = field(default_factory=list)  # the hog at the unit's priority, over the busy loop
    normal: list[float] = field(default_factory=list)  # the hog at the default priority


def share_rounds(h: Harness, gh: GithubStandin, rounds: int) -> Shares:
    shares = Shares()
    for i in range(rounds):
        shares.idle.append(busy_rate(h, f"idle-{i}"))
        version = f"1.{50 + i}.0"
        publish_fresh(gh, version)
        runs = prepare_runs(h)
        started = time.monotonic()
        shares.sharing.append(busy_rate(h, f"prep-{i}", lambda: h.run(["dunebugger-units", "check", "core"],
                                                                timeout=120)))
        h.wait_for(lambda: prepare_runs(h) > runs, 1800, "the preparation to finish")  # noqa: B023
        shares.prep_seconds.append(time.monotonic() - started)
        shares.low.append(hog_share(h, f"low-{i}", LOW))
        shares.normal.append(hog_share(h, f"normal-{i}", []))
    return shares


def main(rounds: int, autogroup: bool | None) -> None:
    restarts: list[float] = []
    unprepared: list[float] = []
    prepared: list[float] = []
    with core_device("prepare-ahead-") as (h, gh, device):
        try:
            shutil.copy(SETUPTOOLS, device.root / "opt/dunebugger/wheelhouse" / SETUPTOOLS.name)
            h.run(["mkdir", "-p", WORK])
            h.write_file(f"{WORK}/busy.py", BUSY)
            for i in range(rounds):
                restarts.append(timed(h, "restart", SERVICE))
                unprepared.append(update(h, gh, device, f"1.{10 + 2 * i}.0", ahead=False))
                prepared.append(update(h, gh, device, f"1.{11 + 2 * i}.0", ahead=True))
            configure(h, device, gh, ahead=True)
            with autogroups(autogroup):
                shares = share_rounds(h, gh, rounds)
        finally:
            h.run(["rm", "-rf", WORK], check=False)
    med = statistics.median
    target = STABILITY + 2 * med(restarts)
    print(f"rounds: {rounds} (medians); load average {os.getloadavg()[0]:.2f}")
    print(f"bare restart (systemctl restart, whole command)  {med(restarts) * 1000:7.0f} ms")
    print(f"update, unprepared (download, venv, pip, switch)  {med(unprepared):7.2f} s")
    print(f"update, prepared (switch, restart, checks)        {med(prepared):7.2f} s   target <= stability "
          f"{STABILITY:g} s + 2 x restart = {target:.2f} s: {'met' if med(prepared) <= target else 'NOT met'}")
    print(f"prepared / unprepared                             {med(prepared) / med(unprepared):7.2f}x")
    print(f"busy loop alone                                   {med(shares.idle):9.0f} it/s")
    print(f"busy loop during a preparation (low priority)     {med(shares.sharing):9.0f} it/s "
          f"({med(shares.sharing) / med(shares.idle):.1%} of alone); the preparation took "
          f"{med(shares.prep_seconds):.1f} s")
    print(f"a CPU hog beside the busy loop, at the unit's priority: {med(shares.low):.1%} of the loop's iterations; "
          f"at the default priority: {med(shares.normal):.1%}; kernel autogroups "
          f"{'as they were' if autogroup is None else 'off'}")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--no-autogroup"]
    main(int(args[0]) if args else 3, False if "--no-autogroup" in sys.argv[1:] else None)
