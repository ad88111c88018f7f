"""Discover: for each component, the installed version against the latest GitHub release.

gather (device + GitHub, concurrently) -> decide (pure: the new record) -> act (one state write) -> report.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import journal, state, transaction
from ..config import ComponentConfig, Config
from ..device import installed_version
from ..errors import CheckFailed, RateLimited, StateError
from ..github import GithubClient, Lookup, Release, iso, read_token
from ..rules.policy import failed_versions, next_window
from ..versions import is_newer

# The keys of one component in the frontend's `update_check_result` (pinned by a contract test).
FRONTEND_KEYS = (
    "current",
    "latest",
    "update_available",
    "release_notes",
    "last_checked",
    "release_url",
    "published_at",
    "assets",
    "error",
    "held",  # held with `dunebugger-units hold` (never updated unattended)
    "policy",  # notify or auto
    "next_window",  # when an unattended update may next start, if it waits for the maintenance window
    "failed_versions",  # releases whose update failed on this device and was rolled back
)


@dataclass(frozen=True)
class CheckFacts:
    component: str
    current: str
    stored: Mapping[str, Any]
    url: str
    lookup: Lookup | None = None
    error: str | None = None
    rate_limited_until: str | None = None
    version_error: str | None = None  # the installed version is in a file the check may not read


@dataclass(frozen=True)
class CheckReport:
    components: dict[str, dict[str, Any]]
    warnings: tuple[str, ...] = ()
    root: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # state.root_keys of each component

    @property
    def failed(self) -> list[str]:
        return [name for name, record in self.components.items() if record.get("error")]

    def body(self) -> dict[str, Any]:
        """The updater's keys of the frontend's `update_check_result` (FRONTEND_KEYS), with root's last result
        and the release it prepared ahead, as `status` shows them."""
        return {"components": {n: frontend_view(r) | dict(self.root.get(n, {})) for n, r in self.components.items()}}


def frontend_view(record: Mapping[str, Any]) -> dict[str, Any]:
    return {key: record.get(key) for key in FRONTEND_KEYS}


def _release_fields(release: Release | None) -> dict[str, Any]:
    if release is None:
        return {"latest": None, "tag": None, "release_notes": "", "release_url": None,
                "published_at": None, "assets": []}
    return {
        "latest": release.version,
        "tag": release.tag,
        "release_notes": release.notes,
        "release_url": release.url,
        "published_at": release.published_at,
        "assets": [
            {"name": a.name, "size": a.size, "url": a.url, "digest": a.digest} for a in release.assets
        ],
    }


def _stored_release_fields(stored: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("latest", "tag", "release_notes", "release_url", "published_at", "assets")
    defaults = _release_fields(None)
    return {key: stored.get(key, defaults[key]) for key in keys}


def decide_record(facts: CheckFacts, now: datetime) -> dict[str, Any]:
    """The component's new check record: pure, table-tested."""
    stored = facts.stored
    record: dict[str, Any] = {"current": facts.current}
    if facts.lookup is None:  # failed or skipped: keep what was last known
        record |= _stored_release_fields(stored)
        record |= {
            "last_checked": stored.get("last_checked"),
            "error": facts.error,
            "etag": stored.get("etag"),
            "etag_url": stored.get("etag_url"),
            "rate_limited_until": facts.rate_limited_until,
        }
    else:
        fresh = _stored_release_fields(stored) if facts.lookup.not_modified else _release_fields(
            facts.lookup.release
        )
        record |= fresh | {
            "last_checked": iso(now),
            "error": None,
            "etag": facts.lookup.etag,
            "etag_url": facts.url if facts.lookup.etag else None,
            "rate_limited_until": None,
        }
    record["update_available"] = is_newer(record["latest"], facts.current)
    errors = [e for e in (record["error"], facts.version_error) if e]
    record["error"] = "; ".join(errors) or None
    return record


def _still_limited(stored: Mapping[str, Any], now: datetime) -> str | None:
    until = stored.get("rate_limited_until")
    if not isinstance(until, str):
        return None
    try:
        when = datetime.fromisoformat(until.replace("Z", "+00:00"))
    except ValueError:
        return None
    return until if when > now else None


def gather_facts(
    client: GithubClient, config: Config, component: ComponentConfig, stored: Mapping[str, Any], now: datetime
) -> CheckFacts:
    installed = installed_version(config, component)
    current = installed.version
    url = client.releases_url(component.repo)
    # a file the check may not read is worth an error; a device that does not say is just "unknown"
    facts = CheckFacts(component=component.name, current=current, stored=stored, url=url,
                       version_error=installed.why if installed.denied else None)
    if until := _still_limited(stored, now):
        # no request at all until GitHub said we may ask again
        return replace(facts, error=f"rate limited until {until}", rate_limited_until=until)
    etag = stored.get("etag") if stored.get("etag_url") == url else None
    try:
        lookup = client.latest_release(component.repo, etag)
    except RateLimited as exc:
        return replace(facts, error=str(exc), rate_limited_until=exc.until)
    except CheckFailed as exc:
        return replace(facts, error=str(exc))
    return replace(facts, lookup=lookup)


def _load_stored(cache_dir: Path, now: datetime) -> tuple[dict[str, Any], list[str]]:
    try:
        return state.load_cache(cache_dir)["components"], []
    except StateError as exc:
        aside = state.quarantine(state.cache_file(cache_dir), now.strftime("%Y%m%d_%H%M%S"))
        return {}, [f"{exc}; moved aside to {aside}, starting afresh"]


def run_check(config: Config, names: Iterable[str] | None = None, now: datetime | None = None,
              workers: int | None = None) -> CheckReport:
    """Check the components concurrently (`workers=1`: one after another, for the benchmark)."""
    now = now or datetime.now(UTC)
    components = [config.component(n) for n in (names or config.components)]
    cache_dir = Path(config.check_cache_dir)
    stored, warnings = _load_stored(cache_dir, now)
    client = GithubClient(config.github, read_token(config.github.token_file))
    all_facts = _each(lambda c: gather_facts(client, config, c, stored.get(c.name, {}), now), components, workers)
    records = {facts.component: decide_record(facts, now) for facts in all_facts}
    held = _holds(Path(config.state_dir), warnings)
    waits_until = next_window(config.policy.maintenance_window, now)
    history = state.read_results(Path(config.state_dir))
    for component in components:
        waits = waits_until if component.policy == "auto" else None  # a person's update never waits for it
        records[component.name] |= {"held": component.name in held, "policy": component.policy,
                                    "next_window": waits.isoformat() if waits else None,
                                    "failed_versions": sorted(failed_versions(history, component.name))}

    def merge(data: state.State) -> None:
        for name, record in records.items():
            data["components"].setdefault(name, {}).update(record)

    state.update_cache(cache_dir, merge)
    for facts in all_facts:
        warnings += [f"{facts.component}: tag {t!r} is not a version, skipped" for t in _skipped(facts)]
    if (unfinished := transaction.describe_unfinished(Path(config.state_dir))) is not None:
        warnings.append(unfinished["message"])
    report = CheckReport(components=records, warnings=tuple(warnings),
                         root=state.root_keys(Path(config.state_dir), records))
    report_to_journal(report)
    return report


def _each(work: Callable[[ComponentConfig], CheckFacts], components: Sequence[ComponentConfig],
          workers: int | None) -> list[CheckFacts]:
    """`work` of each component, `workers` at a time (all at once by default), in the components' order; the
    first one's exception is raised. Plain threads: concurrent.futures imports logging, which a person's
    check would pay for at every start (docs/performance.md)."""
    done: list[CheckFacts | BaseException | None] = [None] * len(components)

    def run(index: int) -> None:
        try:
            done[index] = work(components[index])
        except BaseException as exc:  # raised again below, on the caller's thread
            done[index] = exc

    size = max(1, workers or len(components))
    for first in range(0, len(components), size):
        threads = [threading.Thread(target=run, args=(i,)) for i in range(first, min(first + size, len(components)))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    for outcome in done:
        if isinstance(outcome, BaseException):
            raise outcome
    return [outcome for outcome in done if isinstance(outcome, CheckFacts)]


def _holds(state_dir: Path, warnings: list[str]) -> dict[str, Any]:
    from ..holds import read_holds

    try:
        return read_holds(state_dir)
    except StateError as exc:
        warnings.append(str(exc))
        return {}


def _skipped(facts: CheckFacts) -> tuple[str, ...]:
    return facts.lookup.skipped_tags if facts.lookup else ()


def report_to_journal(report: CheckReport) -> None:
    for warning in report.warnings:
        journal.event(warning, journal.Priority.WARNING, phase="check")
    for name, record in report.components.items():
        fields = {"component": name, "phase": "check", "current": record["current"], "latest": record["latest"]}
        if record["error"]:
            journal.event(f"Checking {name} for updates failed: {record['error']}", journal.Priority.WARNING,
                          journal.CHECK_FAILED, **fields)
        elif record["update_available"]:
            journal.event(f"Update available for {name}: {record['current']} -> {record['latest']}",
                          journal.Priority.NOTICE, journal.UPDATE_AVAILABLE, **fields)
        elif record["latest"] is None:
            journal.event(f"{name}: no release published (installed {record['current']})", **fields)
        else:
            journal.event(f"{name} is up to date at {record['current']} (latest {record['latest']})", **fields)
