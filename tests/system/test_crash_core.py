"""Crash safety of the core pipeline: the update is killed (SIGKILL) at every step boundary, and the power is
cut (the whole test systemd SIGKILLed, then a new one booted on the same disks). After each, the recovery
runs (the OnFailure= rollback, or dunebugger-recover.service at boot), and then: core is healthy on the old
or the new version, the device's settings are byte-identical, the state, the install link and VERSION agree,
no transaction is left, and a result is recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kits.corekit import DEVICE_SETTINGS, INSTALL_DIR, SERVICE, install_core, publish_all, updater_config, wait_healthy
from kits.crashkit import boot, history, kill_at, pause_at, wait_for_step
from kits.devicekit import Device
from kits.harness import Harness
from kits.productkit import install_product
from kits.standin import GithubStandin

# every step the core pipeline records, in order (pipeline: started, applied, verified; kind: the rest)
STEPS = ["started", "switching", "switched", "applied", "verified"]

pytestmark = pytest.mark.on_disk


def settings(device: Device) -> dict[str, str]:
    return {name: text for name, text in DEVICE_SETTINGS.items()}


def settle(h: Harness, device: Device) -> str:
    """The invariants after recovery; returns the version core runs."""
    assert not h.path("/var/lib/dunebugger-units/transaction.json").exists()
    state = json.loads(h.path("/var/lib/dunebugger-units/state.json").read_text())["components"].get("core", {})
    status = json.loads(h.run(["dunebugger-units", "status", "--json"]).stdout)["components"]["core"]
    version = status["current"]
    # root's own record, where an update or a rollback wrote one (not after a run that changed nothing), agrees
    assert state.get("current", version) == version
    assert version in ("1.0.0", "1.2.0")
    on_disk = json.loads(h.path(f"{INSTALL_DIR}/VERSION").read_text())["full_version"]
    assert on_disk == version
    wait_healthy(h, version, timeout=30)
    assert h.systemctl("is-active", SERVICE).stdout.strip() == "active"
    for name, text in settings(device).items():
        assert h.path(f"{INSTALL_DIR}/{name}").read_text() == text, name
    return version  # type: ignore[no-any-return]


def prepare(h: Harness, gh: GithubStandin, device: Device, stability_seconds: float = 2) -> None:
    install_product(h, updater_config(device, gh.url, stability_seconds=stability_seconds))
    h.systemctl("enable", "dunebugger-recover.service")
    install_core(h, device)
    h.systemctl("enable", SERVICE)
    publish_all(gh, ["1.2.0"])
    h.run(["dunebugger-units", "check", "core"], timeout=60)


@pytest.fixture
def prepared(booted: Harness, gh: GithubStandin, device: Device) -> Harness:
    prepare(booted, gh, device)
    return booted


@pytest.mark.parametrize("step", [pytest.param(s, id=f"sigkill-at-{s}") for s in STEPS])
def test_sigkill_at_each_step_boundary(prepared: Harness, device: Device, step: str) -> None:
    h = prepared
    kill_at(h, step)
    h.systemctl("start", "dunebugger-update@core.service", check=False, timeout=300)
    assert h.systemctl("show", "-P", "Result", "dunebugger-update@core.service").stdout.strip() == "signal"
    h.wait_for(lambda: any(r["action"] == "rollback" for r in history(h)), 180, "the OnFailure= rollback")
    [rollback] = [r for r in history(h) if r["action"] == "rollback"]
    if step == "started":  # killed before any change: the rollback has nothing to undo, and says so
        assert (rollback["status"], rollback["message"]) == (
            "unchanged", "Nothing to roll back: the update of core to 1.2.0 had changed nothing"), rollback
    else:
        assert rollback["status"] == "rolled-back", rollback
        assert rollback["message"] == "Update ended with 'signal', rolled back to v1.0.0"
    assert h.systemctl("show", "-P", "Result", "dunebugger-rollback@core.service").stdout.strip() == "success"
    assert settle(h, device) == "1.0.0"


@pytest.mark.parametrize("step", [pytest.param("switched", id="power-cut-after-switch"),
                                  pytest.param("applied", id="power-cut-when-applied")])
def test_power_cut_mid_update_recovers_at_boot(system_deps: None, tmp_path: Path, device: Device,
                                               step: str) -> None:
    first = boot(tmp_path, device)
    try:
        gh = GithubStandin().start(first.listen_tcp())
        prepare(first, gh, device)
        pause_at(first, step)
        first.systemctl("start", "--no-block", "dunebugger-update@core.service")
        wait_for_step(first, tmp_path / "state", step, 180)
        gh.stop()
    finally:
        first.kill()  # the power cut
    second = boot(tmp_path, device)
    try:
        second.wait_for(lambda: not (tmp_path / "state" / "transaction.json").exists(), 180,
                        "dunebugger-recover.service to resolve the transaction")
        [recovery] = [r for r in history(second) if r["action"] == "recovery"]
        expected = {"switched": ("rolled-back", "1.0.0"), "applied": ("updated", "1.2.0")}[step]
        assert (recovery["status"], settle(second, device)) == expected, recovery
        assert second.journal("SYSLOG_IDENTIFIER=dunebugger-recover", "COMPONENT=core")
    finally:
        second.poweroff()
