"""A rollback of core cut off by a power cut (the whole test systemd SIGKILLed, a new one booted on the same
disks) at each of its steps and at random moments: the recovery at boot finishes it. It is never "manual
intervention required", core runs the old release and is healthy, the failed release is gone, the settings are
byte-identical and a result is recorded. Also: a kill in the middle of staging, whose rollback has nothing to
undo, succeeds and removes the half-built release.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import pytest
from kits.corekit import SERVICE, publish_all, wait_healthy
from kits.crashkit import disks, history
from kits.devicekit import Device
from kits.harness import Harness
from kits.standin import GithubStandin
from test_crash_core import prepare, settle

from dunebugger_units import journal

ROLLBACK_STEPS = ["rollback-started", "rollback-restored", "rollback-restarted"]
RANDOM_SEEDS = [11, 29]


@pytest.fixture
def device(tmp_path: Path) -> Device:
    return Device(tmp_path / "device").lay_out(core_version="1.0.0")


def txn_file(tmp_path: Path) -> Path:
    return tmp_path / "state" / "transaction.json"


def txn(tmp_path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(txn_file(tmp_path).read_text())  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return None


def start_failing_update(h: Harness, tmp_path: Path, pause_at: str | None) -> None:
    """Core to 1.3.0 (it crashes at start): the update fails, OnFailure= starts the rollback."""
    if pause_at is not None:
        h.write_file("/etc/systemd/system/dunebugger-rollback@.service.d/pause.conf",
                     f"[Service]\nEnvironment=DUNEBUGGER_UNITS_PAUSE_AT={pause_at}\n")
        h.systemctl("daemon-reload")
    h.run(["dunebugger-units", "check", "core"], timeout=60)
    h.systemctl("start", "--no-block", "dunebugger-update@core.service")


def recovered(tmp_path: Path, device: Device, cut: Any, stability_seconds: float = 2) -> None:
    """Cut the power with `cut(first)`, boot again, and check the recovery finished the rollback."""
    first = Harness.boot(tmp_path / "harness", **disks(tmp_path, device))
    try:
        gh = GithubStandin().start(first.listen_tcp())
        prepare(first, gh, device, stability_seconds)
        publish_all(gh, ["1.3.0"])
        cut(first)
        gh.stop()
    finally:
        first.kill()  # the power cut
    second = Harness.boot(tmp_path / "harness", **disks(tmp_path, device))
    try:
        second.wait_for(lambda: not txn_file(tmp_path).exists(), 240,
                        "dunebugger-recover.service to finish the rollback")
        assert settle(second, device) == "1.0.0"
        results = history(second)
        assert all(r["status"] != "needs-manual" for r in results), results
        finishing = [r for r in results if r["action"] in ("recovery", "rollback")]
        assert finishing and finishing[0]["status"] == "rolled-back", finishing
        releases = device.root / "opt/dunebugger/core.releases"
        assert not (releases / "1.3.0").exists()
        assert second.systemctl("is-failed", "dunebugger-recover.service", check=False).stdout.strip() != "failed"
    finally:
        second.poweroff()


@pytest.mark.parametrize("step", [pytest.param(s, id=f"power-cut-at-{s}") for s in ROLLBACK_STEPS])
def test_power_cut_at_each_rollback_step_is_finished_at_boot(system_deps: None, tmp_path: Path, device: Device,
                                                             step: str) -> None:
    def cut(h: Harness) -> None:
        start_failing_update(h, tmp_path, step)
        h.wait_for(lambda: (txn(tmp_path) or {}).get("rollback_step") == step, 240, f"the rollback to reach {step}")

    recovered(tmp_path, device, cut)


@pytest.mark.parametrize("seed", RANDOM_SEEDS, ids=[f"random-power-cut-{s}" for s in RANDOM_SEEDS])
def test_power_cut_at_a_random_moment_of_the_rollback_is_finished_at_boot(system_deps: None, tmp_path: Path,
                                                                          device: Device, seed: int) -> None:
    # with an 8 s stability window the rollback runs about 10 s; seeded, so that a failure can be replayed
    delay = random.Random(seed).uniform(0.0, 8.0)  # noqa: S311  # a test's moment, not a secret

    def cut(h: Harness) -> None:
        start_failing_update(h, tmp_path, None)
        h.wait_for(lambda: (txn(tmp_path) or {}).get("rollback_step"), 300, "the rollback to begin")
        time.sleep(delay)

    recovered(tmp_path, device, cut, stability_seconds=8)


def test_kill_while_staging_leaves_nothing_and_the_rollback_succeeds(system_deps: None, tmp_path: Path,
                                                                     device: Device) -> None:
    h = Harness.boot(tmp_path / "harness", **disks(tmp_path, device))
    try:
        gh = GithubStandin().start(h.listen_tcp())
        prepare(h, gh, device)
        h.systemctl("start", "--no-block", "dunebugger-update@core.service")
        releases = device.root / "opt/dunebugger/core.releases"
        h.wait_for((releases / "1.2.0/.dunebugger-staging").exists, 180, "staging to begin")
        h.systemctl("kill", "--signal=SIGKILL", "dunebugger-update@core.service")
        h.wait_for(lambda: any(r["action"] == "rollback" for r in history(h)), 120, "the OnFailure= rollback")
        [rollback] = [r for r in history(h) if r["action"] == "rollback"]
        assert rollback["status"] == "unchanged", rollback
        assert rollback["message"] == "Nothing to roll back: the update of core to 1.2.0 had changed nothing"
        assert h.systemctl("show", "-P", "Result", "dunebugger-rollback@core.service").stdout.strip() == "success"
        assert not (releases / "1.2.0").exists()
        assert not h.path("/var/lib/dunebugger-units/downloads/core").exists()
        assert not txn_file(tmp_path).exists()
        wait_healthy(h, "1.0.0")
        assert h.systemctl("is-active", SERVICE).stdout.strip() == "active"
        assert not h.journal(f"MESSAGE_ID={journal.ROLLBACK_FAILED}")
        gh.stop()
    finally:
        h.poweroff()
