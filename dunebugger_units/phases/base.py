"""The contract between the update pipeline and the two kinds of component (container, python_app).

The pipeline (phases/update.py) owns what both share: target choice, the lock, the manifest, common
pre-checks, the transaction record, results and reporting. A Kind owns what differs: its own pre-checks, the
plan, applying, post-checks, committing and rolling back. Pre-checks and planning never change the device.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..config import ComponentConfig, Config
    from ..github import Release
    from ..manifest import Manifest
    from ..results import CheckOutcome
    from ..systemd import Systemd
    from ..transaction import Transaction


@dataclass
class UpdateContext:
    """Everything a kind needs for one update or rollback of one component."""

    config: Config
    component: ComponentConfig
    from_version: str  # installed before the update ("unknown" allowed)
    to_version: str  # the target
    release: Release | None  # the target's release (assets), when known
    manifest: Manifest
    systemd: Systemd | None  # the system bus, opened by the entry point
    progress: Callable[[str], None]  # names the phase reached: status text + journal
    stamp: str = ""  # YYYYmmdd_HHMMSS of this run, for backup names
    notes: dict[str, Any] = field(default_factory=dict)  # what preflight learnt that apply reuses

    @property
    def state_dir(self) -> str:
        return self.config.state_dir

    @property
    def min_free_mb(self) -> int:
        """The config's default for the kind, raised (never lowered) by the manifest."""
        base = (self.config.update.container_min_free_mb if self.component.type == "container"
                else self.config.update.core_min_free_mb)
        return max(base, self.manifest.min_free_mb or 0)

    @property
    def health_url(self) -> str | None:
        return self.manifest.health_url or self.component.health_url

    @property
    def health_timeout(self) -> float:
        return self.manifest.health_timeout or self.config.update.health_timeout

    @property
    def health_expected_status(self) -> int:
        return self.manifest.health_expected_status or self.component.health_expected_status


class Kind(Protocol):
    """One kind of component. Every method may raise UnitsError with a one-line reason."""

    def preflight(self, ctx: UpdateContext) -> list[CheckOutcome]:
        """Kind-specific pre-checks (disk space, service status, permissions); nothing changes."""

    def plan(self, ctx: UpdateContext) -> dict[str, Any]:
        """What apply would do, for a dry run: e.g. the compose diff and the image to pull."""

    def apply(self, ctx: UpdateContext, txn: Transaction) -> None:
        """Change the device. Call transaction.advance(...) *before* each change, naming the step and the
        backups a rollback needs; raise UnitsError on failure (the pipeline then fails the unit, and
        OnFailure= starts the rollback)."""

    def verify(self, ctx: UpdateContext) -> list[CheckOutcome]:
        """Post-update checks: running, stable, healthy within the deadline, the target version."""

    def commit(self, ctx: UpdateContext, txn: Transaction) -> None:
        """Success is proven: drop temp files, keep N backups (never the one a rollback of now needs)."""

    def rollback(self, ctx: UpdateContext, txn: Transaction) -> list[CheckOutcome]:
        """Restore ctx.from_version from txn.backups, restart it, and return the re-checks."""
