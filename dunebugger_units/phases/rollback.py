"""Rollback of one component after a failed update (started by OnFailure=, or by a person).

It restores what the transaction record names, restarts, re-checks and reports. If that fails it says
"manual intervention required" loudly, keeps the record for a person, and exits 4: the rollback unit has
no OnFailure= and no Restart=, so nothing loops. The recovery at boot shares `restore_and_recheck`,
`needs_manual` and `rolled_back`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .. import state, transaction
from ..config import Config
from ..errors import Refused, UnitsError
from ..kinds import kind_of
from ..kinds.base import Kind, UpdateContext
from ..results import Action, Status, UpdateResult, first_failure
from ..transaction import TxnStatus
from .run import Run, execute, explain


def run_rollback(config: Config, name: str) -> UpdateResult:
    return execute(config, name, Action.ROLLBACK, _rollback)


def _rollback(run: Run) -> None:
    name, result = run.component.name, run.result
    txn = transaction.load(run.state_dir)
    if txn is None or txn.component != name:
        raise Refused(f"rolling back {name}: there is no unfinished update of {name}")
    result.from_version, result.to_version = txn.to_version, txn.from_version
    monitored = os.environ.get("MONITOR_SERVICE_RESULT")
    if os.environ.get("MONITOR_INVOCATION_ID"):
        result.plan = {"failed_invocation_id": os.environ["MONITOR_INVOCATION_ID"],
                       "failed_service_result": monitored}
    ctx = run.context(txn.from_version, txn.to_version)
    try:
        if run.systemd is None:
            raise UnitsError(f"rolling back {name}: {run.bus_error}")
        ctx.progress("rolling back")
        restore_and_recheck(kind_of(run.component.type), ctx, txn, result)
    except (UnitsError, OSError) as exc:
        needs_manual(run.state_dir, txn, result, f"Rollback of {name} to {txn.from_version} failed: {explain(exc)}")
        return
    # a killed update never recorded why it failed: systemd's word for how it ended says it
    why = txn.failure or (f"Update ended with {monitored!r}" if monitored and monitored != "exit-code"
                          else "Update failed")
    rolled_back(run.state_dir, txn, result, why)


def restore_and_recheck(kind: Kind[Any], ctx: UpdateContext, txn: transaction.Transaction,
                        result: UpdateResult) -> None:
    """Restore through the kind and re-check; UnitsError when the restore or a required re-check fails."""
    result.changed = True
    outcomes = kind.rollback(ctx, txn)
    result.checks += outcomes
    failed = first_failure(outcomes)
    if failed is not None:
        raise UnitsError(f"re-check after rollback failed: {failed.line()}")


def needs_manual(state_dir: Path, txn: transaction.Transaction, result: UpdateResult, what: str) -> None:
    """Keep the transaction for a person and say so; nothing retries it."""
    txn.status = TxnStatus.NEEDS_MANUAL
    transaction.save(state_dir, txn)
    result.status = Status.NEEDS_MANUAL
    result.message = f"{what}: manual intervention required"


def rolled_back(state_dir: Path, txn: transaction.Transaction, result: UpdateResult, why: str) -> None:
    transaction.clear(state_dir)
    state.record_installed(state_dir, txn.component, txn.from_version)
    result.status = Status.ROLLED_BACK
    result.message = f"{why}, rolled back to v{txn.from_version}"
