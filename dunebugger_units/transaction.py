"""The transaction record: written and fsynced before each change, so that a rollback (or recovery after a
power cut) knows what was changed and where the backups are. Touches the disk."""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import StateError
from .files import atomic_write, fsync_dir

TRANSACTION_FILE = "transaction.json"


@dataclass
class Transaction:
    component: str
    kind: str  # container | python_app
    from_version: str
    to_version: str
    step: str = "started"  # the last step reached, e.g. "compose-written", "switched"
    started_at: str = ""
    invocation_id: str | None = None
    # what a rollback needs: the compose backup path, the previous release dir, the tarball backup, ...
    backups: dict[str, Any] = field(default_factory=dict)
    status: str = "pending"  # pending | failed | needs-manual
    failure: str = ""  # how the update failed, for the rollback's message: "Post-update checks failed"


def transaction_path(state_dir: Path) -> Path:
    return state_dir / TRANSACTION_FILE


def save(state_dir: Path, txn: Transaction) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(transaction_path(state_dir), json.dumps(asdict(txn), indent=2).encode() + b"\n", mode=0o644)


# Fault injection for the crash-safety tests: a unit drop-in sets one of these to a step name. KILL_AT kills
# the update with SIGKILL right after that step is durable, as an OOM kill would; PAUSE_AT holds it there so
# that a test can cut the power (SIGKILL the whole test systemd) at exactly that point.
KILL_AT_ENV = "DUNEBUGGER_UNITS_KILL_AT"
PAUSE_AT_ENV = "DUNEBUGGER_UNITS_PAUSE_AT"

# Steps the pipeline itself records; kinds record theirs (e.g. "compose-written", "switched") in between.
APPLIED = "applied"  # every change is made: the new version is complete
VERIFIED = "verified"  # the post-update checks passed


def advance(state_dir: Path, txn: Transaction, step: str, **backups: Any) -> None:
    """Record that `step` is reached (and any new backups) before going on: durable on return."""
    txn.step = step
    txn.backups.update(backups)
    save(state_dir, txn)
    if os.environ.get(KILL_AT_ENV) == step:
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
        return Transaction(**data)
    except TypeError:
        raise StateError(f"reading transaction record {path}: not a transaction record") from None


def clear(state_dir: Path) -> None:
    transaction_path(state_dir).unlink(missing_ok=True)
    fsync_dir(state_dir)
