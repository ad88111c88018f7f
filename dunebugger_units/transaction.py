"""The transaction record: written and fsynced before each change, so that a rollback (or recovery after a
power cut) knows what was changed and where the backups are. Touches the disk.

Steps, statuses and the recovery's decisions are enums: a kind can only record a step the recovery knows
(`RECOVERY_BY_STEP` names a decision for every one, and a test holds the kinds to it).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from .errors import StateError
from .files import atomic_write, fsync_dir

TRANSACTION_FILE = "transaction.json"


class Step(str, Enum):
    """The last step an update reached; the words are what the record and the journal say."""

    STARTED = "started"  # the record exists; nothing on the device was changed yet
    # container: the compose backup is made and recorded; the compose file is being written
    COMPOSE_WRITING = "compose-writing"
    RECREATING = "recreating"  # container: the compose file names the new image; the container is recreated
    # python_app: staged and backed up, the link is about to be switched and the service restarted
    SWITCHING = "switching"
    SWITCHED = "switched"  # python_app: the link names the new release, and the restart job is done
    APPLIED = "applied"  # every change is made: the new version is complete
    VERIFIED = "verified"  # the post-update checks passed


class RollbackStep(str, Enum):
    """How far a rollback got. Every rollback step is idempotent, so a rollback cut off at any of them (a kill,
    a power cut) is simply run again, by the recovery at boot or by `dunebugger-units rollback`."""

    STARTED = "rollback-started"  # nothing restored yet
    RESTORED = "rollback-restored"  # the previous version's files are back: compose file, install link
    RESTARTED = "rollback-restarted"  # the previous version was (re)started; the re-check follows


class TxnStatus(str, Enum):
    PENDING = "pending"  # the update is running, or was interrupted
    FAILED = "failed"  # the update failed after a change: a rollback is due
    NEEDS_MANUAL = "needs-manual"  # a rollback failed: a person must look; nothing retries it


class Recovery(str, Enum):
    """What the boot-time recovery does with an unfinished transaction."""

    NONE = "none"  # nothing was changed yet: drop the record
    FINISH = "finish"  # every change was made: keep it if it passes the post-checks
    ROLLBACK = "rollback"
    MANUAL = "manual"  # an earlier rollback failed: report it again, change nothing


# The recovery's decision for a pending transaction at each step (a failed one is always rolled back).
RECOVERY_BY_STEP: dict[Step, Recovery] = {
    Step.STARTED: Recovery.NONE,
    Step.COMPOSE_WRITING: Recovery.ROLLBACK,
    Step.RECREATING: Recovery.ROLLBACK,
    Step.SWITCHING: Recovery.ROLLBACK,
    Step.SWITCHED: Recovery.ROLLBACK,
    Step.APPLIED: Recovery.FINISH,
    Step.VERIFIED: Recovery.FINISH,
}


def decide_recovery(step: Step, status: TxnStatus, rolling_back: bool = False) -> Recovery:
    """Pure: what to do at boot with a transaction that reached `step` with `status`; a rollback that had
    begun (`rolling_back`) is finished, never turned back into the update."""
    if status is TxnStatus.NEEDS_MANUAL:
        return Recovery.MANUAL
    if step is Step.STARTED:
        return Recovery.NONE
    if status is TxnStatus.FAILED or rolling_back:
        return Recovery.ROLLBACK
    return RECOVERY_BY_STEP[step]


@dataclass
class Transaction:
    component: str
    kind: str  # the component's type: a key of kinds.KINDS
    from_version: str
    to_version: str
    step: Step = Step.STARTED
    started_at: str = ""
    invocation_id: str | None = None
    # what a rollback needs: the compose backup path, the previous release dir, the tarball backup, ...
    backups: dict[str, Any] = field(default_factory=dict)
    status: TxnStatus = TxnStatus.PENDING
    failure: str = ""  # how the update failed, for the rollback's message: "Post-update checks failed"
    rollback_step: str = ""  # a RollbackStep value once a rollback began: it is resumed from the start

    @property
    def changed(self) -> bool:
        """Whether the device may have been changed (anything past `started`)."""
        return self.step is not Step.STARTED


def transaction_path(state_dir: Path) -> Path:
    return state_dir / TRANSACTION_FILE


def save(state_dir: Path, txn: Transaction) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    data = asdict(txn) | {"step": txn.step.value, "status": txn.status.value}
    atomic_write(transaction_path(state_dir), json.dumps(data, indent=2).encode() + b"\n", mode=0o644)


# Fault injection for the crash-safety tests: a unit drop-in sets one of these to a step name. KILL_AT kills
# the update with SIGKILL right after that step is durable, as an OOM kill would; PAUSE_AT holds it there so
# that a test can cut the power (SIGKILL the whole test systemd) at exactly that point.
KILL_AT_ENV = "DUNEBUGGER_UNITS_KILL_AT"
PAUSE_AT_ENV = "DUNEBUGGER_UNITS_PAUSE_AT"


def advance(state_dir: Path, txn: Transaction, step: Step, **backups: Any) -> None:
    """Record that `step` is reached (and any new backups) before going on: durable on return."""
    txn.step = Step(step)
    txn.backups.update(backups)
    save(state_dir, txn)
    _fault_injection(step.value)


def advance_rollback(state_dir: Path, txn: Transaction, step: RollbackStep) -> None:
    """Record how far the rollback got (for the journal and the tests' power cuts); durable on return."""
    txn.rollback_step = step.value
    save(state_dir, txn)
    _fault_injection(step.value)


def _fault_injection(step: str) -> None:
    if os.environ.get(KILL_AT_ENV) == step:
        import signal  # deferred: only the crash tests kill here, and a check imports this module

        os.kill(os.getpid(), signal.SIGKILL)
    if os.environ.get(PAUSE_AT_ENV) == step:
        time.sleep(3600)


def load(state_dir: Path) -> Transaction | None:
    path = transaction_path(state_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise StateError(f"reading transaction record {path}: {exc}") from None
    try:
        txn = Transaction(**data)
        txn.step, txn.status = Step(txn.step), TxnStatus(txn.status)
    except (TypeError, ValueError):
        raise StateError(f"reading transaction record {path}: not a transaction record") from None
    return txn


def clear(state_dir: Path) -> None:
    transaction_path(state_dir).unlink(missing_ok=True)
    fsync_dir(state_dir)


def describe_unfinished(state_dir: Path) -> dict[str, Any] | None:
    """An interrupted or failed update that is not resolved yet, said plainly (for `status` and `check`)."""
    try:
        txn = load(state_dir)
    except StateError as exc:
        return {"message": str(exc)}
    if txn is None:
        return None
    what = "needs manual intervention" if txn.status is TxnStatus.NEEDS_MANUAL else "is unresolved"
    return {"component": txn.component, "from_version": txn.from_version, "to_version": txn.to_version,
            "step": txn.step.value, "status": txn.status.value,
            "message": f"the update of {txn.component} from {txn.from_version} to {txn.to_version} {what} "
                       f"(step {txn.step.value}); see `dunebugger-units recover` and "
                       f"`rollback {txn.component}`"}
