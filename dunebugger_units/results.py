"""What a phase reports: Status words, check outcomes and the update result (pure data, no I/O)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any


class Status(str, Enum):
    """The exact words that appear in the journal and the JSON."""

    UPDATED = "updated"
    UNCHANGED = "unchanged"
    PENDING = "pending"
    REFUSED = "refused"
    DRY_RUN = "dry-run"
    FAILED = "failed"
    ROLLED_BACK = "rolled-back"
    NEEDS_MANUAL = "needs-manual"


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
    """The record of one update, dry run or rollback; `status` starts FAILED and changes once proven."""

    component: str
    action: str  # update | dry-run | rollback | recovery
    status: Status = Status.FAILED
    message: str = ""
    from_version: str | None = None
    to_version: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    invocation_id: str | None = None
    checks: list[CheckOutcome] = field(default_factory=list)
    plan: dict[str, Any] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return self.status in (Status.UPDATED, Status.UNCHANGED, Status.DRY_RUN)

    @property
    def dry_run(self) -> bool:
        return self.action == "dry-run"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        data["success"] = self.success
        data["dry_run"] = self.dry_run
        return data

    def frontend_body(self) -> dict[str, Any]:
        """The body of the frontend's `update_result`."""
        return {"component": self.component, "success": self.success, "message": self.message,
                "dry_run": self.dry_run}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UpdateResult:
        fields = {k: v for k, v in data.items() if k not in ("success", "dry_run")}
        fields["status"] = Status(fields.get("status", "failed"))
        fields["checks"] = [CheckOutcome(**c) for c in fields.get("checks", [])]
        return cls(**fields)
