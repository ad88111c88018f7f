"""Crash safety of both pipelines, core (python app) and scheduler (container), on a device whose disks survive
the crash (`on_disk`):
- the update is killed (SIGKILL) at every step boundary: the OnFailure= rollback undoes it;
- the power is cut (the whole test systemd SIGKILLed, then a new one booted on the same disks) in the middle of
  an update: dunebugger-recover.service resolves it at boot;
- the power is cut in the middle of core's rollback, at each of its steps and at random moments: the recovery
  at boot finishes the rollback, never "manual intervention required";
- core's update is killed while it stages the release: nothing is left of the half-built release.

After each, the component is healthy on the version it ran before or the new one, the device's settings are
byte-identical, root's state and what is installed (install link and VERSION, or compose file and running
container) agree, no transaction is left, and a result is recorded.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kits import containerkit, corekit
from kits.crashkit import boot, kill_at, pause_at, wait_for_step
from kits.devicekit import Device
from kits.harness import Harness
from kits.productkit import history, install_product
from kits.standin import GithubStandin

from dunebugger_units import journal

STATE = "/var/lib/dunebugger-units"
# every step each pipeline records, in order (pipeline: started, applied, verified; kind: the rest)
STEPS = {"core": ["started", "switching", "switched", "applied", "verified"],
         "scheduler": ["started", "compose-writing", "recreating", "applied", "verified"]}
ROLLBACK_STEPS = ["rollback-started", "rollback-restored", "rollback-restarted"]
RANDOM_SEEDS = [11, 29]

pytestmark = pytest.mark.on_disk


def case(component: str, *values: Any, name: str) -> Any:
    """A parametrized case of `component`; the scheduler's cases boot with the device's containers."""
    marks = [pytest.mark.containers] if component == "scheduler" else []
    return pytest.param(component, *values, marks=marks, id=f"{component}-{name}")


def prepare(h: Harness, gh: GithubStandin, device: Device, component: str, stability_seconds: float = 2,
            *, slow_staging: bool = False) -> None:
    """The product with dunebugger-recover.service enabled, `component` on 1.0.0, 1.2.0 published and checked.

    `slow_staging`: core 1.2.0's requirements differ from 1.0.0's, so that staging builds a venv with pip (seconds)
    instead of reusing 1.0.0's packages (a blink)."""
    if component == "core":
        install_product(h, corekit.updater_config(device, gh.url, stability_seconds=stability_seconds))
        corekit.install_core(h, device)
        h.systemctl("enable", corekit.SERVICE, "dunebugger-recover.service")
        files = corekit.release_files("1.2.0", extra_requirement="# changed" if slow_staging else None)
        corekit.publish(gh, "1.2.0", corekit.tarball(files))
    else:
        install_product(h, containerkit.updater_config(gh.url, stability_seconds=1))
        h.systemctl("enable", "docker.service", "docker-registry.service", "dunebugger-recover.service")
        containerkit.publish(gh, component, "1.2.0")
    h.run(["dunebugger-units", "check", component], timeout=60)


def settings(h: Harness, component: str) -> dict[str, bytes]:
    """The device's settings that no update may change: core's own config files, or the containers' .env."""
    paths = ([f"{corekit.INSTALL_DIR}/{name}" for name in corekit.DEVICE_SETTINGS] if component == "core"
             else [str(containerkit.INSIDE.compose_file.parent / ".env")])
    return {path: h.path(path).read_bytes() for path in paths}


def settle(h: Harness, component: str, kept: dict[str, bytes], device: Device) -> str:
    """The invariants after recovery; returns the version the component runs."""
    assert not h.path(f"{STATE}/transaction.json").exists()
    state = json.loads(h.path(f"{STATE}/state.json").read_text())["components"].get(component, {})
    version: str = json.loads(h.run(["dunebugger-units", "status", "--json"]).stdout)["components"][component][
        "current"]
    # root's own record, where an update or a rollback wrote one (not after a run that changed nothing), agrees
    assert state.get("current", version) == version
    assert version in ("1.0.0", "1.2.0")
    if component == "core":
        assert json.loads(h.path(f"{corekit.INSTALL_DIR}/VERSION").read_text())["full_version"] == version
        corekit.wait_healthy(h, version, timeout=30)
        assert h.systemctl("is-active", corekit.SERVICE).stdout.strip() == "active"
    else:
        image = containerkit.ref(component, version)
        assert h.docker("inspect", "--format", "{{.Config.Image}}", f"dunebugger-{component}").stdout.strip() == image
        assert f'{image}"' in device.compose_file.read_text()
        containerkit.wait_health(h, component, version, timeout=20)
    for path, data in kept.items():
        assert h.path(path).read_bytes() == data, path
    return version


# ---- the update, killed or cut off --------------------------------------------------------------------------


@pytest.mark.parametrize(("component", "step"), [case(c, s, name=f"sigkill-at-{s}") for c in STEPS for s in STEPS[c]])
def test_sigkill_at_each_step_boundary_is_rolled_back(booted: Harness, gh: GithubStandin, device: Device,
                                                      component: str, step: str) -> None:
    h = booted
    prepare(h, gh, device, component)
    kept = settings(h, component)
    kill_at(h, step)
    h.systemctl("start", f"dunebugger-update@{component}.service", check=False, timeout=300)
    assert h.systemctl("show", "-P", "Result", f"dunebugger-update@{component}.service").stdout.strip() == "signal"
    [rollback] = h.wait_for(lambda: history(h, "rollback"), 180, "the OnFailure= rollback")
    if step == "started":  # killed before any change: the rollback has nothing to undo, and says so
        assert (rollback["status"], rollback["message"]) == (
            "unchanged", f"Nothing to roll back: the update of {component} to 1.2.0 had changed nothing"), rollback
    else:
        assert (rollback["status"], rollback["message"]) == (
            "rolled-back", "Update ended with 'signal', rolled back to v1.0.0"), rollback
    assert h.systemctl("show", "-P", "Result", f"dunebugger-rollback@{component}.service").stdout.strip() == "success"
    assert settle(h, component, kept, device) == "1.0.0"


@pytest.mark.parametrize(("component", "step", "status", "message", "version"), [
    case("core", "switched", "rolled-back", "interrupted at step 'switched'", "1.0.0", name="power-cut-after-switch"),
    case("core", "applied", "updated", "Updated core to 1.2.0 (finished after an interruption)", "1.2.0",
         name="power-cut-when-applied"),
    case("scheduler", "recreating", "rolled-back", "interrupted at step 'recreating'", "1.0.0",
         name="power-cut-while-recreating"),
])
def test_power_cut_mid_update_is_resolved_at_boot(booted: Harness, gh: GithubStandin, device: Device, tmp_path: Path,
                                                  component: str, step: str, status: str, message: str,
                                                  version: str) -> None:
    first = booted
    prepare(first, gh, device, component)
    kept = settings(first, component)
    pause_at(first, step)
    first.systemctl("start", "--no-block", f"dunebugger-update@{component}.service")
    wait_for_step(first, tmp_path / "state", step, 180)
    first.kill()  # the power cut
    if component == "scheduler":  # the compose file was written when the power went: it names the new image
        assert containerkit.ref(component, "1.2.0") in device.compose_file.read_text()
    second = boot(tmp_path, device, docker=component == "scheduler")
    try:
        second.wait_for(lambda: not (tmp_path / "state" / "transaction.json").exists(), 180,
                        "dunebugger-recover.service to resolve the transaction")
        [recovery] = history(second, "recovery")
        assert recovery["status"] == status, recovery
        assert message in recovery["message"], recovery
        assert settle(second, component, kept, device) == version
        assert second.journal("SYSLOG_IDENTIFIER=dunebugger-recover", f"COMPONENT={component}")
    finally:
        second.poweroff()


def test_kill_while_staging_leaves_nothing_and_the_rollback_succeeds(booted: Harness, gh: GithubStandin,
                                                                     device: Device, tmp_path: Path) -> None:
    h = booted
    prepare(h, gh, device, "core", slow_staging=True)  # the kill must land while staging still runs
    h.systemctl("start", "--no-block", "dunebugger-update@core.service")
    releases = device.root / "opt/dunebugger/core.releases"
    h.wait_for((releases / "1.2.0/.dunebugger-staging").exists, 180, "staging to begin")
    h.systemctl("kill", "--signal=SIGKILL", "dunebugger-update@core.service")
    [rollback] = h.wait_for(lambda: history(h, "rollback"), 120, "the OnFailure= rollback")
    assert rollback["status"] == "unchanged", rollback
    assert rollback["message"] == "Nothing to roll back: the update of core to 1.2.0 had changed nothing"
    assert h.systemctl("show", "-P", "Result", "dunebugger-rollback@core.service").stdout.strip() == "success"
    assert not (releases / "1.2.0").exists()
    assert not h.path(f"{STATE}/downloads/core").exists()
    assert not (tmp_path / "state" / "transaction.json").exists()
    corekit.wait_healthy(h, "1.0.0")
    assert h.systemctl("is-active", corekit.SERVICE).stdout.strip() == "active"
    assert not h.journal(f"MESSAGE_ID={journal.ROLLBACK_FAILED}")


# ---- core's rollback, cut off ----------------------------------------------------------------------------


def rollback_step(tmp_path: Path) -> str | None:
    """The step of the rollback in the transaction on disk, if one is under way."""
    try:
        return json.loads((tmp_path / "state" / "transaction.json").read_text()).get("rollback_step")  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return None


def start_failing_update(h: Harness, step: str | None) -> None:
    """Core to 1.3.0 (it crashes at start): the update fails, OnFailure= starts the rollback (which holds once
    `step` is durable, when given)."""
    if step is not None:
        h.write_file("/etc/systemd/system/dunebugger-rollback@.service.d/pause.conf",
                     f"[Service]\nEnvironment=DUNEBUGGER_UNITS_PAUSE_AT={step}\n")
        h.systemctl("daemon-reload")
    h.run(["dunebugger-units", "check", "core"], timeout=60)
    h.systemctl("start", "--no-block", "dunebugger-update@core.service")


def rollback_finished_at_boot(first: Harness, gh: GithubStandin, device: Device, tmp_path: Path,
                              cut: Callable[[Harness], None], stability_seconds: float = 2) -> None:
    """Cut the power with `cut(first)`, boot again, and check the recovery finished the rollback."""
    prepare(first, gh, device, "core", stability_seconds)
    kept = settings(first, "core")
    corekit.publish_all(gh, ["1.3.0"])
    cut(first)
    first.kill()  # the power cut
    second = boot(tmp_path, device, allow_degraded=True)  # a failed recovery is judged below, results shown
    try:
        results = history(second)
        assert all(r["status"] != "needs-manual" for r in results), results
        second.wait_for(lambda: not (tmp_path / "state" / "transaction.json").exists(), 240,
                        "dunebugger-recover.service to finish the rollback")
        assert settle(second, "core", kept, device) == "1.0.0"
        results = history(second)
        assert all(r["status"] != "needs-manual" for r in results), results
        finishing = [r for r in results if r["action"] in ("recovery", "rollback")]
        assert finishing and finishing[0]["status"] == "rolled-back", finishing
        assert not (device.root / "opt/dunebugger/core.releases/1.3.0").exists()
        assert second.systemctl("is-failed", "dunebugger-recover.service", check=False).stdout.strip() != "failed"
    finally:
        second.poweroff()


@pytest.mark.parametrize("step", [pytest.param(s, id=f"power-cut-at-{s}") for s in ROLLBACK_STEPS])
def test_power_cut_at_each_rollback_step_is_finished_at_boot(booted: Harness, gh: GithubStandin, device: Device,
                                                             tmp_path: Path, step: str) -> None:
    def cut(h: Harness) -> None:
        start_failing_update(h, step)
        h.wait_for(lambda: rollback_step(tmp_path) == step, 240, f"the rollback to reach {step}")

    rollback_finished_at_boot(booted, gh, device, tmp_path, cut)


@pytest.mark.parametrize("seed", RANDOM_SEEDS, ids=[f"random-power-cut-{s}" for s in RANDOM_SEEDS])
def test_power_cut_at_a_random_moment_of_the_rollback_is_finished_at_boot(booted: Harness, gh: GithubStandin,
                                                                          device: Device, tmp_path: Path,
                                                                          seed: int) -> None:
    # with an 8 s stability window the rollback runs about 10 s; seeded, so that a failure can be replayed
    delay = random.Random(seed).uniform(0.0, 8.0)  # noqa: S311  # a test's moment, not a secret

    def cut(h: Harness) -> None:
        start_failing_update(h, None)
        h.wait_for(lambda: rollback_step(tmp_path), 300, "the rollback to begin")
        time.sleep(delay)

    rollback_finished_at_boot(booted, gh, device, tmp_path, cut, stability_seconds=8)
