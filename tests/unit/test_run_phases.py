"""Update, dry run, rollback, recovery and cancel, through the run skeleton (phases/run.execute), in seconds.

The component is of a kind that exists only in the tests (kits/filekind.py: one plain file), registered into
kinds.KINDS by the test itself; the bus, the journal and GitHub's answer are fakes (kits/fastkit.py). The
phases, the transaction record, the state dir and the results are the real ones. The system tier proves the
same paths with real systemd, D-Bus and docker.
"""

from __future__ import annotations

import json
import re
import signal
import threading
from pathlib import Path

import pytest
from kits.fastkit import FastWorld, PowerCut, fast_world
from kits.filekind import TYPE, register_file_kind

from dunebugger_units import journal, state, transaction
from dunebugger_units.config import parse_config
from dunebugger_units.errors import Cancelled, ConfigError, ExitCode
from dunebugger_units.holds import set_hold
from dunebugger_units.manifest import load_manifest_text
from dunebugger_units.phases.recover import run_recovery
from dunebugger_units.phases.rollback import run_rollback
from dunebugger_units.phases.update import run_update
from dunebugger_units.results import Action, Status
from dunebugger_units.transaction import Step, TxnStatus


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FastWorld:
    return fast_world(monkeypatch, tmp_path)


# ---- a kind added in the tests only -----------------------------------------------------------------------


def test_the_configuration_takes_a_kind_from_kinds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    raw = {"components": {"notes": {"type": TYPE, "repo": "notes", "path": "/srv/notes.txt", "source": "/srv/r"}}}
    with pytest.raises(ConfigError, match=re.escape(f"components.notes.type: unknown component type '{TYPE}'")):
        parse_config(raw)
    register_file_kind(monkeypatch)
    notes = parse_config(raw).components["notes"]
    assert (notes.type, dict(notes.settings)) == (TYPE, {"path": "/srv/notes.txt", "source": "/srv/r"})
    with pytest.raises(ConfigError, match=re.escape("components.notes.source: required for a plain_file component")):
        parse_config({"components": {"notes": {"type": TYPE, "repo": "notes", "path": "/srv/notes.txt"}}})
    with pytest.raises(ConfigError, match=re.escape("components.notes.path: expected an absolute path")):
        parse_config({"components": {"notes": {"type": TYPE, "repo": "notes", "path": "notes", "source": "/r"}}})
    with pytest.raises(ConfigError, match=re.escape("components.notes.compose_service: unknown key")):
        parse_config({"components": {"notes": {"type": TYPE, "repo": "n", "path": "/n", "source": "/r",
                                               "compose_service": "x"}}})
    assert load_manifest_text(f"component_type: {TYPE}".encode(), "test").component_type == TYPE


# ---- update and dry run -----------------------------------------------------------------------------------


def test_an_update_installs_records_and_reports(world: FastWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVOCATION_ID", "inv-update")
    world.publish("2.0.0", "notes 2.0.0\n")
    result = run_update(world.config, world.name, version="2.0.0")
    assert (result.status, result.exit_code(), result.message) == (Status.UPDATED, ExitCode.OK,
                                                                   "Updated notes to 2.0.0")
    assert (result.from_version, result.to_version, result.invocation_id) == ("1.0.0", "2.0.0", "inv-update")
    assert [c.name for c in result.checks] == ["state dir", "system bus", "remote first", "release file",
                                               "disk space", "content", "version"]
    assert world.installed() == ("notes 2.0.0\n", "2.0.0")
    assert transaction.load(world.state_dir) is None
    record = state.load_state(world.state_dir)["components"]["notes"]
    assert record["previous"]["version"] == "1.0.0" and record["last_result"]["status"] == "updated"
    assert world.message_ids() == [journal.UPDATE_STARTED, journal.UPDATE_SUCCEEDED]
    assert "notes: writing the file" in world.status_texts
    assert (world.systemd.connects, world.systemd.closes) == (1, 1)


def test_a_dry_run_describes_the_plan_and_changes_nothing(world: FastWorld) -> None:
    world.publish("2.0.0", "notes 2.0.0\n")
    result = run_update(world.config, world.name, version="2.0.0", dry_run=True)
    assert (result.status, result.action, result.exit_code()) == (Status.DRY_RUN, Action.DRY_RUN, ExitCode.OK)
    assert result.plan["copy"] == str(world.root / "releases/2.0.0")
    assert result.plan["to"] == str(world.target)
    assert world.installed() == ("notes 1.0.0\n", "1.0.0")
    assert not (world.root / "backups").exists()
    assert journal.UPDATE_STARTED not in world.message_ids()


@pytest.mark.parametrize(("version", "status", "code", "words"), [
    pytest.param("1.0.0", Status.UNCHANGED, ExitCode.OK, "1.0.0 is already installed", id="installed"),
    pytest.param("3.0.0", Status.REFUSED, ExitCode.REFUSED, "release file", id="no-release"),
    pytest.param("x.y", Status.REFUSED, ExitCode.REFUSED, "'x.y' is not a version", id="not-a-version"),
])
def test_what_needs_no_update_changes_nothing(world: FastWorld, version: str, status: Status, code: ExitCode,
                                              words: str) -> None:
    result = run_update(world.config, world.name, version=version)
    assert (result.status, result.exit_code(), result.changed) == (status, code, False)
    assert words in result.message
    assert world.installed() == ("notes 1.0.0\n", "1.0.0")
    assert transaction.load(world.state_dir) is None


def test_without_the_bus_the_update_is_refused(world: FastWorld) -> None:
    world.systemd.unreachable = "connecting to the system bus: no such file"
    world.publish("2.0.0", "notes 2.0.0\n")
    result = run_update(world.config, world.name, version="2.0.0")
    assert (result.status, result.exit_code()) == (Status.REFUSED, ExitCode.REFUSED)
    assert result.message == "pre-update check failed: system bus: connecting to the system bus: no such file"


# ---- a failed update, and the rollback OnFailure= starts ----------------------------------------------------


def test_a_failed_post_check_is_rolled_back(world: FastWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    world.publish("2.0.0", "broken notes\n")
    failed = run_update(world.config, world.name, version="2.0.0")
    assert (failed.status, failed.changed, failed.exit_code()) == (Status.FAILED, True, ExitCode.UPDATE_FAILED)
    assert failed.message == "Post-update checks failed: content: broken notes; rolling back to 1.0.0"
    record = transaction.load(world.state_dir)
    assert record is not None and (record.status, record.failure) == (TxnStatus.FAILED, "Post-update checks failed")

    monkeypatch.setenv("MONITOR_INVOCATION_ID", "inv-failed")
    monkeypatch.setenv("MONITOR_SERVICE_RESULT", "exit-code")
    back = run_rollback(world.config, world.name)
    assert (back.status, back.exit_code()) == (Status.ROLLED_BACK, ExitCode.OK)
    assert back.message == "Post-update checks failed, rolled back to v1.0.0"
    assert (back.failed_invocation_id, back.failed_service_result) == ("inv-failed", "exit-code")
    assert json.loads(json.dumps(back.to_dict()))["failed_invocation_id"] == "inv-failed"
    assert world.installed() == ("notes 1.0.0\n", "1.0.0")
    assert transaction.load(world.state_dir) is None
    assert world.message_ids()[-2:] == [journal.UPDATE_FAILED, journal.ROLLBACK_SUCCEEDED]


def test_a_rollback_that_fails_its_restore_needs_a_person(world: FastWorld) -> None:
    world.publish("2.0.0", "broken notes\n")
    run_update(world.config, world.name, version="2.0.0")
    for backup in (world.root / "backups").iterdir():
        backup.unlink()
    back = run_rollback(world.config, world.name)
    assert (back.status, back.exit_code()) == (Status.NEEDS_MANUAL, ExitCode.ROLLBACK_FAILED)
    assert back.message.endswith("is gone: manual intervention required")
    record = transaction.load(world.state_dir)
    assert record is not None and record.status is TxnStatus.NEEDS_MANUAL
    again = run_recovery(world.config)
    assert again is not None and again.status is Status.NEEDS_MANUAL  # reported again, never retried


def test_a_rollback_after_a_run_that_changed_nothing_says_so(world: FastWorld,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_INVOCATION_ID", "inv-refused")
    back = run_rollback(world.config, world.name)
    assert (back.status, back.exit_code()) == (Status.UNCHANGED, ExitCode.OK)
    assert back.message == "Nothing to roll back: the failed update of notes changed nothing"


# ---- a rollback on request ----------------------------------------------------------------------------------


def test_a_rollback_on_request_returns_to_the_previous_version_once(world: FastWorld) -> None:
    world.publish("2.0.0", "notes 2.0.0\n")
    run_update(world.config, world.name, version="2.0.0")
    back = run_rollback(world.config, world.name)
    assert (back.status, back.message) == (Status.ROLLED_BACK, "Rollback requested, rolled back to v1.0.0")
    assert (back.from_version, back.to_version, back.failed_invocation_id) == ("2.0.0", "1.0.0", None)
    assert world.installed() == ("notes 1.0.0\n", "1.0.0")
    again = run_rollback(world.config, world.name)
    assert (again.status, again.exit_code()) == (Status.REFUSED, ExitCode.REFUSED)
    assert "there is no previous version to return to" in again.message


def test_a_rollback_on_request_obeys_a_hold_unless_forced(world: FastWorld) -> None:
    world.publish("2.0.0", "notes 2.0.0\n")
    run_update(world.config, world.name, version="2.0.0")
    set_hold(world.state_dir, world.name, True)
    held = run_rollback(world.config, world.name)
    assert (held.status, held.exit_code()) == (Status.REFUSED, ExitCode.REFUSED)
    assert held.message == ("rolling back notes: notes is held: `dunebugger-units unhold notes`, or roll it back "
                            "anyway with `dunebugger-units rollback notes --force`")
    assert world.installed() == ("notes 2.0.0\n", "2.0.0")
    assert world.systemd.connects == 1  # the update's: the refusal came before the lock and the bus
    forced = run_rollback(world.config, world.name, force=True)
    assert (forced.status, world.installed()) == (Status.ROLLED_BACK, ("notes 1.0.0\n", "1.0.0"))


def test_the_rollback_after_a_failed_update_runs_even_when_held(world: FastWorld,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    world.publish("2.0.0", "broken notes\n")
    run_update(world.config, world.name, version="2.0.0")
    set_hold(world.state_dir, world.name, True)
    # a person finishing it by hand, then OnFailure='s own start: neither asks the hold
    back = run_rollback(world.config, world.name)
    assert (back.status, world.installed()) == (Status.ROLLED_BACK, ("notes 1.0.0\n", "1.0.0"))
    world.publish("2.1.0", "broken notes\n")
    set_hold(world.state_dir, world.name, False)
    run_update(world.config, world.name, version="2.1.0")
    set_hold(world.state_dir, world.name, True)
    monkeypatch.setenv("MONITOR_INVOCATION_ID", "inv-failed")
    assert run_rollback(world.config, world.name).status is Status.ROLLED_BACK


def test_nothing_changes_while_the_package_changes(world: FastWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    flag = world.root / "package-changing"
    monkeypatch.setattr(state, "PACKAGE_CHANGING", flag)
    flag.touch()
    world.publish("2.0.0", "notes 2.0.0\n")
    refused = run_update(world.config, world.name, version="2.0.0")
    assert (refused.status, refused.exit_code()) == (Status.REFUSED, ExitCode.REFUSED)
    assert "the dunebugger-units package is being upgraded or removed (dpkg)" in refused.message
    assert world.installed() == ("notes 1.0.0\n", "1.0.0")
    flag.unlink()
    assert run_update(world.config, world.name, version="2.0.0").status is Status.UPDATED


# ---- cancel -------------------------------------------------------------------------------------------------


def test_a_stop_after_a_change_is_rolled_back(world: FastWorld) -> None:
    assert threading.current_thread() is threading.main_thread()  # else SIGTERM would end the test process
    world.publish("2.0.0", "notes 2.0.0\n")
    world.kind.hooks["written"] = lambda: signal.raise_signal(signal.SIGTERM)
    handler = signal.getsignal(signal.SIGTERM)
    stopped = run_update(world.config, world.name, version="2.0.0")
    assert (stopped.status, stopped.changed, stopped.exit_code()) == (Status.CANCELLED, True,
                                                                      ExitCode.UPDATE_FAILED)
    assert stopped.message == ("The update of notes was cancelled (stopped by SIGTERM) after it had changed the "
                               "device; rolling back to 1.0.0")
    assert signal.getsignal(signal.SIGTERM) == handler  # the run's own handler is gone
    back = run_rollback(world.config, world.name)
    assert (back.status, back.message) == (Status.ROLLED_BACK, "Update cancelled, rolled back to v1.0.0")
    assert world.installed() == ("notes 1.0.0\n", "1.0.0")


def test_a_stop_before_a_change_changes_nothing(world: FastWorld) -> None:
    world.publish("2.0.0", "notes 2.0.0\n")

    def stop() -> None:
        raise Cancelled("stopped by SIGTERM")

    world.kind.hooks["prepare"] = stop
    stopped = run_update(world.config, world.name, version="2.0.0")
    assert (stopped.status, stopped.changed, stopped.exit_code()) == (Status.CANCELLED, False, ExitCode.REFUSED)
    assert stopped.message == "The update of notes was cancelled (stopped by SIGTERM); nothing was changed"
    assert world.installed() == ("notes 1.0.0\n", "1.0.0")


# ---- recovery at boot ---------------------------------------------------------------------------------------


def test_a_power_cut_half_way_is_rolled_back_at_boot(world: FastWorld) -> None:
    world.publish("2.0.0", "notes 2.0.0\n")
    world.kind.hooks["written"] = world.cut_power
    with pytest.raises(PowerCut):
        run_update(world.config, world.name, version="2.0.0")
    world.undo_after_cut()
    assert world.installed() == ("notes 2.0.0\n", "1.0.0")  # the file written, its version not yet
    world.kind.hooks.clear()
    recovered = run_recovery(world.config)
    assert recovered is not None
    assert (recovered.action, recovered.status, recovered.exit_code()) == (Action.RECOVERY, Status.ROLLED_BACK,
                                                                           ExitCode.OK)
    assert recovered.message == "An update of notes was interrupted at step 'switching', rolled back to v1.0.0"
    assert world.installed() == ("notes 1.0.0\n", "1.0.0")
    assert world.message_ids()[-1] == journal.RECOVERY
    assert run_recovery(world.config) is None  # nothing left to recover


def test_a_power_cut_after_every_change_is_kept_when_healthy(world: FastWorld) -> None:
    world.publish("2.0.0", "notes 2.0.0\n")
    world.kind.hooks["verify"] = world.cut_power
    with pytest.raises(PowerCut):
        run_update(world.config, world.name, version="2.0.0")
    world.undo_after_cut()
    record = transaction.load(world.state_dir)
    assert record is not None and record.step is Step.APPLIED
    world.kind.hooks.clear()
    recovered = run_recovery(world.config)
    assert recovered is not None and recovered.status is Status.UPDATED
    assert recovered.message == "Updated notes to 2.0.0 (finished after an interruption)"
    assert world.installed() == ("notes 2.0.0\n", "2.0.0")
    assert state.load_state(world.state_dir)["components"]["notes"]["previous"]["version"] == "1.0.0"


def test_an_interrupted_update_that_changed_nothing_is_dropped_at_boot(world: FastWorld) -> None:
    transaction.save(world.state_dir, transaction.Transaction(component=world.name, kind=TYPE,
                                                              from_version="1.0.0", to_version="2.0.0"))
    recovered = run_recovery(world.config)
    assert recovered is not None and (recovered.status, recovered.exit_code()) == (Status.UNCHANGED, ExitCode.OK)
    assert transaction.load(world.state_dir) is None
