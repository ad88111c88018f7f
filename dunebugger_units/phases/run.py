"""The one run skeleton of update, dry run, rollback and recovery.

`execute` does, in this order and each once: validate the instance, take the one update lock, connect the
system bus, run the body, record the result, report it to the journal, close the bus. The body only gathers,
decides and acts; the result it fills in owns its exit code (results.UpdateResult.exit_code).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import journal, state
from ..config import ComponentConfig, Config, validate_instance
from ..errors import Cancelled, Refused, UnitsError, UpToDate
from ..kinds import kind_of
from ..kinds.base import Kind, UpdateContext
from ..manifest import Manifest
from ..results import Action, Status, UpdateResult
from ..systemd import Systemd, SystemdError, notify_status
from ..versions import UNKNOWN

if TYPE_CHECKING:
    from ..github import Release

def now_iso() -> str:
    """UTC with microseconds: the remote finds the result of the run it asked for by time, in order."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def stamp_now() -> str:
    return datetime.now().strftime("%Y%m%d_%H%M%S")


@dataclass
class Run:
    """One run of one component, as the body sees it."""

    config: Config
    component: ComponentConfig
    result: UpdateResult
    systemd: Systemd | None  # None when the bus could not be reached: `bus_error` says why
    bus_error: str | None
    journal_fields: dict[str, Any] = field(default_factory=dict)  # extra fields of the report

    @property
    def state_dir(self) -> Path:
        return Path(self.config.state_dir)

    @property
    def kind(self) -> Kind:
        return kind_of(self.component.type)

    def unversioned_context(self) -> UpdateContext:
        """For what needs no versions (the cleanup before an update has chosen its target)."""
        return self.context(UNKNOWN, UNKNOWN)

    def context(self, from_version: str, to_version: str, release: Release | None = None,
                manifest: Manifest | None = None) -> UpdateContext:
        """What a kind needs for this run; a rollback or recovery has no release and no manifest."""
        return UpdateContext(config=self.config, component=self.component, from_version=from_version,
                             to_version=to_version, release=release, manifest=manifest or Manifest(),
                             systemd=self.systemd, progress=progress_reporter(self.component.name, from_version,
                                                                              to_version),
                             stamp=stamp_now())


def progress_reporter(component: str, from_version: str, to_version: str) -> Callable[[str], None]:
    """Each phase reached becomes the unit's status text and one journal line."""

    def progress(phase: str) -> None:
        notify_status(f"{component}: {phase}")
        journal.event(f"{component}: {phase}", journal.Priority.INFO, component=component, phase=phase,
                      from_version=from_version, to_version=to_version)

    return progress


def execute(config: Config, name: str, action: Action, body: Callable[[Run], None],
            gate: Callable[[ComponentConfig, UpdateResult], None] | None = None) -> UpdateResult:
    """Run `body` for component `name` inside the skeleton; always returns the recorded result. `gate` decides
    the policy before the update lock is taken (it raises Refused): a request the rules turn away never holds
    the lock, so it never turns away another request that finds it held (docs/decisions.md)."""
    result = UpdateResult(component=name, action=action, started_at=now_iso(),
                          invocation_id=os.environ.get("INVOCATION_ID"))
    state_dir = Path(config.state_dir)
    run: Run | None = None
    with stop_cancels():
        try:
            component = validate_instance(config, name)
            if gate is not None:
                gate(component, result)
            label = name if action in (Action.UPDATE, Action.DRY_RUN) else f"{name} ({action.value})"
            with state.update_lock(state_dir, label), connected() as (systemd, bus_error):
                state.refuse_while_package_changes()  # under the lock: the prerm's check and this one meet
                run = Run(config, component, result, systemd, bus_error)
                body(run)
        except state.Busy as busy:
            result.status, result.message = Status.REFUSED, f"update of {busy.holder} in progress"
        except UpToDate as exc:
            result.status, result.message = Status.UNCHANGED, str(exc)
        except Refused as exc:
            result.status, result.message = Status.REFUSED, str(exc)
        except (Cancelled, KeyboardInterrupt) as exc:
            result.status, result.message = Status.CANCELLED, cancelled_message(result, exc)
        except Exception as exc:  # the last catch: a result that names it, never a silent end
            trace_if_bug(exc)
            result.status, result.message = Status.FAILED, error_line(exc)
        result.finished_at = now_iso()
        if state_dir.is_dir() or result.status not in (Status.REFUSED, Status.UNCHANGED):
            try:
                state.record_result(state_dir, result.to_dict(), mirror=name in config.components)
            except Refused as exc:  # root's state dir is not root's alone: nothing is written there
                result.message = f"{result.message} (not recorded: {exc})"
        report(result, run.journal_fields if run else {})
    return result


@contextlib.contextmanager
def stop_cancels() -> Iterator[None]:
    """SIGTERM (`systemctl stop`, a shutdown) raises Cancelled in the body, once: the run then records a
    cancelled result and reports it, with a second SIGTERM ignored until it has. Outside the main thread (a
    test's helper thread) signals cannot be caught, and nothing changes."""

    def cancel(signum: int, _frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Cancelled(f"stopped by {signal.Signals(signum).name}")

    try:
        previous = signal.signal(signal.SIGTERM, cancel)
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def cancelled_message(result: UpdateResult, exc: BaseException) -> str:
    """What a stop left behind, in one line."""
    why = str(exc) or "interrupted"
    what = f"{result.action.value} of {result.component}"
    if result.action in (Action.ROLLBACK, Action.RECOVERY) and result.changed:
        return (f"The {what} was cancelled ({why}); it is finished at the next boot, or by "
                f"`dunebugger-units rollback {result.component}`")
    if result.changed:
        return f"The {what} was cancelled ({why}) after it had changed the device; rolling back to " \
               f"{result.from_version}"
    return f"The {what} was cancelled ({why}); nothing was changed"


@contextlib.contextmanager
def connected() -> Iterator[tuple[Systemd | None, str | None]]:
    """The system bus for the body, closed afterwards; a bus that cannot be reached is an error string."""
    try:
        systemd = Systemd.connect()
    except SystemdError as exc:
        yield None, str(exc)
        return
    try:
        yield systemd, None
    finally:
        systemd.close()


def is_bug(exc: BaseException) -> bool:
    """A run meets UnitsError, a cancel and an OSError with a reason (disk full, permission); anything else
    is a bug."""
    return not (isinstance(exc, (UnitsError, Cancelled)) or (isinstance(exc, OSError) and bool(exc.strerror)))


def error_line(exc: BaseException) -> str:
    """Pure: one line for the result. An OSError names the file and the reason; a bug names its type."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return f"unexpected error: {type(exc).__name__}: {exc}" if is_bug(exc) else str(exc)


def trace_if_bug(exc: BaseException) -> None:
    """A bug's traceback goes to stderr, which is the journal in a unit; an expected error's line is enough."""
    if is_bug(exc):
        traceback.print_exception(exc, file=sys.stderr)


# (action, status) -> the priority and MESSAGE_ID of the report; anything else is an INFO line.
REPORTS: dict[tuple[Action, Status], tuple[journal.Priority, str | None]] = {
    (Action.UPDATE, Status.UPDATED): (journal.Priority.NOTICE, journal.UPDATE_SUCCEEDED),
    (Action.UPDATE, Status.FAILED): (journal.Priority.ERR, journal.UPDATE_FAILED),
    (Action.DRY_RUN, Status.FAILED): (journal.Priority.ERR, journal.UPDATE_FAILED),
    (Action.ROLLBACK, Status.ROLLED_BACK): (journal.Priority.WARNING, journal.ROLLBACK_SUCCEEDED),
    (Action.ROLLBACK, Status.NEEDS_MANUAL): (journal.Priority.CRIT, journal.ROLLBACK_FAILED),
    (Action.ROLLBACK, Status.FAILED): (journal.Priority.CRIT, journal.ROLLBACK_FAILED),
    (Action.UPDATE, Status.CANCELLED): (journal.Priority.WARNING, None),
    (Action.ROLLBACK, Status.CANCELLED): (journal.Priority.WARNING, None),
}


def report(result: UpdateResult, extra: dict[str, Any]) -> None:
    """The one journal entry that ends a run."""
    fields = {"component": result.component, "phase": result.action.value, "from_version": result.from_version,
              "to_version": result.to_version, "status": result.status.value, **extra}
    if result.action is Action.RECOVERY:
        priority = journal.Priority.CRIT if result.status is Status.NEEDS_MANUAL else journal.Priority.WARNING
        journal.event(result.message, priority, journal.RECOVERY, **fields)
        return
    if result.status is Status.REFUSED:
        journal.event(f"{result.component}: {result.message}", journal.Priority.WARNING, **fields)
        return
    priority, message_id = REPORTS.get((result.action, result.status), (journal.Priority.INFO, None))
    journal.event(result.message, priority, message_id, **fields)
