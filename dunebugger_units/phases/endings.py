"""How a run that changed the device ends: the new version kept, the previous one restored, or the record kept
for a person. Shared by the update, the rollback and the recovery at boot.
"""

from __future__ import annotations

from pathlib import Path

from .. import state, transaction
from ..errors import UnitsError
from ..kinds.base import Kind, UpdateContext
from ..results import Status, UpdateResult, first_failure
from ..transaction import RollbackStep, TxnStatus
from ..versions import UNKNOWN
from .run import Run


def kept(state_dir: Path, txn: transaction.Transaction, result: UpdateResult, message: str) -> None:
    """The new version passed its post-checks and is committed: the record goes, the version is installed."""
    transaction.clear(state_dir)
    state.record_installed(state_dir, txn.component, txn.to_version)
    remember_previous(state_dir, txn)
    result.status = Status.UPDATED
    result.message = message


def remember_previous(state_dir: Path, txn: transaction.Transaction) -> None:
    """What `dunebugger-units rollback` returns to: the version this update replaced, and where it is kept."""
    known = txn.from_version != UNKNOWN
    state.set_previous(state_dir, txn.component, {"version": txn.from_version, "installed": txn.to_version,
                                                  "backups": txn.backups} if known else None)


def require_bus(run: Run, txn: transaction.Transaction | None) -> None:
    """Without the system bus a rollback cannot even start: no manual intervention for that (nothing was tried),
    and the record stays for the recovery at boot. Exit 1 when an update had changed the device, else 75."""
    if run.systemd is None:
        run.result.changed = txn is not None and txn.changed
        raise UnitsError(f"rolling back {run.component.name}: {run.bus_error}; nothing was restored")


def restore_and_recheck(kind: Kind, ctx: UpdateContext, txn: transaction.Transaction,
                        result: UpdateResult) -> None:
    """Restore through the kind and re-check; UnitsError when the restore or a required re-check fails."""
    result.changed = True
    transaction.advance_rollback(Path(ctx.state_dir), txn, RollbackStep.STARTED)
    outcomes = kind.rollback(ctx, txn)
    result.checks += outcomes
    failed = first_failure(outcomes)
    if failed is not None:
        raise UnitsError(f"re-check after rollback failed: {failed.line()}")


def needs_manual(state_dir: Path, txn: transaction.Transaction, result: UpdateResult, what: str) -> None:
    """The rollback ran to its end and failed: keep the transaction for a person and say so; nothing retries
    it."""
    txn.status = TxnStatus.NEEDS_MANUAL
    transaction.save(state_dir, txn)
    result.status = Status.NEEDS_MANUAL
    result.message = f"{what}: manual intervention required"


def rolled_back(state_dir: Path, txn: transaction.Transaction, result: UpdateResult, why: str) -> None:
    transaction.clear(state_dir)
    state.record_installed(state_dir, txn.component, txn.from_version)
    if txn.backups.get("on_request"):
        state.set_previous(state_dir, txn.component, None)  # used: a second rollback has nowhere known to go
    result.status = Status.ROLLED_BACK
    result.message = f"{why}, rolled back to v{txn.from_version}"
