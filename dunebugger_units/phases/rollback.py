"""Rollback of one component: after a failed update (started by OnFailure=), or on request (a person, or the
remote) back to the version before the last successful update.

It restores what the transaction record names, restarts, re-checks and reports. Every step is idempotent and
the record stays until the rollback has finished, so a rollback cut off by a kill or a power cut is run again
(at boot by the recovery, or by `dunebugger-units rollback`). Only a rollback that ran to its end and still
failed its checks says "manual intervention required", keeps the record for a person and exits 4; the
rollback unit has no OnFailure= and no Restart=, so nothing loops. How a run that changed the device ends is
in endings.py, shared with the update and the recovery at boot.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .. import state, transaction
from ..config import ComponentConfig, Config
from ..device import read_current_version
from ..errors import Refused, UnitsError
from ..results import Action, Status, UpdateResult
from ..transaction import Step, TxnStatus
from .endings import needs_manual, require_bus, restore_and_recheck, rolled_back
from .run import Run, error_line, execute, now_iso

REQUESTED = "Rollback requested"


def run_rollback(config: Config, name: str, *, force: bool = False) -> UpdateResult:
    """`force` (the operator's `rollback --force`) overrides a hold and the show lock, for a rollback on
    request; the rollback that finishes a failed update never asks them."""

    def gate(component: ComponentConfig, _result: UpdateResult) -> None:
        if on_request(config):
            from .update import refuse_by_policy

            refuse_by_policy(config, component.name, force, command="rollback")

    return execute(config, name, Action.ROLLBACK, _rollback, gate)


def on_request(config: Config) -> bool:
    """A rollback nobody's failed update asked for: not started by OnFailure=, and no unfinished update to
    finish (that one always runs: the device is half-way already)."""
    return not os.environ.get("MONITOR_INVOCATION_ID") and transaction.load(Path(config.state_dir)) is None


def _rollback(run: Run) -> None:
    name, result = run.component.name, run.result
    txn = transaction.load(run.state_dir)
    if txn is not None and txn.component != name:
        raise Refused(f"rolling back {name}: the unfinished update of {txn.component} must be resolved first: "
                      f"dunebugger-units rollback {txn.component}")
    # OnFailure= names the failed run: the remote finds this rollback by it
    monitored = os.environ.get("MONITOR_SERVICE_RESULT")
    result.failed_invocation_id = os.environ.get("MONITOR_INVOCATION_ID") or None
    result.failed_service_result = monitored if result.failed_invocation_id else None
    if txn is None and result.failed_invocation_id:
        nothing_to_roll_back(run, f"the failed update of {name} changed nothing")
        return
    if txn is not None and not txn.changed:
        transaction.clear(run.state_dir)
        nothing_to_roll_back(run, f"the update of {name} to {txn.to_version} had changed nothing")
        return
    if txn is None:
        txn = requested_transaction(run)  # Refused, with nothing written, when there is nowhere to go
        require_bus(run, None)
        transaction.save(run.state_dir, txn)
    else:
        require_bus(run, txn)
    result.from_version, result.to_version = txn.to_version, txn.from_version
    ctx = run.context(txn.from_version, txn.to_version)
    try:
        ctx.progress("rolling back")
        restore_and_recheck(run.kind, ctx, txn, result)
    except (UnitsError, OSError) as exc:
        needs_manual(run.state_dir, txn, result, f"Rollback of {name} to {txn.from_version} failed: {error_line(exc)}")
        return
    # a killed update never recorded why it failed: systemd's word for how it ended says it
    why = txn.failure or (f"Update ended with {monitored!r}" if monitored and monitored != "exit-code"
                          else "Update failed")
    rolled_back(run.state_dir, txn, result, why)


def nothing_to_roll_back(run: Run, why: str) -> None:
    """A failed or cancelled run that changed nothing: clean up what it may have half-staged, and succeed."""
    run.kind.cleanup(run.unversioned_context())
    run.result.status = Status.UNCHANGED
    run.result.message = f"Nothing to roll back: {why}"


def requested_transaction(run: Run) -> transaction.Transaction:
    """A rollback on request, as a transaction: the caller saves it before anything changes (so that a power
    cut half-way is finished at boot like any other rollback)."""
    name = run.component.name
    previous: dict[str, Any] | None = state.load_state(run.state_dir)["components"].get(name, {}).get("previous")
    if not isinstance(previous, dict) or not previous.get("version"):
        raise Refused(f"rolling back {name}: there is no previous version to return to (no update of {name} "
                      "has succeeded since the last rollback)")
    current = read_current_version(run.config, run.component)
    if current != previous.get("installed"):
        raise Refused(f"rolling back {name}: {current} is installed, not the {previous.get('installed')} the last "
                      f"update installed; the previous version is not known")
    ctx = run.context(str(previous["version"]), current)
    backups = run.kind.backups_for_requested_rollback(ctx, previous)
    txn = transaction.Transaction(component=name, kind=run.component.type, from_version=str(previous["version"]),
                                  to_version=current, step=Step.APPLIED, started_at=now_iso(),
                                  invocation_id=run.result.invocation_id, backups={**backups, "on_request": True},
                                  status=TxnStatus.FAILED, failure=REQUESTED)
    return txn
