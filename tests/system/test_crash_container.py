"""Crash safety of the container pipeline: the update is killed (SIGKILL) at every step boundary, and the
power is cut (the whole test systemd SIGKILLed, then a new one booted on the same disks). After each, the
recovery runs (the OnFailure= rollback, or dunebugger-recover.service at boot), and then: the component is
healthy on the old or the new version, the settings are byte-identical, the state, the compose file and the
running container agree, no transaction is left, and a result is recorded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from kits.containerkit import INSIDE, MANIFEST_URL, PORTS, lay_out, publish, ref, start_containers, wait_health
from kits.crashkit import boot, history, kill_at, pause_at, wait_for_step
from kits.devicekit import Device
from kits.harness import Harness
from kits.productkit import install_product
from kits.standin import GithubStandin

# every step the container pipeline records, in order (pipeline: started, applied, verified; kind: the rest)
STEPS = ["started", "compose-writing", "recreating", "applied", "verified"]


def scheduler_1_2_0(gh: GithubStandin) -> None:
    publish(gh, "scheduler", "1.2.0")


pytestmark = [pytest.mark.containers, pytest.mark.on_disk, pytest.mark.releases.with_args(scheduler_1_2_0)]


def install(h: Harness, gh: GithubStandin) -> None:
    config = INSIDE.config(gh.url, manifest_url=MANIFEST_URL)
    config["components"]["scheduler"] = {"health_url": f"http://127.0.0.1:{PORTS['scheduler']}/health"}
    config["update"] = {"stability_seconds": 1, "health_timeout": 8}
    install_product(h, config)
    h.systemctl("enable", "docker.service", "docker-registry.service", "dunebugger-recover.service")


def settle(h: Harness, settings: dict[str, bytes], device: Device) -> dict[str, Any]:
    """The invariants after recovery; returns the component's final record."""
    assert not h.path("/var/lib/dunebugger-units/transaction.json").exists()
    state = json.loads(h.path("/var/lib/dunebugger-units/state.json").read_text())["components"].get("scheduler", {})
    status = json.loads(h.run(["dunebugger-units", "status", "--json"]).stdout)["components"]["scheduler"]
    version = status["current"]
    # root's own record, where an update or a rollback wrote one (not after a run that changed nothing), agrees
    assert state.get("current", version) == version
    assert version in ("1.0.0", "1.2.0")
    running = h.docker("inspect", "--format", "{{.Config.Image}}", "dunebugger-scheduler").stdout.strip()
    assert running == ref("scheduler", version)
    assert f"{ref('scheduler', version)}\"" in device.compose_file.read_text()
    wait_health(h, "scheduler", version, timeout=20)
    for path, data in settings.items():
        assert Path(path).read_bytes() == data, path
    return {**state, "current": version}


def snapshot(device: Device) -> dict[str, bytes]:
    """The device's settings that no update may change: .env, and the compose file minus the image line."""
    env = device.compose_file.parent / ".env"
    return {str(env): env.read_bytes()}


@pytest.fixture
def prepared(booted: Harness, gh: GithubStandin) -> tuple[Harness, GithubStandin]:
    install(booted, gh)
    booted.run(["dunebugger-units", "check"], check=False)
    return booted, gh


@pytest.mark.parametrize("step", [pytest.param(s, id=f"sigkill-at-{s}") for s in STEPS])
def test_sigkill_at_each_step_boundary(prepared: tuple[Harness, GithubStandin], device: Device, step: str) -> None:
    h, _ = prepared
    settings = snapshot(device)
    kill_at(h, step)
    h.systemctl("start", "dunebugger-update@scheduler.service", check=False, timeout=180)
    assert h.systemctl("show", "-P", "Result", "dunebugger-update@scheduler.service").stdout.strip() == "signal"
    h.wait_for(lambda: any(r["action"] == "rollback" for r in history(h)), 120, "the OnFailure= rollback")
    [rollback] = [r for r in history(h) if r["action"] == "rollback"]
    if step == "started":  # killed before any change: the rollback has nothing to undo, and says so
        assert (rollback["status"], rollback["message"]) == (
            "unchanged", "Nothing to roll back: the update of scheduler to 1.2.0 had changed nothing"), rollback
    else:
        assert rollback["status"] == "rolled-back", rollback
        assert rollback["message"].endswith("rolled back to v1.0.0")
    assert h.systemctl("show", "-P", "Result", "dunebugger-rollback@scheduler.service").stdout.strip() == "success"
    record = settle(h, settings, device)
    assert record["current"] == "1.0.0"


def test_power_cut_mid_update_recovers_at_boot(system_deps: None, tmp_path: Path, device: Device) -> None:
    lay_out(device)
    first = boot(tmp_path, device, docker=True)
    try:
        start_containers(first, tmp_path / "rootfs")
        gh = GithubStandin().start(first.listen_tcp())
        scheduler_1_2_0(gh)
        install(first, gh)
        first.run(["dunebugger-units", "check"], check=False)
        settings = snapshot(device)
        pause_at(first, "recreating")
        first.systemctl("start", "--no-block", "dunebugger-update@scheduler.service")
        wait_for_step(first, tmp_path / "state", "recreating", 120)
        gh.stop()
    finally:
        first.kill()  # the power cut
    # the compose file was already written when the power went: it names the new image
    assert ref("scheduler", "1.2.0") in device.compose_file.read_text()
    second = boot(tmp_path, device, docker=True)
    try:
        second.wait_for(lambda: not (tmp_path / "state" / "transaction.json").exists(), 120,
                        "dunebugger-recover.service to resolve the transaction")
        [recovery] = [r for r in history(second) if r["action"] == "recovery"]
        assert recovery["status"] == "rolled-back", recovery
        assert "interrupted at step 'recreating'" in recovery["message"]
        record = settle(second, settings, device)
        assert record["current"] == "1.0.0"
        assert second.journal("SYSLOG_IDENTIFIER=dunebugger-recover", "COMPONENT=scheduler")
    finally:
        second.poweroff()
