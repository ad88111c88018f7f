"""Start one of our units and follow it to its recorded result: what `update`, `rollback`, a root's `check` and
the unattended updates do. Root's side, on systemd.py; the remote has its own client.

The one-shot version request lives here only: root writes it, dunebugger-update@C takes it as it starts, and a
request the unit did not take (its start joined a run already going, or never happened) is removed, so a later
plain update never installs it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import state
from .config import Config
from .errors import ExitCode, NeedsRoot, UnitsError
from .phases.run import now_iso  # the results' own time stamps: compared with them
from .results import Action, Status, UpdateResult
from .systemd import AccessDenied, Systemd

if TYPE_CHECKING:
    from .phases.check import CheckReport

UPDATE_DEADLINE = 3600.0  # an update, then its rollback: the longest wait of a person or the timer
CHECK_DEADLINE = 300.0  # the check unit's TimeoutStartSec=
RESULT_GRACE = 10.0  # the job is done a moment before its result file is readable
CHECK_UNIT = "dunebugger-check.service"
POLL = 0.2


class StoppedFollowing(KeyboardInterrupt):
    """Ctrl-C while following `unit`: our wait ended, the unit goes on."""

    def __init__(self, unit: str) -> None:
        super().__init__(unit)
        self.unit = unit


def update_unit(component: str, *, dry_run: bool = False, force: bool = False) -> str:
    kind = "-dry-run" if dry_run else "-force" if force else ""
    return f"dunebugger-update{kind}@{component}.service"


def rollback_unit(component: str) -> str:
    return f"dunebugger-rollback@{component}.service"


# ---- pure: which recorded result answers a start --------------------------------------------------------------

def failed_invocation(result: Mapping[str, Any]) -> str | None:
    """The invocation id of the failed run a rollback answered."""
    value = result.get("failed_invocation_id") or (result.get("plan") or {}).get("failed_invocation_id")
    return str(value) if value else None


def own_result(results: Iterable[Mapping[str, Any]], component: str, action: Action,
               asked: str) -> Mapping[str, Any] | None:
    """The run this start joined: the first of its unit to finish after it was asked for (systemd merges a start
    into a running start job of the same unit, so no earlier run can finish after `asked`). Newest first in."""
    runs = [r for r in results if r.get("component") == component and r.get("action") == action.value
            and str(r.get("finished_at") or "") >= asked]
    return runs[-1] if runs else None


def rollback_expected(result: Mapping[str, Any]) -> bool:
    """A failed update that changed something exits 1, and OnFailure= starts the rollback."""
    return result.get("action") == "update" and result.get("status") == "failed" and bool(result.get("changed"))


def rollback_of(results: Iterable[Mapping[str, Any]], failed: Mapping[str, Any]) -> Mapping[str, Any] | None:
    invocation = failed.get("invocation_id")
    return next((r for r in results if invocation and r.get("action") == "rollback"
                 and failed_invocation(r) == invocation), None)


# ---- act: start and follow ----------------------------------------------------------------------------------

def _start(unit: str, deadline: float, on_progress: Callable[[str], None] | None) -> str:
    """Start `unit` and wait for its job; the job's result word."""
    try:
        with Systemd.connect() as systemd:
            return systemd.run_job("start", unit, deadline, on_progress)
    except AccessDenied:  # polkit said no: the person may start our units with root or as one of the group
        raise NeedsRoot(f"needs root: starting {unit}: permission refused for uid {os.getuid()} (run it with "
                        "sudo, or as a member of the dunebugger group)") from None
    except UnitsError:
        raise  # systemd's own errors say what was being done, to what, and why
    except Exception as exc:  # anything else from sdbus's C layer: one line, never a traceback
        raise UnitsError(f"talking to systemd about {unit}: {type(exc).__name__}: {exc}") from None


def _wait_for(fetch: Callable[[], Mapping[str, Any] | None], deadline: float) -> Mapping[str, Any] | None:
    end = time.monotonic() + deadline
    while True:
        found = fetch()
        if found is not None or time.monotonic() >= end:
            return found
        time.sleep(POLL)


def follow_unit(state_dir: Path, unit: str, component: str, action: Action, *,  # noqa: PLR0913  # what to follow and how
                on_progress: Callable[[str], None] | None = None, deadline: float = UPDATE_DEADLINE) -> UpdateResult:
    """Start `unit`, show its status text as it changes, and return its recorded result; for an update that
    failed after a change, the result of the rollback OnFailure= started. Raises UnitsError when systemd
    refused, StoppedFollowing on Ctrl-C."""
    following = unit
    try:
        asked = now_iso()
        job = _start(unit, deadline, on_progress)
        own = _wait_for(lambda: own_result(state.read_results(state_dir), component, action, asked), RESULT_GRACE)
        if own is None:
            return UpdateResult(component=component, action=action,
                                message=f"{unit} ended with job result {job!r} and recorded no result")
        if action is Action.UPDATE and rollback_expected(own):
            following, failed = rollback_unit(component), own
            own = _wait_for(lambda: rollback_of(state.read_results(state_dir), failed), deadline) or failed
        return UpdateResult.from_dict(dict(own))
    except KeyboardInterrupt:
        raise StoppedFollowing(following) from None


def request_update(config: Config, name: str, version: str | None, *, dry_run: bool = False, force: bool = False,  # noqa: PLR0913  # a person's update: every option
                   on_progress: Callable[[str], None] | None = None) -> UpdateResult:
    """Start dunebugger-update@NAME (its dry-run or force twin) and follow it; with `version`, root's one-shot
    request for that version first. Raises UnitsError when the unit could not be started."""
    state_dir = Path(config.state_dir)
    action = Action.DRY_RUN if dry_run else Action.UPDATE
    unit = update_unit(name, dry_run=dry_run, force=force)
    if version is None:
        return follow_unit(state_dir, unit, name, action, on_progress=on_progress)
    state.write_request(state_dir, name, version)
    return taken_back_after(lambda: follow_unit(state_dir, unit, name, action, on_progress=on_progress),
                             lambda: state.take_request(state_dir, name))


def taken_back_after(follow: Callable[[], UpdateResult], take_back: Callable[[], object]) -> UpdateResult:
    """Follow a unit started for a one-shot request, then take the request back: a unit that joined a run
    already going never read it. Not when following stopped: the start is queued and the unit reads it."""
    try:
        result = follow()
    except StoppedFollowing:
        raise
    except BaseException:
        take_back()
        raise
    take_back()
    return result


def start_update(config: Config, name: str, version: str) -> UpdateResult:
    """The unattended update of NAME to `version`, followed to its (or its rollback's) recorded result. A
    start systemd refused is a failed result that says so: this never raises UnitsError."""
    try:
        return request_update(config, name, version)
    except UnitsError as exc:
        return UpdateResult(component=name, action=Action.UPDATE, status=Status.FAILED, to_version=version,
                            message=f"starting the update of {name}: {exc}", finished_at=now_iso())


def start_rollback(config: Config, name: str, *, force: bool = False,
                   on_progress: Callable[[str], None] | None = None) -> UpdateResult:
    """Start dunebugger-rollback@NAME and follow it; with `force`, root's one-shot request to override a hold
    and the show lock first (taken back if the unit never ran)."""
    state_dir = Path(config.state_dir)
    if not force:
        return follow_unit(state_dir, rollback_unit(name), name, Action.ROLLBACK, on_progress=on_progress)
    state.write_forced_rollback(state_dir, name)
    return taken_back_after(
        lambda: follow_unit(state_dir, rollback_unit(name), name, Action.ROLLBACK, on_progress=on_progress),
        lambda: state.take_forced_rollback(state_dir, name))


# ---- update --all: every component with an update, in their order ------------------------------------------

# the remote first: it carries the frontend's view of the rest; core last: the show's own app restarts last
ALL_ORDER = ("remote", "scheduler", "core")
STOPS = (Status.FAILED, Status.ROLLED_BACK, Status.NEEDS_MANUAL, Status.REFUSED, Status.CANCELLED)


def update_order(names: Iterable[str]) -> list[str]:
    """Pure: remote, scheduler, the other components as configured, then core."""
    rank = {name: index for index, name in enumerate(ALL_ORDER)}
    return sorted(names, key=lambda name: rank.get(name, 1.5))


def not_run(name: str, action: Action, status: Status, message: str) -> UpdateResult:
    return UpdateResult(component=name, action=action, status=status, message=message, finished_at=now_iso())


@dataclass
class AllResult:
    """`update --all`: one result per component, in the order they were taken."""

    results: list[UpdateResult] = field(default_factory=list)
    action: Action = Action.UPDATE

    @property
    def stopped_at(self) -> UpdateResult | None:
        return next((r for r in self.results if r.status in STOPS), None)

    def exit_code(self) -> ExitCode:
        stop = self.stopped_at
        return stop.exit_code(self.action) if stop is not None else ExitCode.OK

    def summary(self) -> str:
        """The last line for people, the `summary` key in JSON."""
        done = [f"{r.component} {r.to_version or ''}".rstrip() for r in self.results if r.status is Status.UPDATED]
        words = [f"updated: {', '.join(done)}" if done else "nothing updated"]
        if (planned := [r.component for r in self.results if r.status is Status.DRY_RUN]):
            words.append(f"dry run passed: {', '.join(planned)}")
        stop = self.stopped_at
        after = self.results.index(stop) if stop is not None else len(self.results)
        if (held := [r.component for r in self.results[:after] if r.status is Status.SKIPPED]):
            words.append(f"held: {', '.join(held)}")
        if stop is not None:
            words.append(f"{stop.component} {stop.status.value}: {stop.message}")
        if (left := [r.component for r in self.results[after:] if r.status is Status.SKIPPED]):
            words.append(f"not started: {', '.join(left)}")
        return "update --all: " + "; ".join(words)

    def to_dict(self) -> dict[str, Any]:
        stop = self.stopped_at
        status = stop.status if stop is not None else (
            Status.UPDATED if any(r.status is Status.UPDATED for r in self.results) else
            Status.DRY_RUN if self.action is Action.DRY_RUN else Status.UNCHANGED)
        return {"action": self.action.value, "all": True, "status": status.value,
                "exit_code": int(self.exit_code()), "components": [r.to_dict() for r in self.results],
                "summary": self.summary()}


def update_all(config: Config, *, dry_run: bool = False, force: bool = False,
               on_progress: Callable[[str], None] | None = None) -> AllResult:
    """Update each component the last check found an update for, one unit after another in ALL_ORDER; the
    first failure stops the rest (what was done stays done: each finished update was verified by its unit). A
    held component is left out unless `force`."""
    from .holds import read_holds

    state_dir = Path(config.state_dir)
    # only which units to start: each update unit decides its target from root's own lookup
    records = state.load_cache(Path(config.check_cache_dir))["components"]
    held = read_holds(state_dir)
    outcome = AllResult(action=Action.DRY_RUN if dry_run else Action.UPDATE)
    for name in update_order(config.components):
        record = records.get(name)
        if outcome.stopped_at is not None and not dry_run:  # a dry run changes nothing: every plan is shown
            outcome.results.append(not_run(name, outcome.action, Status.SKIPPED,
                                           f"not started: {outcome.stopped_at.component} did not update"))
        elif not (isinstance(record, dict) and record.get("update_available") is True):
            outcome.results.append(not_run(name, outcome.action, Status.UNCHANGED, "no update available at the "
                                           "last check"))
        elif name in held and not force:
            outcome.results.append(not_run(name, outcome.action, Status.SKIPPED, "held: left out (--force "
                                           "updates it)"))
        else:
            show = None if on_progress is None else (lambda phase, n=name: on_progress(f"{n}: {phase}"))
            outcome.results.append(request_update(config, name, None, dry_run=dry_run, force=force,
                                                  on_progress=show))
    return outcome


def check_as_the_unit(config: Config, names: Iterable[str]) -> CheckReport:
    """Root's check: dunebugger-check.service does the GitHub work as the check's user, with its hardening and
    credential, and records it in the check's cache, which root then reads (every component is checked;
    `names` picks what is reported)."""
    from .errors import CheckFailed
    from .phases.check import CheckReport

    wanted = [config.component(n).name for n in names or config.components]
    try:
        done = _start(CHECK_UNIT, CHECK_DEADLINE, None) == "done"
    except KeyboardInterrupt:
        raise StoppedFollowing(CHECK_UNIT) from None
    records = state.load_cache(Path(config.check_cache_dir))["components"]
    if not done and not any(isinstance(r, dict) and r.get("error") for r in records.values()):
        # not a component's lookup (the record names those): the unit itself failed
        raise CheckFailed(f"{CHECK_UNIT} failed: `journalctl -u {CHECK_UNIT}` says why")
    chosen = {n: records.get(n, {}) for n in wanted}
    return CheckReport(components=chosen, root=state.root_keys(Path(config.state_dir), chosen))
