"""The contract between the run phases and the kinds of component (kinds.KINDS).

The phases own what every kind shares: target choice, the lock, the manifest, common pre-checks, the
transaction record, results and reporting. A Kind owns what differs: its pre-checks, which produce its plan
(bound to the kind that carries it out, so the phases never see its type), the dry-run description, applying
that plan, post-checks, committing and rolling back. Pre-checks never change the device (beyond the download
staging area of root's state).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from ..errors import UnitsError
from ..results import CheckOutcome, first_failure

if TYPE_CHECKING:
    from ..config import ComponentConfig, Config, KeySpec
    from ..fromfile import Staged
    from ..github import Release
    from ..manifest import Manifest
    from ..signatures import SignedSums
    from ..systemd import Systemd
    from ..transaction import Transaction

KindPlanT = TypeVar("KindPlanT")
FactsT = TypeVar("FactsT")
FoundT = TypeVar("FoundT")


@dataclass
class UpdateContext:
    """Everything a kind needs for one update or rollback of one component."""

    config: Config
    component: ComponentConfig
    from_version: str  # installed before the update ("unknown" allowed)
    to_version: str  # the target
    release: Release | None  # the target's release (assets), when known
    manifest: Manifest
    systemd: Systemd | None  # the system bus, opened by the run skeleton
    progress: Callable[[str], None]  # names the phase reached: status text + journal
    stamp: str = ""  # YYYYmmdd_HHMMSS of this run, for backup names
    signed: SignedSums | None = None  # the release's verified SHA256SUMS, when `trusted_keys` is set
    local: Staged | None = None  # installing from a file: root's staged copy, instead of a download

    @property
    def state_dir(self) -> str:
        return self.config.state_dir

    def free_mb_needed(self, default: int) -> int:
        """The kind's default from the configuration, raised (never lowered) by the manifest."""
        return max(default, self.manifest.min_free_mb or 0)

    @property
    def bus(self) -> Systemd:
        """The system bus, for a step that cannot go on without it."""
        if self.systemd is None:
            raise UnitsError(f"{self.component.name}: the system bus is not connected")
        return self.systemd

    @property
    def health_url(self) -> str | None:
        return self.manifest.health_url or self.component.health_url

    @property
    def health_timeout(self) -> float:
        return self.manifest.health_timeout or self.config.update.health_timeout

    @property
    def health_expected_status(self) -> int:
        return self.manifest.health_expected_status or self.component.health_expected_status


class Plan(Protocol):
    """What the pre-checks decided, bound to the kind that carries it out: the update phase only describes
    it (a dry run) or applies it."""

    def describe(self, ctx: UpdateContext) -> dict[str, Any]:
        """What apply would do, for a dry run: e.g. the compose diff and the image to pull."""

    def apply(self, ctx: UpdateContext, txn: Transaction) -> None:
        """Change the device as planned. Call transaction.advance(...) *before* each change, naming the step
        and the backups a rollback needs; raise UnitsError on failure."""


@dataclass(frozen=True)
class BoundPlan(Generic[KindPlanT]):
    """A kind's own plan (ComposePlan, CorePlan, ...) with the kind's functions for exactly that type: mypy
    checks that they match where the kind builds it."""

    plan: KindPlanT
    describe_with: Callable[[UpdateContext, KindPlanT], dict[str, Any]]
    apply_with: Callable[[UpdateContext, KindPlanT, Transaction], None]

    def describe(self, ctx: UpdateContext) -> dict[str, Any]:
        return self.describe_with(ctx, self.plan)

    def apply(self, ctx: UpdateContext, txn: Transaction) -> None:
        self.apply_with(ctx, self.plan, txn)


@dataclass(frozen=True)
class Prepared:
    """The pre-checks of an update, and the plan they produced: None when a required check failed."""

    checks: list[CheckOutcome]
    plan: Plan | None = None

    def after(self, earlier: list[CheckOutcome]) -> Prepared:
        """The same, with the checks that ran before the kind's own in front."""
        return Prepared([*earlier, *self.checks], self.plan)


Found = tuple[CheckOutcome, FoundT | None]  # a pre-check's outcome, and what it found when it passed


@dataclass
class CheckList:
    """Pre-checks run in order: each outcome is added; what a check found is handed on only when every
    required check so far passed (no download when the disk is full)."""

    outcomes: list[CheckOutcome] = field(default_factory=list)

    def add(self, outcome: CheckOutcome) -> bool:
        self.outcomes.append(outcome)
        return first_failure(self.outcomes) is None

    def take(self, found: Found[FoundT]) -> FoundT | None:
        outcome, value = found
        return value if self.add(outcome) else None


Check = Callable[[UpdateContext, FactsT], "CheckOutcome | list[CheckOutcome]"]


def run_checks(ctx: UpdateContext, facts: FactsT, checks: Sequence[Check[FactsT]]) -> list[CheckOutcome]:
    """The one loop over a kind's pre-checks. Each check may fill in `facts` for the ones after it; the first
    failing required check ends the list (no download when the disk is full)."""
    outcomes: list[CheckOutcome] = []
    for check in checks:
        found = check(ctx, facts)
        produced = [found] if isinstance(found, CheckOutcome) else found
        outcomes += produced
        if first_failure(produced) is not None:
            break
    return outcomes


class KindUpdate(Protocol):
    """What a kind does to a device. Every method may raise UnitsError with a one-line reason."""

    def prepare(self, ctx: UpdateContext) -> Prepared:
        """The kind's pre-checks (disk space, service status, permissions, the verified download) and the
        plan they produced; nothing the device runs changes."""

    def prepare_ahead(self, ctx: UpdateContext) -> dict[str, Any]:
        """Get ctx.to_version ready for a later update without changing anything the device runs (core: the
        release downloaded, verified and staged; a container: its image pulled); return root's record of it
        (`version` and what the kind needs to find it again). A stop leaves nothing half-made."""

    def drop_prepared(self, config: Config, component: ComponentConfig, record: Mapping[str, Any]) -> None:
        """Remove what a superseded preparation left, never what runs; quietly, as far as it can."""

    def is_prepared(self, config: Config, component: ComponentConfig, record: Mapping[str, Any]) -> bool:
        """What root's record of a preparation names is still there, complete."""

    def verify(self, ctx: UpdateContext) -> list[CheckOutcome]:
        """Post-update checks: running, stable, healthy within the deadline, the target version."""

    def commit(self, ctx: UpdateContext, txn: Transaction) -> None:
        """Success is proven: drop temp files, keep N backups (never the one a rollback of now needs)."""

    def rollback(self, ctx: UpdateContext, txn: Transaction) -> list[CheckOutcome]:
        """Restore ctx.from_version from txn.backups, restart it, and return the re-checks. Idempotent: a
        rollback cut off anywhere is run again from the start (transaction.advance_rollback marks the steps)."""

    def backups_for_requested_rollback(self, ctx: UpdateContext, previous: dict[str, Any]) -> dict[str, Any]:
        """A rollback on request: the backups of a transaction that returns from what runs now to the previous
        version (`previous` is what the last successful update recorded); Refused when there is none to
        return to."""

    def cleanup(self, ctx: UpdateContext) -> None:
        """Remove what an interrupted or failed run left unfinished (half-staged releases, downloads, temp
        files); never the running or the previous version."""


class Kind(KindUpdate, Protocol):
    """One kind of component: what the configuration and a check see of it, and what it does to a device."""

    @property
    def config_keys(self) -> Mapping[str, KeySpec]:
        """The configuration keys a component of this kind takes beside the common ones."""

    @property
    def required_keys(self) -> tuple[str, ...]:
        """The keys a component of this kind cannot do without."""

    def check_config(self, values: Mapping[str, Any], where: str) -> None:
        """Raise ConfigError naming the key when a value of the right type is still wrong."""

    def installed_version(self, config: Config, component: ComponentConfig) -> str:
        """What the device runs, or `unknown` when it does not say (an update is then available). Reads, never
        writes; UnitsError or OSError when it cannot be read."""

