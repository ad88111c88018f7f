"""Prepare ahead: root gets each component's update ready in the background, so that the update a person
starts later only switches, restarts and checks (docs/design.md, "Prepared ahead").

dunebugger-prepare.service runs this as root, at low priority, each time dunebugger-check.service succeeds.
For every component with `prepare_ahead: true`: gather (root's own GitHub answer, never the check's cache;
the device; root's record) -> decide (pure: choose_preparation) -> act (the kind prepares: core's release
staged with its venv, a container's image pulled) -> record (`prepared` in root's state).

It holds the update lock only for the moment it records, and an update stops this unit before it starts
(phases/update.stop_preparation): a stop ends a preparation cleanly, a kill leaves a release dir with the
staging mark, which is never taken as prepared and is removed by the next preparation or update.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import journal, state
from ..config import ComponentConfig, Config, config_path, load_config
from ..errors import Cancelled, ExitCode, UnitsError
from ..versions import is_newer

if TYPE_CHECKING:
    from ..github import GithubClient
    from ..kinds.base import Kind
    from ..systemd import Systemd

# The bus, GitHub, the kinds and the release's tools are imported where a preparation starts: most runs of this
# unit (one after every check) find nothing to prepare, and answer without them (`idle_lines`).

NAME = "dunebugger-prepare"
PREPARE_UNIT = "dunebugger-prepare.service"


@dataclass(frozen=True)
class PrepareFacts:
    component: str
    allowed: bool  # components.<name>.prepare_ahead
    current: str
    latest: str | None  # GitHub's latest release as root asked for it; None when there is none
    failed: frozenset[str] = frozenset()  # versions whose update failed here and was rolled back
    prepared: str | None = None  # root's record
    prepared_intact: bool = False  # what the record names is still there, complete


@dataclass(frozen=True)
class PrepareDecision:
    version: str | None  # the version to prepare now, or None
    drop: bool  # the recorded preparation goes: installed, superseded, broken or no longer wanted
    why: str


def choose_preparation(facts: PrepareFacts) -> PrepareDecision:
    """Pure: what to prepare, and whether the recorded preparation goes."""
    had = facts.prepared is not None
    if not facts.allowed:
        return PrepareDecision(None, had, "prepare_ahead is off")
    if facts.latest is None:
        return PrepareDecision(None, had, "no release published")
    if not is_newer(facts.latest, facts.current):
        return PrepareDecision(None, had, f"up to date at {facts.current}")
    if facts.latest in facts.failed:
        return PrepareDecision(None, had, f"{facts.latest} failed on this device before: not prepared again")
    if facts.prepared == facts.latest and facts.prepared_intact:
        return PrepareDecision(None, False, f"{facts.latest} is ready to install")
    return PrepareDecision(facts.latest, had, f"preparing {facts.latest}")


@dataclass
class PrepareReport:
    lines: dict[str, str] = field(default_factory=dict)  # component -> what happened, one line
    failed: list[str] = field(default_factory=list)


def idle_lines(config: Config) -> dict[str, str] | None:
    """Each component's line when none may prepare ahead and none has a preparation recorded (what
    `choose_preparation` decides then, read without the bus or GitHub); None when there is work to look at."""
    state_dir = Path(config.state_dir)
    if any(c.prepare_ahead or state.read_prepared(state_dir, c.name) is not None for c in config.components.values()):
        return None
    return dict.fromkeys(config.components, "prepare_ahead is off")


def run_prepare(config: Config) -> PrepareReport:
    idle = idle_lines(config)
    report = PrepareReport(lines=idle) if idle is not None else prepare_all(config)
    for name, line in report.lines.items():
        priority = journal.Priority.WARNING if name in report.failed else journal.Priority.INFO
        journal.event(f"{name}: {line}", priority, component=name, phase="prepare")
    return report


def prepare_all(config: Config) -> PrepareReport:
    from ..github import GithubClient, read_token
    from ..kinds.venv import low_priority_children
    from .run import connected, error_line, stop_cancels, trace_if_bug

    report = PrepareReport()
    with stop_cancels(), connected() as (systemd, _bus_error), low_priority_children():
        client = GithubClient(config.github, read_token(config.github.token_file))
        for name in config.components:
            try:
                report.lines[name] = prepare_component(config, client, systemd, config.components[name])
            except (Cancelled, KeyboardInterrupt) as exc:
                report.lines[name] = f"stopped ({exc or 'interrupted'}); nothing half-made is kept"
                break
            except Exception as exc:  # components fail independently; a bug still names itself
                trace_if_bug(exc)
                report.lines[name] = f"not prepared: {error_line(exc)}"
                report.failed.append(name)
    return report


def prepare_component(config: Config, client: GithubClient, systemd: Systemd | None,
                      component: ComponentConfig) -> str:
    from .. import transaction
    from ..kinds import kind_of
    from ..kinds.base import UpdateContext
    from ..rules.preflight import Target
    from .run import progress_reporter, stamp_now
    from .target_release import gather_target_release

    kind, state_dir = kind_of(component.type), Path(config.state_dir)
    record = state.read_prepared(state_dir, component.name)
    facts = gather_facts(config, client, kind, component, record)
    decision = choose_preparation(facts)
    if decision.drop and record is not None:
        kind.drop_prepared(config, component, record)
        state.set_prepared(state_dir, component.name, None)
    if decision.version is None:
        return decision.why
    if (unfinished := transaction.load(state_dir)) is not None:
        return f"not prepared: the update of {unfinished.component} is unfinished"
    try:  # taken for a moment only: an update that runs now (it stops this unit when it begins) is never raced
        with state.update_lock(state_dir, f"{component.name} (preparing)"):
            pass
    except state.Busy as busy:
        return f"not prepared: the update of {busy.holder} is running"
    found = gather_target_release(config, component, Target(decision.version, explicit=False))
    ctx = UpdateContext(config=config, component=component, from_version=facts.current,
                        to_version=decision.version, release=found.release, manifest=found.manifest,
                        systemd=systemd, progress=progress_reporter(component.name, facts.current, decision.version),
                        stamp=stamp_now(), signed=found.signed)
    prepared = kind.prepare_ahead(ctx)
    try:
        with state.update_lock(state_dir, f"{component.name} (preparing)"):
            state.set_prepared(state_dir, component.name, prepared)
    except state.Busy as busy:  # an update or rollback began meanwhile: what is not recorded is not kept
        kind.drop_prepared(config, component, prepared)
        return f"not prepared: the update of {busy.holder} began"
    return f"{decision.version} is ready to install"


def gather_facts(config: Config, client: GithubClient, kind: Kind, component: ComponentConfig,
                 record: Mapping[str, Any] | None) -> PrepareFacts:
    """The device, root's own answer from GitHub (raises CheckFailed), and root's record."""
    from ..device import read_current_version
    from ..rules.policy import failed_versions

    current = read_current_version(config, component)
    latest = None
    if component.prepare_ahead:
        release = client.latest_release(component.repo).release
        latest = release.version if release is not None else None
    prepared = str(record["version"]) if record is not None and record.get("version") else None
    return PrepareFacts(component=component.name, allowed=component.prepare_ahead, current=current, latest=latest,
                        failed=failed_versions(state.read_results(Path(config.state_dir)), component.name),
                        prepared=prepared,
                        prepared_intact=prepared is not None and kind.is_prepared(config, component, record or {}))


def forget_if_gone(config: Config, component: ComponentConfig) -> None:
    """After an update's retention: a prepared release it pruned is no longer ready to install."""
    from ..kinds import kind_of

    state_dir = Path(config.state_dir)
    record = state.read_prepared(state_dir, component.name)
    if record is not None and not kind_of(component.type).is_prepared(config, component, record):
        state.set_prepared(state_dir, component.name, None)


def main() -> None:
    """`dunebugger-prepare`: what dunebugger-prepare.service runs, as root. Exit 0 when every component was
    prepared or had nothing to prepare (or the run was stopped), 1 when one failed."""
    journal.set_identifier(NAME)
    if os.geteuid() != 0:
        print(f"{NAME}: needs root: it stages releases for the update (run it with sudo)", file=sys.stderr)
        raise SystemExit(int(ExitCode.NEEDS_ROOT))
    try:
        config = load_config(config_path(None))
    except UnitsError as exc:
        print(f"{NAME}: {exc}", file=sys.stderr)
        raise SystemExit(int(exc.exit_code)) from None
    report = run_prepare(config)  # each component's line is in the journal
    raise SystemExit(1 if report.failed else 0)
