"""What a run reports: Status and Action words, check outcomes and the result, which owns its exit code.

Pure data, no I/O.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

from .errors import ExitCode


class Status(str, Enum):
    """The exact words that appear in the journal and the JSON."""

    UPDATED = "updated"
    UNCHANGED = "unchanged"
    REFUSED = "refused"
    DRY_RUN = "dry-run"
    FAILED = "failed"
    ROLLED_BACK = "rolled-back"
    NEEDS_MANUAL = "needs-manual"
    DEFERRED = "deferred"  # an unattended update that may run, but not now (a show is running)
    SKIPPED = "skipped"  # an unattended update that will not run (held, beyond auto_limit)
    CANCELLED = "cancelled"


class Action(str, Enum):
    """What a run was asked to do: the `action` of a result."""

    UPDATE = "update"
    DRY_RUN = "dry-run"
    ROLLBACK = "rollback"
    RECOVERY = "recovery"
    AUTO = "auto-update"  # the unattended decision and its outcome (dunebugger-auto-update.service)


@dataclass(frozen=True)
class CheckOutcome:
    """One pre- or post-update check. A failing required check fails the phase; a wanted one is logged."""

    name: str
    ok: bool
    detail: str
    required: bool = True

    def line(self) -> str:
        return f"{self.name}: {self.detail}"


def first_failure(outcomes: list[CheckOutcome]) -> CheckOutcome | None:
    return next((o for o in outcomes if o.required and not o.ok), None)


@dataclass
class UpdateResult:
    """The record of one update, dry run, rollback or recovery; `status` starts FAILED and changes once
    proven. `changed` turns true once the device was changed: a failure before that exits like a refusal."""

    component: str
    action: Action
    status: Status = Status.FAILED
    message: str = ""
    from_version: str | None = None
    to_version: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    invocation_id: str | None = None
    # a rollback started by OnFailure=: the failed update's run ($MONITOR_INVOCATION_ID) and how it ended
    failed_invocation_id: str | None = None
    failed_service_result: str | None = None
    changed: bool = False
    # where an update's release came from: "github", or "file:<path>" for one installed from a file
    source: str | None = None
    checks: list[CheckOutcome] = field(default_factory=list)
    plan: dict[str, Any] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return self.status in (Status.UPDATED, Status.UNCHANGED, Status.DRY_RUN)

    def exit_code(self, asked: Action | None = None) -> ExitCode:
        """The one exit-code rule (dunebugger-units(1), EXIT STATUS). `asked` is what the caller asked for, when that
        differs from the run that answered: `update` is answered by the rollback that followed its failure."""
        asked = asked or self.action
        if self.status in (Status.UPDATED, Status.UNCHANGED, Status.DRY_RUN):
            # nothing to install is done, as apt and podman say it: exit 0, status `unchanged`
            return ExitCode.OK
        if self.status is Status.REFUSED:
            return ExitCode.REFUSED
        if self.status is Status.ROLLED_BACK:
            # a good rollback is what the rollback (or the recovery) was for; for an update it is a failure
            return ExitCode.OK if asked in (Action.ROLLBACK, Action.RECOVERY) else ExitCode.UPDATE_FAILED
        if self.status is Status.NEEDS_MANUAL:
            return ExitCode.ROLLBACK_FAILED
        # FAILED or CANCELLED: OnFailure= must not roll back a device that was not changed, and must roll back
        # one that was (a stop half-way through an update)
        return ExitCode.UPDATE_FAILED if self.changed else ExitCode.REFUSED

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        data["action"] = self.action.value
        data["success"] = self.success
        data["dry_run"] = self.action is Action.DRY_RUN
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UpdateResult:
        """A recorded result read back (the CLI follows a run through the client, which reads the file)."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["status"] = Status(known.get("status", "failed"))
        known["action"] = Action(known.get("action", "update"))
        known["checks"] = [CheckOutcome(**c) for c in known.get("checks") or []]
        return cls(**known)
