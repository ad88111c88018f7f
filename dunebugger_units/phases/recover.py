"""Recovery at boot: finish or roll back an update that a power cut (or a kill) interrupted.

If the transaction reached "applied" (every change made), the new version is judged by the kind's post-checks:
healthy means the update is finished and recorded; anything else, or an earlier step, is rolled back. A
transaction a person must look at ("needs-manual") is reported again and left alone: never a loop. The
decision itself is transaction.decide_recovery (pure).
"""

from __future__ import annotations

from pathlib import Path

from .. import transaction
from ..config import Config
from ..errors import StateError, UnitsError
from ..kinds.base import Kind, UpdateContext
from ..results import Action, Status, UpdateResult, first_failure
from ..transaction import Recovery
from .endings import kept, needs_manual, require_bus, restore_and_recheck, rolled_back
from .run import Run, error_line, execute


def run_recovery(config: Config) -> UpdateResult | None:
    """None when there is no interrupted update; otherwise the recorded result of the recovery."""
    txn = transaction.load(Path(config.state_dir))
    if txn is None:
        return None
    if txn.component not in config.components:
        raise StateError(f"the transaction record {transaction.transaction_path(Path(config.state_dir))} is for "
                         f"{txn.component!r}, which the configuration does not know: fix the configuration, or "
                         "check the device and move the record aside")
    return execute(config, txn.component, Action.RECOVERY, lambda run: _recover(run, txn))


def _recover(run: Run, txn: transaction.Transaction) -> None:
    name, result = txn.component, run.result
    result.from_version, result.to_version = txn.from_version, txn.to_version
    run.journal_fields["step"] = txn.step.value
    decision = transaction.decide_recovery(txn.step, txn.status, rolling_back=bool(txn.rollback_step))
    if decision is Recovery.MANUAL:
        result.status = Status.NEEDS_MANUAL
        result.message = (f"An earlier rollback of {name} to {txn.from_version} failed: "
                          "manual intervention required")
        return
    if decision is Recovery.NONE:
        transaction.clear(run.state_dir)
        run.kind.cleanup(run.context(txn.from_version, txn.to_version))
        result.status = Status.UNCHANGED
        result.message = f"An update of {name} was interrupted before any change; nothing to recover"
        return
    ctx = run.context(txn.from_version, txn.to_version)
    kind = run.kind
    require_bus(run, txn)
    try:
        if decision is Recovery.FINISH and keep_if_healthy(run, ctx, kind, txn):
            return
        txn.failure = txn.failure or f"An update of {name} was interrupted at step {txn.step.value!r}"
        restore_and_recheck(kind, ctx, txn, result)
    except (UnitsError, OSError) as exc:
        needs_manual(run.state_dir, txn, result, f"Recovery of {name} failed: {error_line(exc)}")
        return
    rolled_back(run.state_dir, txn, result, txn.failure)


def keep_if_healthy(run: Run, ctx: UpdateContext, kind: Kind, txn: transaction.Transaction) -> bool:
    """The interrupted update made every change: keep it if it passes the post-checks."""
    outcomes = kind.verify(ctx)
    run.result.checks += outcomes
    if first_failure(outcomes) is not None:
        txn.failure = "An interrupted update failed its post-update checks"
        return False
    kind.commit(ctx, txn)
    kept(run.state_dir, txn, run.result,
         f"Updated {ctx.component.name} to {ctx.to_version} (finished after an interruption)")
    return True
