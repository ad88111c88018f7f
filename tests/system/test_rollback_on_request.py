"""Operator actions on a real systemd with real Docker: a rollback asked for after a successful update (by a
person with `dunebugger-units rollback`, which starts dunebugger-rollback@ over D-Bus), a second one with
nowhere to go, and `systemctl stop` of an update before it changed anything (recorded as cancelled, no rollback).
"""

from __future__ import annotations

import json
import subprocess

import pytest
from kits.containerkit import COMPOSE, publish, ref, running_image, wait_health
from kits.corekit import DEVICE_SETTINGS, INSTALL_DIR, owners, publish_all, wait_healthy
from kits.devicekit import Device
from kits.harness import Harness
from kits.productkit import history
from kits.standin import GithubStandin


def rollback(h: Harness, component: str) -> subprocess.CompletedProcess[str]:
    return h.run(["dunebugger-units", "rollback", component, "--json"], check=False, timeout=240)




@pytest.mark.containers
def test_container_rollback_on_request_returns_to_the_previous_image(product: Harness, gh: GithubStandin,
                                                                      device: Device) -> None:
    h = product
    publish(gh, "scheduler", "1.2.0")
    h.run(["dunebugger-units", "check"], timeout=60)
    h.systemctl("start", "dunebugger-update@scheduler.service", timeout=240)
    assert history(h)[0]["status"] == "updated", history(h)[0]
    # the registry is gone: the previous image must come from this machine
    h.systemctl("stop", "docker-registry.service")

    out = rollback(h, "scheduler")

    assert out.returncode == 0, out.stdout + out.stderr
    result = json.loads(out.stdout)
    assert (result["action"], result["status"]) == ("rollback", "rolled-back"), result
    assert result["message"] == "Rollback requested, rolled back to v1.0.0"
    assert (result["from_version"], result["to_version"]) == ("1.2.0", "1.0.0")
    assert device.compose_file.read_text() == COMPOSE
    assert running_image(h, "scheduler") == ref("scheduler", "1.0.0")
    wait_health(h, "scheduler", "1.0.0", timeout=10)
    status = json.loads(h.run(["dunebugger-units", "status", "--json"]).stdout)["components"]["scheduler"]
    assert (status["current"], status["update_available"]) == ("1.0.0", True)

    again = rollback(h, "scheduler")
    assert again.returncode == 75, again.stdout + again.stderr
    assert json.loads(again.stdout)["message"] == (
        "rolling back scheduler: there is no previous version to return to (no update of scheduler has "
        "succeeded since the last rollback)")
    assert h.systemctl("show", "-P", "Result", "dunebugger-rollback@scheduler.service").stdout.strip() == "success"
    assert running_image(h, "scheduler") == ref("scheduler", "1.0.0")


@pytest.mark.containers
def test_stop_before_any_change_records_cancelled_and_rolls_nothing_back(product: Harness, gh: GithubStandin,
                                                                         device: Device) -> None:
    h = product
    publish(gh, "scheduler", "1.2.0")
    h.run(["dunebugger-units", "check"], timeout=60)
    h.write_file("/etc/systemd/system/dunebugger-update@.service.d/pause.conf",
                 "[Service]\nEnvironment=DUNEBUGGER_UNITS_PAUSE_AT=started\n")
    h.systemctl("daemon-reload")
    before = json.loads(h.docker("container", "inspect", "dunebugger-scheduler").stdout)[0]["Id"]
    h.systemctl("start", "--no-block", "dunebugger-update@scheduler.service")
    txn = h.path("/var/lib/dunebugger-units/transaction.json")
    h.wait_for(txn.exists, 120, "the update to reach 'started'")

    h.systemctl("stop", "dunebugger-update@scheduler.service", timeout=60)

    [result, *_] = history(h)
    assert (result["action"], result["status"], result["changed"]) == ("update", "cancelled", False), result
    assert result["message"] == "The update of scheduler was cancelled (stopped by SIGTERM); nothing was changed"
    assert h.systemctl("show", "-P", "Result", "dunebugger-update@scheduler.service").stdout.strip() == "success"
    assert h.systemctl("show", "-P", "InvocationID", "dunebugger-rollback@scheduler.service").stdout.strip() == ""
    assert not txn.exists()
    assert device.compose_file.read_text() == COMPOSE
    assert json.loads(h.docker("container", "inspect", "dunebugger-scheduler").stdout)[0]["Id"] == before


def test_core_rollback_on_request_keeps_the_settings_as_they_are_now(core: Harness, gh: GithubStandin,
                                                                     device: Device) -> None:
    h, uid = core, core.pi_uid  # type: ignore[attr-defined]
    sequences = device.core_dir / "app/config/sequences"  # a settings dir only this device has
    sequences.mkdir()
    (sequences / "night.json").write_text('{"lights": 3}\n')
    h.run(["chown", "-R", "pi:pi", f"{INSTALL_DIR}/app/config/sequences"])
    sequences.chmod(0o770)
    publish_all(gh, ["1.2.0"])
    h.run(["dunebugger-units", "check", "core"], timeout=60)
    h.systemctl("start", "dunebugger-update@core.service", timeout=300)
    assert history(h)[0]["status"] == "updated", history(h)[0]
    running = device.core_dir.resolve()
    assert running.name == "1.2.0"
    new_sequences = running / "app/config/sequences"
    st = new_sequences.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (uid, uid, 0o770)
    assert (new_sequences / "night.json").stat().st_uid == uid
    # a person edits a setting on the new release, then asks for the previous one back
    edited = DEVICE_SETTINGS["app/config/gpio.conf"] + "buzzer_pin = 22\n"
    (running / "app/config/gpio.conf").write_text(edited)

    out = rollback(h, "core")

    assert out.returncode == 0, out.stdout + out.stderr
    result = json.loads(out.stdout)
    assert (result["status"], result["message"]) == ("rolled-back", "Rollback requested, rolled back to v1.0.0")
    previous = device.core_dir.resolve()
    assert previous.name == "1.0.0"
    assert (previous / "app/config/gpio.conf").read_text() == edited
    assert (previous / "app/config/sequences/night.json").read_text() == '{"lights": 3}\n'
    assert owners(previous / "app/config") == {uid}
    assert (running / ".venv").exists()  # the release rolled back from stays, for a later update
    wait_healthy(h, "1.0.0")
    assert rollback(h, "core").returncode == 75
