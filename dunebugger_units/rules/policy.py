"""When updates may happen: pure decisions, no I/O (table-tested in tests/unit/test_policy.py).

`decide_auto` decides one component's unattended update from facts its caller gathered (root's own GitHub
lookup, the holds, the window, the show lock, the history); `manual_gate` decides whether a person's update
may go ahead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING

from packaging.version import Version

from ..calendar import in_window, next_elapse
from ..versions import parse_version

if TYPE_CHECKING:
    from ..config import MaintenanceWindow


@dataclass(frozen=True)
class Candidate:
    version: str
    prerelease: bool


class AutoAction(str, Enum):
    NONE = "none"  # nothing to do (policy notify, up to date): not recorded
    SKIP = "skip"  # an update exists but is not for an unattended update (held, beyond auto_limit, failed)
    DEFER = "defer"  # an update may run, but not now (outside the window, a show is running)
    LOOKUP = "lookup"  # the cheap facts allow it: look the releases up on GitHub, then decide again
    UPDATE = "update"


@dataclass(frozen=True)
class AutoFacts:
    component: str
    policy: str  # notify | auto
    auto_limit: str  # patch | minor | major
    auto_prerelease: bool
    held: bool
    installed: str
    in_window: bool
    next_window: str | None  # the next window's start, for the message
    show_lock: str | None  # "held by PID 812, dunebugger.service", or None
    candidates: tuple[Candidate, ...] | None  # None: not looked up (the lookup comes after the cheap facts)
    failed_versions: frozenset[str] = frozenset()  # updates to these failed before: never retried unattended
    lookup_error: str | None = None


@dataclass(frozen=True)
class AutoDecision:
    action: AutoAction
    reason: str
    target: str | None = None


def within_limit(installed: Version, candidate: Version, limit: str) -> bool:
    """patch: same major.minor; minor: same major; major: any newer version."""
    if limit == "patch":
        return candidate.release[:2] == installed.release[:2]
    if limit == "minor":
        return candidate.release[:1] == installed.release[:1]
    return True


def _eligible(facts: AutoFacts, installed: Version) -> tuple[list[tuple[Version, str]], list[str], list[str]]:
    """(newer versions an unattended update may install, newer ones beyond the limit, newer prereleases)."""
    ok: list[tuple[Version, str]] = []
    beyond: list[str] = []
    pre: list[str] = []
    for candidate in facts.candidates or ():
        version = parse_version(candidate.version)
        if version is None or version <= installed:
            continue
        is_pre = candidate.prerelease or version.is_prerelease
        if is_pre and not facts.auto_prerelease:
            pre.append(candidate.version)
            continue
        if candidate.version in facts.failed_versions:
            continue
        if within_limit(installed, version, facts.auto_limit):
            ok.append((version, candidate.version))
        else:
            beyond.append(candidate.version)
    return sorted(ok), beyond, pre


def decide_auto(facts: AutoFacts) -> AutoDecision:  # one return per rule, in order
    """In order: policy, window, hold, show lock (the cheap facts: no GitHub request when they say no), then
    the lookup, the known version, the range, and the target."""
    if facts.policy != "auto":
        return AutoDecision(AutoAction.NONE, f"policy is {facts.policy}: a person decides")
    if not facts.in_window:
        when = f" (next window {facts.next_window})" if facts.next_window else ""
        return AutoDecision(AutoAction.DEFER, f"outside the maintenance window{when}")
    if facts.held:
        return AutoDecision(AutoAction.SKIP, f"{facts.component} is held (dunebugger-units unhold {facts.component})")
    if facts.show_lock is not None:
        return AutoDecision(AutoAction.DEFER, f"a show is running: {facts.show_lock}; waiting for the next window")
    if facts.candidates is None and facts.lookup_error is None:
        return AutoDecision(AutoAction.LOOKUP, "the releases must be looked up")
    if facts.lookup_error is not None:
        return AutoDecision(AutoAction.DEFER, f"looking up the releases failed: {facts.lookup_error}")
    installed = parse_version(facts.installed)
    if installed is None:
        return AutoDecision(AutoAction.SKIP, f"the installed version of {facts.component} is unknown: an "
                                             "unattended update needs it to judge auto_limit")
    ok, beyond, pre = _eligible(facts, installed)
    if ok:
        target = ok[-1][1]
        return AutoDecision(AutoAction.UPDATE, f"{facts.installed} -> {target} (auto_limit {facts.auto_limit})",
                            target)
    if beyond:
        return AutoDecision(AutoAction.SKIP, f"{', '.join(beyond)} beyond auto_limit {facts.auto_limit} of "
                                             f"{facts.installed}: update by hand")
    failed = sorted(v for v in facts.failed_versions if (p := parse_version(v)) is not None and p > installed)
    if failed:
        return AutoDecision(AutoAction.SKIP, f"the update to {', '.join(failed)} failed before: not retried "
                                             "unattended; update by hand")
    if pre:
        return AutoDecision(AutoAction.NONE, f"only prereleases are newer ({', '.join(pre)}) and "
                                             "auto_prerelease is false")
    return AutoDecision(AutoAction.NONE, f"up to date at {facts.installed}")


def manual_gate(component: str, held: bool, show_lock: str | None, force: bool,
                command: str = "update") -> str | None:
    """Pure: why a person's `command` (update, or rollback on request) must be refused (None: it may go
    ahead). `--force`, the operator's, overrides both."""
    if force:
        return None
    forced = f"`dunebugger-units {command} {component} --force`"
    if held:
        anyway = "update it anyway" if command == "update" else "roll it back anyway"
        return f"{component} is held: `dunebugger-units unhold {component}`, or {anyway} with {forced}"
    if show_lock is not None:
        anyway = "update anyway" if command == "update" else "roll back anyway"
        return f"a show is running: {show_lock}; {anyway} with {forced}"
    return None


def window_state(window: MaintenanceWindow | None, now: datetime) -> tuple[bool, str | None]:
    """Pure: (inside the window at `now`, the next window's start as text). No window: always inside."""
    if window is None:
        return True, None
    cal = window.calendar
    wall = (now.astimezone(UTC) if cal.utc else now.astimezone()).replace(tzinfo=None)
    upcoming = next_elapse(cal, wall)
    text = f"{upcoming:%Y-%m-%d %H:%M:%S}{' UTC' if cal.utc else ''}" if upcoming else None
    return in_window(cal, window.seconds, wall), text


def next_window(window: MaintenanceWindow | None, now: datetime) -> datetime | None:
    """Pure: when an unattended update may next start, if it must wait for it: the next window's start
    (timezone-aware) when `now` is outside the window; None inside it, or with no window at all."""
    if window is None:
        return None
    cal = window.calendar
    wall = (now.astimezone(UTC) if cal.utc else now.astimezone()).replace(tzinfo=None)
    if in_window(cal, window.seconds, wall):
        return None
    upcoming = next_elapse(cal, wall)
    if upcoming is None:
        return None
    return upcoming.replace(tzinfo=UTC) if cal.utc else upcoming.astimezone()  # local wall clock, DST included


FAILED_STATUSES = ("rolled-back", "needs-manual")


def failed_versions(results: list[dict[str, object]], component: str) -> frozenset[str]:
    """Pure: the versions whose update of `component` changed the device and then failed (rolled back or
    worse): an unattended update never tries them again."""
    return frozenset(
        str(r["to_version"]) for r in results
        if r.get("component") == component and r.get("action") in ("update", "auto-update") and r.get("to_version")
        and (r.get("changed") is True or r.get("status") in FAILED_STATUSES)
    )
