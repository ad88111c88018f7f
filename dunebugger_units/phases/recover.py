"""Recovery at boot: finish or roll back an update that a power cut (or a kill) interrupted.

If the transaction reached "applied" (every change made), the new version is judged by the kind's post-checks:
healthy means the update is finished and recorded; anything else, or an earlier step, is rolled back. A
transaction a person must look at ("needs-manual") is reported again and left alone: never a loop.
"""

from __future__ import annotations

from pathlib import Path

from .. import journal, state, transaction
from ..config import Config
from ..errors import UnitsError
from ..results import Status, UpdateResult, first_failure
from .base import Kind, UpdateContext
from .rollback import needs_manual, restore_and_recheck, rolled_back
from .update import connect_systemd, context_from_transaction, guarded, load_kind, new_result, record_installed


def decide_recovery(txn: transaction.Transaction) -> str:
    """Pure: "none" (nothing changed yet), "finish" (complete: verify it), "rollback" or "manual"."""
    if txn.status == "needs-manual":
        return "manual"
    if txn.step == "started":
        return "none"
    if txn.step in (transaction.APPLIED, transaction.VERIFIED) and txn.status == "pending":
        return "finish"
    return "rollback"


def run_recovery(config: Config) -> UpdateResult | None:
    """None when there is no interrupted update; otherwise the recorded result of the recovery."""
    state_dir = Path(config.state_dir)
    txn = transaction.load(state_dir)
    if txn is None:
        return None
    result = new_result(txn.component, "recovery", from_version=txn.from_version, to_version=txn.to_version)
    guarded(result, state_dir, f"{txn.component} (recovery)", lambda: _recover_locked(config, txn, result))
    state.record_result(state_dir, result.to_dict())
    priority = journal.Priority.CRIT if result.status is Status.NEEDS_MANUAL else journal.Priority.WARNING
    journal.event(result.message, priority, journal.RECOVERY, component=txn.component, phase="recovery",
                  from_version=txn.from_version, to_version=txn.to_version, status=result.status.value,
                  step=txn.step)
    return result


def _recover_locked(config: Config, txn: transaction.Transaction, result: UpdateResult) -> None:
    state_dir = Path(config.state_dir)
    name = txn.component
    decision = decide_recovery(txn)
    if decision == "manual":
        result.status = Status.NEEDS_MANUAL
        result.message = (f"An earlier rollback of {name} to {txn.from_version} failed: "
                          "manual intervention required")
        return
    if decision == "none":
        transaction.clear(state_dir)
        result.status = Status.UNCHANGED
        result.message = f"An update of {name} was interrupted before any change; nothing to recover"
        return
    systemd, bus_error = connect_systemd()
    ctx = context_from_transaction(config, txn, systemd)
    kind = load_kind(ctx.component)
    try:
        if systemd is None:
            raise UnitsError(f"recovering {name}: {bus_error}")
        if decision == "finish" and _finish(ctx, kind, txn, result):
            return
        txn.failure = txn.failure or f"An update of {name} was interrupted at step {txn.step!r}"
        restore_and_recheck(kind, ctx, txn, result)
    except UnitsError as exc:
        needs_manual(state_dir, txn, result, f"Recovery of {name} failed: {exc}")
        return
    finally:
        if systemd is not None:
            systemd.close()
    rolled_back(state_dir, txn, result, txn.failure)


def _finish(ctx: UpdateContext, kind: Kind, txn: transaction.Transaction, result: UpdateResult) -> bool:
    """The interrupted update made every change: keep it if it passes the post-checks."""
    outcomes = kind.verify(ctx)
    result.checks += outcomes
    if first_failure(outcomes) is not None:
        txn.failure = "An interrupted update failed its post-update checks"
        return False
    kind.commit(ctx, txn)
    state_dir = Path(ctx.state_dir)
    transaction.clear(state_dir)
    record_installed(state_dir, ctx.component.name, ctx.to_version)
    result.status = Status.UPDATED
    result.message = f"Updated {ctx.component.name} to {ctx.to_version} (finished after an interruption)"
    return True
