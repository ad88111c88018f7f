"""Rollback of one component after a failed update (started by OnFailure=, or by a person).

It restores what the transaction record names, restarts, re-checks and reports. If that fails it says
"manual intervention required" loudly, keeps the record for a person, and exits 4: the rollback unit has
no OnFailure= and no Restart=, so nothing loops.
"""

from __future__ import annotations

import os
from pathlib import Path

from .. import journal, state, transaction
from ..config import Config
from ..errors import Refused, UnitsError
from ..results import Status, UpdateResult, first_failure
from .base import Kind, UpdateContext
from .preflight import validate_instance
from .update import connect_systemd, context_from_transaction, guarded, load_kind, new_result, record_installed


def run_rollback(config: Config, name: str) -> UpdateResult:
    result = new_result(name, "rollback")
    state_dir = Path(config.state_dir)
    guarded(result, state_dir, f"{name} (rollback)", lambda: _rollback_locked(config, name, result),
            first=lambda: validate_instance(config, name))
    if state_dir.is_dir():
        state.record_result(state_dir, result.to_dict(), mirror=name in config.components)
    report_rollback(result)
    return result


def _rollback_locked(config: Config, name: str, result: UpdateResult) -> None:
    state_dir = Path(config.state_dir)
    txn = transaction.load(state_dir)
    if txn is None or txn.component != name:
        raise Refused(f"rolling back {name}: there is no unfinished update of {name}")
    result.from_version, result.to_version = txn.to_version, txn.from_version
    failed_run = os.environ.get("MONITOR_INVOCATION_ID")
    if failed_run:
        result.plan = {"failed_invocation_id": failed_run,
                       "failed_service_result": os.environ.get("MONITOR_SERVICE_RESULT")}
    systemd, bus_error = connect_systemd()
    ctx = context_from_transaction(config, txn, systemd)
    try:
        if systemd is None:
            raise UnitsError(f"rolling back {name}: {bus_error}")
        ctx.progress("rolling back")
        restore_and_recheck(load_kind(ctx.component), ctx, txn, result)
    except UnitsError as exc:
        needs_manual(state_dir, txn, result, f"Rollback of {name} to {txn.from_version} failed: {exc}")
        return
    finally:
        if systemd is not None:
            systemd.close()
    monitored = os.environ.get("MONITOR_SERVICE_RESULT")
    # a killed update never recorded why it failed: systemd's word for how it ended says it
    why = txn.failure or (f"Update ended with {monitored!r}" if monitored and monitored != "exit-code"
                          else "Update failed")
    rolled_back(state_dir, txn, result, why)


def restore_and_recheck(kind: Kind, ctx: UpdateContext, txn: transaction.Transaction,
                        result: UpdateResult) -> None:
    """Restore through the kind and re-check; UnitsError when the restore or a required re-check fails."""
    outcomes = kind.rollback(ctx, txn)
    result.checks += outcomes
    failed = first_failure(outcomes)
    if failed is not None:
        raise UnitsError(f"re-check after rollback failed: {failed.line()}")


def needs_manual(state_dir: Path, txn: transaction.Transaction, result: UpdateResult, what: str) -> None:
    """Keep the transaction for a person and say so; nothing retries it."""
    txn.status = "needs-manual"
    transaction.save(state_dir, txn)
    result.status = Status.NEEDS_MANUAL
    result.message = f"{what}: manual intervention required"


def rolled_back(state_dir: Path, txn: transaction.Transaction, result: UpdateResult, why: str) -> None:
    transaction.clear(state_dir)
    record_installed(state_dir, txn.component, txn.from_version)
    result.status = Status.ROLLED_BACK
    result.message = f"{why}, rolled back to v{txn.from_version}"


def report_rollback(result: UpdateResult) -> None:
    fields = {"component": result.component, "phase": "rollback", "from_version": result.from_version,
              "to_version": result.to_version, "status": result.status.value}
    if result.status is Status.ROLLED_BACK:
        journal.event(result.message, journal.Priority.WARNING, journal.ROLLBACK_SUCCEEDED, **fields)
    elif result.status is Status.NEEDS_MANUAL:
        journal.event(result.message, journal.Priority.CRIT, journal.ROLLBACK_FAILED, **fields)
    else:
        journal.event(f"{result.component}: {result.message}", journal.Priority.WARNING, **fields)
