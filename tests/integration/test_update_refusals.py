"""The shared pipeline's refusals: each is recorded, exits 75 (no rollback) and changes nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from kits.devicekit import Device, publish_defaults
from kits.standin import GithubStandin

from dunebugger_units import state, transaction
from dunebugger_units.cli import main

CheckRun = Callable[..., tuple[int, str, str]]  # the check_as_user fixture (conftest.py)


@pytest.fixture
def config_file(tmp_path: Path, device: Device, standin: GithubStandin) -> Path:
    publish_defaults(standin)
    return device.write_config(tmp_path / "updater.yaml", standin.url)


def cli(config_file: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--config", str(config_file), *args])
    return result.exit_code, result.stdout


def test_unknown_instance_is_refused(config_file: Path, device: Device) -> None:
    code, out = cli(config_file, "run-update", "core;x", "--json")
    assert code == 75
    assert json.loads(out)["message"].startswith("refusing unit instance 'core;x'")
    assert not device.state_dir.exists()


def test_no_check_result_is_refused(config_file: Path, device: Device) -> None:
    before = device.compose_file.read_bytes()
    code, out = cli(config_file, "run-update", "scheduler", "--json")
    assert code == 75
    body = json.loads(out)
    assert body["status"] == "refused"
    assert "no check result yet" in body["message"]
    assert device.compose_file.read_bytes() == before


def test_up_to_date_is_refused(config_file: Path, device: Device, standin: GithubStandin,
                               check_as_user: CheckRun) -> None:
    standin.add_release("dunebugger-scheduler", "v1.0.0-beta.15", prerelease=True)
    check_as_user(config_file)
    code, out = cli(config_file, "run-update", "remote", "--json")
    assert code == 75
    assert "found no published release" in json.loads(out)["message"]


def test_second_update_is_told_who_holds_the_lock(config_file: Path, device: Device, check_as_user: CheckRun) -> None:
    check_as_user(config_file)
    with state.update_lock(device.state_dir, "scheduler"):
        code, out = cli(config_file, "run-update", "core", "--json")
    assert code == 75
    assert json.loads(out)["message"] == "update of scheduler in progress"


def test_unfinished_transaction_blocks_updates(config_file: Path, device: Device, check_as_user: CheckRun) -> None:
    check_as_user(config_file)
    transaction.save(device.state_dir, transaction.Transaction("scheduler", "container", "1.0.0", "1.2.0",
                                                               step=transaction.Step.COMPOSE_WRITING))
    code, out = cli(config_file, "run-update", "core", "--json")
    assert code == 75
    assert "unfinished update of scheduler" in json.loads(out)["message"]


def test_rollback_on_request_without_a_previous_version_says_so(config_file: Path, device: Device,
                                                                check_as_user: CheckRun) -> None:
    check_as_user(config_file)
    code, out = cli(config_file, "run-rollback", "scheduler", "--json")
    assert code == 75
    assert json.loads(out)["message"] == ("rolling back scheduler: there is no previous version to return to "
                                          "(no update of scheduler has succeeded since the last rollback)")


@pytest.mark.parametrize("txn", [None, transaction.Step.STARTED], ids=["no-record", "record-at-started"])
def test_the_rollback_after_a_run_that_changed_nothing_does_nothing_and_succeeds(
        config_file: Path, device: Device, monkeypatch: pytest.MonkeyPatch, txn: transaction.Step | None) -> None:
    monkeypatch.setenv("MONITOR_INVOCATION_ID", "0123456789abcdef0123456789abcdef")
    monkeypatch.setenv("MONITOR_SERVICE_RESULT", "signal")
    if txn is not None:
        transaction.save(device.state_dir, transaction.Transaction("scheduler", "container", "1.0.0", "1.2.0",
                                                                   step=txn, status=transaction.TxnStatus.FAILED))
    before = device.compose_file.read_bytes()
    code, out = cli(config_file, "run-rollback", "scheduler", "--json")
    assert code == 0
    body = json.loads(out)
    assert (body["status"], body["changed"]) == ("unchanged", False)
    assert body["message"].startswith("Nothing to roll back: the ")
    assert body["message"].endswith("changed nothing")
    assert device.compose_file.read_bytes() == before
    assert transaction.load(device.state_dir) is None


def test_a_rollback_of_another_component_waits_for_the_unfinished_one(config_file: Path, device: Device) -> None:
    transaction.save(device.state_dir, transaction.Transaction("core", "python_app", "1.0.0", "1.2.0",
                                                               step=transaction.Step.SWITCHED))
    code, out = cli(config_file, "run-rollback", "scheduler", "--json")
    assert code == 75
    assert "the unfinished update of core must be resolved first" in json.loads(out)["message"]


def test_history_lists_results_newest_first(config_file: Path, device: Device, check_as_user: CheckRun) -> None:
    check_as_user(config_file)
    cli(config_file, "run-update", "remote")
    cli(config_file, "run-rollback", "scheduler")
    code, out = cli(config_file, "history", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [(r["component"], r["action"]) for r in rows] == [("scheduler", "rollback"), ("remote", "update")]
    assert {"component", "action", "status", "success", "message", "dry_run", "checks", "plan"} <= set(rows[0])
    code, out = cli(config_file, "history", "--component", "remote", "--json")
    assert [r["component"] for r in json.loads(out)] == ["remote"]
    assert device.state()["components"]["remote"]["last_result"]["status"] == "refused"


def test_explicit_version_request_is_consumed_once(config_file: Path, device: Device) -> None:
    state.write_request(device.state_dir, "scheduler", "0.9.0")
    assert state.take_request(device.state_dir, "scheduler") == "0.9.0"
    assert state.take_request(device.state_dir, "scheduler") is None


@pytest.mark.parametrize("stale", [
    pytest.param({"boot_id": "another-boot"}, id="written-in-another-boot"),
    pytest.param({"written_boottime": 1.0}, id="written-long-ago-in-this-boot"),
    pytest.param({"written_boottime": None}, id="unstamped"),
])
def test_a_request_left_behind_steers_no_later_run(device: Device, stale: dict[str, object]) -> None:
    """A CLI killed between writing its request and starting its run leaves the request: a later run (an
    unattended update, the remote's) must not install what that person once asked for."""
    state.write_request(device.state_dir, "scheduler", "0.9.0")
    path = device.state_dir / state.REQUESTS_DIR / "scheduler.json"
    data = json.loads(path.read_text())
    assert {"version", "boot_id", "written_boottime"} <= set(data)
    path.write_text(json.dumps(data | stale))
    assert state.take_request(device.state_dir, "scheduler") is None
    assert not path.exists()  # and it is gone, not kept for yet another run


def test_status_and_check_say_an_update_is_unresolved(config_file: Path, device: Device,
                                                      check_as_user: CheckRun) -> None:
    check_as_user(config_file)
    transaction.save(device.state_dir, transaction.Transaction("core", "python_app", "1.0.0", "1.2.0",
                                                               step=transaction.Step.SWITCHED,
                                                               status=transaction.TxnStatus.NEEDS_MANUAL))
    code, out = cli(config_file, "status", "--json")
    assert code == 0
    unfinished = json.loads(out)["unfinished_update"]
    assert unfinished["component"] == "core"
    assert "needs manual intervention" in unfinished["message"]
    _code, _out, err = check_as_user(config_file)
    assert "the update of core from 1.0.0 to 1.2.0 needs manual intervention" in err


def test_a_rollback_that_cannot_start_is_no_manual_intervention(config_file: Path, device: Device,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/system_bus_socket")
    transaction.save(device.state_dir, transaction.Transaction("scheduler", "container", "1.0.0", "1.2.0",
                                                               step=transaction.Step.RECREATING,
                                                               status=transaction.TxnStatus.FAILED))
    code, out = cli(config_file, "run-rollback", "scheduler", "--json")
    assert code == 1  # the device was changed by the update: the rollback unit fails, visibly
    body = json.loads(out)
    assert (body["status"], body["changed"]) == ("failed", True)
    assert body["message"].endswith("; nothing was restored")
    left = transaction.load(device.state_dir)
    assert left is not None and left.status is transaction.TxnStatus.FAILED  # resumed at boot, not given up
