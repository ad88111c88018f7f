"""Updating core in a real systemd: the fixture app run by a real dunebugger.service (User=pi,
Restart=always), releases served by the loopback GitHub stand-in, the real update@ and rollback@ units.

Each case asserts the JSON first (`dunebugger-units history --json`), then disk and systemd, then the journal;
and after every outcome: the device's settings byte-identical, files owned by pi, core healthy.
"""

from __future__ import annotations

import json
import shutil

import pytest
from kits.corekit import (
    DEVICE_SETTINGS,
    SERVICE,
    asset,
    owners,
    publish_all,
    service_props,
    wait_healthy,
)
from kits.devicekit import Device
from kits.harness import Harness
from kits.productkit import history
from kits.standin import GithubStandin

from dunebugger_units import journal

UPDATE = "dunebugger-update@core.service"
ROLLBACK = "dunebugger-rollback@core.service"


def update_to(h: Harness, gh: GithubStandin, version: str) -> None:
    """Publish the release as the latest, check, then start the real update unit (and wait for it)."""
    publish_all(gh, [version])
    h.run(["dunebugger-units", "check", "core"], timeout=60)
    h.systemctl("start", UPDATE, check=False, timeout=300)


def wait_for_rollback(h: Harness) -> None:
    """OnFailure= queues the rollback as the update fails: wait until it has run, not just for "inactive"."""

    def finished() -> bool:
        out = h.systemctl("show", ROLLBACK, "--property=InactiveExitTimestampMonotonic",
                          "--property=ActiveState").stdout
        props = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        return props["InactiveExitTimestampMonotonic"] != "0" and props["ActiveState"] in ("inactive", "failed")

    h.wait_for(finished, 180, f"{ROLLBACK} to run")



def assert_settings_kept(device: Device, uid: int) -> None:
    core = device.core_dir.resolve()
    for name, text in DEVICE_SETTINGS.items():
        assert (core / name).read_text() == text, name
        assert (core / name).stat().st_uid == uid, name


def main_pid(h: Harness) -> str:
    return service_props(h, "MainPID")["MainPID"]


def test_good_release_migrates_keeps_settings_and_restarts_once(core: Harness, gh: GithubStandin,
                                                               device: Device) -> None:
    h, uid = core, core.pi_uid  # type: ignore[attr-defined]
    before = main_pid(h)
    update_to(h, gh, "1.2.0")
    newest = history(h)[0]
    assert (newest["action"], newest["status"], newest["message"]) == ("update", "updated",
                                                                      "Updated core to 1.2.0"), newest
    assert [c["name"] for c in newest["checks"] if not c["ok"]] == []
    assert {"download", "archive", "disk space", "dunebugger.service stable", "health endpoint", "version"} <= {
        c["name"] for c in newest["checks"]}
    # disk: the plain dir became releases/1.0.0 (nothing lost), core is a link to releases/1.2.0
    releases = device.root / "opt/dunebugger/core.releases"
    assert device.core_dir.is_symlink() and device.core_dir.resolve() == releases / "1.2.0"
    old = releases / "1.0.0"
    assert (old / "logs/dunebugger.log").exists() and (old / ".venv/bin/python").exists()
    assert json.loads((old / "VERSION").read_text())["full_version"] == "1.0.0"
    assert_settings_kept(device, uid)
    new = releases / "1.2.0"
    assert (new / "app/config/commands.conf").exists()  # a default the device lacked is added
    assert owners(new) == {uid}
    backups = sorted((device.root / "opt/dunebugger/backups").glob("core.*.tar.gz"))
    assert len(backups) == 1 and backups[0].stat().st_uid == uid
    # systemd: one stop and one start, no crash restart; the new code answers
    props = service_props(h, "ActiveState", "NRestarts", "MainPID")
    assert (props["ActiveState"], props["NRestarts"]) == ("active", "0")
    assert props["MainPID"] != before
    body = wait_healthy(h, "1.2.0")
    assert body["show"] == "Presepe di Marco" and body["dep"] == "hello from the wheelhouse"
    state = json.loads(h.path("/var/lib/dunebugger-units/state.json").read_text())["components"]["core"]
    assert state["current"] == "1.2.0"
    shown = json.loads(h.run(["dunebugger-units", "status", "--json"]).stdout)["components"]["core"]
    assert (shown["current"], shown["update_available"]) == ("1.2.0", False)
    # journal
    done = h.journal(f"MESSAGE_ID={journal.UPDATE_SUCCEEDED}", "COMPONENT=core")
    assert done and done[-1]["TO_VERSION"] == "1.2.0"
    phases = [e.get("PHASE") for e in h.journal("COMPONENT=core", "SYSLOG_IDENTIFIER=dunebugger-update")]
    assert "downloading 100%" in phases and "switching" in phases
    # requirements unchanged: 1.0.0's installed packages serve 1.2.0's own venv, without pip
    assert "reusing the venv of 1.0.0 (requirements unchanged)" in phases, phases
    assert phases.index("reusing the venv of 1.0.0 (requirements unchanged)") < phases.index("switching")
    assert "installing requirements" not in phases
    assert not (new / ".venv").is_symlink() and (new / ".venv/bin/python").exists()


def test_crashing_release_is_rolled_back_to_the_previous_release(core: Harness, gh: GithubStandin,
                                                                device: Device) -> None:
    h, uid = core, core.pi_uid  # type: ignore[attr-defined]
    update_to(h, gh, "1.3.0")
    wait_for_rollback(h)
    results = history(h)
    rollback, update = results[0], results[1]
    assert (rollback["action"], rollback["status"]) == ("rollback", "rolled-back")
    assert rollback["message"] == "Post-update checks failed, rolled back to v1.0.0"
    assert (update["action"], update["status"]) == ("update", "failed")
    assert any(c["name"] == "dunebugger.service stable" and not c["ok"] for c in update["checks"])
    assert h.systemctl("show", "-P", "Result", UPDATE).stdout.strip() == "exit-code"
    releases = device.root / "opt/dunebugger/core.releases"
    assert device.core_dir.resolve() == releases / "1.0.0"
    assert not (releases / "1.3.0").exists()
    assert_settings_kept(device, uid)
    assert owners(releases / "1.0.0") == {uid}
    assert service_props(h, "ActiveState")["ActiveState"] == "active"
    wait_healthy(h, "1.0.0")
    assert not h.path("/var/lib/dunebugger-units/transaction.json").exists()
    assert h.journal(f"MESSAGE_ID={journal.ROLLBACK_SUCCEEDED}", "COMPONENT=core")


def test_uninstallable_requirement_changes_nothing_and_never_stops_core(core: Harness, gh: GithubStandin,
                                                                       device: Device) -> None:
    h, uid = core, core.pi_uid  # type: ignore[attr-defined]
    before = main_pid(h)
    update_to(h, gh, "1.4.0")
    newest = history(h)[0]
    assert (newest["action"], newest["status"]) == ("update", "failed")
    assert newest["message"].endswith("nothing was changed")
    assert "dunebugger-no-such-dep" in newest["message"]
    assert h.systemctl("show", "-P", "Result", UPDATE).stdout.strip() == "success"  # 75: no rollback
    assert h.systemctl("show", "-P", "ActiveState", ROLLBACK).stdout.strip() == "inactive"
    assert device.core_dir.is_dir() and not device.core_dir.is_symlink()  # not even migrated
    assert not (device.root / "opt/dunebugger/core.releases/1.4.0").exists()
    assert main_pid(h) == before  # no downtime at all
    assert_settings_kept(device, uid)
    wait_healthy(h, "1.0.0")
    failed = h.journal(f"MESSAGE_ID={journal.UPDATE_FAILED}", "COMPONENT=core")
    assert failed and "nothing was changed" in failed[-1]["MESSAGE"]


@pytest.mark.parametrize(("version", "why"), [("1.5.0", "does not match"), ("1.6.0", "unsafe archive")],
                         ids=["wrong-checksum", "unsafe-paths"])
def test_bad_archive_is_refused_before_anything_changes(core: Harness, gh: GithubStandin, device: Device,
                                                        version: str, why: str) -> None:
    h, uid = core, core.pi_uid  # type: ignore[attr-defined]
    before = main_pid(h)
    update_to(h, gh, version)
    newest = history(h)[0]
    assert (newest["action"], newest["status"]) == ("update", "refused")
    assert why in newest["message"]
    assert h.systemctl("show", "-P", "Result", UPDATE).stdout.strip() == "success"
    assert main_pid(h) == before
    assert device.core_dir.is_dir() and not device.core_dir.is_symlink()
    assert not (device.root / "opt/dunebugger/core.releases").exists()
    assert not (device.root / "opt/dunebugger/escaped.txt").exists()
    assert not h.path("/tmp/absolute.txt").exists()
    assert not h.path(f"/var/lib/dunebugger-units/downloads/core/{asset(version)}").exists()
    assert_settings_kept(device, uid)
    wait_healthy(h, "1.0.0")


def test_interrupted_download_resumes_with_range(core: Harness, gh: GithubStandin, device: Device) -> None:
    h = core
    publish_all(gh, ["1.2.0"])
    path = f"/download/dunebugger/v1.2.0/{asset('1.2.0')}"
    gh.drop_after[path] = len(gh.blobs[path]) // 2
    h.run(["dunebugger-units", "check", "core"], timeout=60)
    h.systemctl("start", UPDATE, check=False, timeout=300)
    assert history(h)[0]["status"] == "updated"
    ranges = [s.headers.get("range") for s in gh.seen if s.path == path]  # not the .sha256 beside it
    assert ranges[0] is None and ranges[1] == f"bytes={len(gh.blobs[path]) // 2}-"
    wait_healthy(h, "1.2.0")


def test_dry_run_plans_the_migration_and_changes_nothing(core: Harness, gh: GithubStandin,
                                                         device: Device) -> None:
    h = core
    publish_all(gh, ["1.2.0"])
    h.run(["dunebugger-units", "check", "core"], timeout=60)
    before = main_pid(h)
    out = json.loads(h.run(["dunebugger-units", "run-update", "core", "--dry-run", "--json"], timeout=120).stdout)
    assert out["status"] == "dry-run"
    plan = out["plan"]
    assert plan["migrate_plain_install_dir_to"] == "/opt/dunebugger/core.releases/1.0.0"
    assert plan["release_dir"] == "/opt/dunebugger/core.releases/1.2.0"
    assert set(DEVICE_SETTINGS) <= set(plan["settings_kept_from_device"])
    assert device.core_dir.is_dir() and not device.core_dir.is_symlink()
    assert main_pid(h) == before
    assert plan["restart"] == SERVICE


def test_rollback_restores_from_the_tarball_backup_when_the_previous_release_is_gone(
        core: Harness, gh: GithubStandin, device: Device) -> None:
    h, uid = core, core.pi_uid  # type: ignore[attr-defined]
    # hold the automatic rollback back, so that the previous release can vanish before it runs
    h.systemctl("mask", "--runtime", ROLLBACK)
    update_to(h, gh, "1.3.0")
    assert history(h)[0]["status"] == "failed"
    releases = device.root / "opt/dunebugger/core.releases"
    shutil.rmtree(releases / "1.0.0")
    h.systemctl("unmask", "--runtime", ROLLBACK)
    h.systemctl("start", ROLLBACK, check=False, timeout=300)
    newest = history(h)[0]
    assert (newest["action"], newest["status"]) == ("rollback", "rolled-back"), newest
    assert device.core_dir.resolve() == releases / "1.0.0"
    assert (releases / "1.0.0/.venv/bin/python").exists()
    assert (releases / "1.0.0/logs/dunebugger.log").exists()
    assert_settings_kept(device, uid)
    assert owners(releases / "1.0.0") == {uid}
    wait_healthy(h, "1.0.0")
    phases = [e.get("PHASE") for e in h.journal("COMPONENT=core", "SYSLOG_IDENTIFIER=dunebugger-rollback")]
    assert "restoring from backup" in phases
