"""Unattended updates: what dunebugger-auto-update.service (root, started by its timer) runs.

For each component with `policy: auto`: gather the cheap facts (window, hold, show lock, history), decide
(phases/policy.decide_auto, pure); only when they allow it, look the releases up on GitHub itself — root never
acts on what the unprivileged check wrote — and decide again; then act: start dunebugger-update@C over D-Bus
with the chosen version as root's own one-shot request, and wait for its result (or the rollback's). Report:
a journal entry with its own MESSAGE_ID, and a history record (`action: auto-update`) for every outcome worth
a person's attention, once per distinct outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import journal, state
from ..config import ComponentConfig, Config
from ..device import read_current_version
from ..errors import CheckFailed
from ..github import GithubClient, read_token
from ..holds import read_holds
from ..results import Action, Status, UpdateResult
from ..rules.policy import AutoAction, AutoDecision, AutoFacts, Candidate, decide_auto, failed_versions, window_state
from ..showlock import show_lock_holder
from ..systemd import unit_of_pid
from .run import now_iso

UPDATE_DEADLINE = 3600.0
BAD_OUTCOMES = ("failed", "rolled-back", "needs-manual")


@dataclass
class AutoReport:
    decisions: dict[str, AutoDecision] = field(default_factory=dict)
    outcomes: dict[str, dict[str, Any]] = field(default_factory=dict)  # the update's (or rollback's) result

    @property
    def failed(self) -> bool:
        return any(o.get("status") in BAD_OUTCOMES for o in self.outcomes.values())

    def to_dict(self) -> dict[str, Any]:
        return {name: {"action": d.action.value, "reason": d.reason, "target": d.target,
                       "result": self.outcomes.get(name)} for name, d in self.decisions.items()}


def run_auto(config: Config, now: datetime | None = None) -> AutoReport:
    """Decide and act for every component with `policy: auto`, one after another (one update at a time)."""
    report = AutoReport()
    auto = [c for c in config.components.values() if c.policy == "auto"]
    if not auto:
        return report
    state_dir = Path(config.state_dir)
    in_window, next_window = window_state(config.policy.maintenance_window, now or datetime.now(UTC))
    holds = read_holds(state_dir)
    history = state.read_results(state_dir)
    for component in auto:
        facts = AutoFacts(component=component.name, policy=component.policy, auto_limit=component.auto_limit,
                          auto_prerelease=component.auto_prerelease, held=component.name in holds,
                          installed=read_current_version(config, component), in_window=in_window,
                          next_window=next_window, show_lock=show_lock_holder(config.policy.show_lock, unit_of_pid),
                          candidates=None, failed_versions=failed_versions(history, component.name))
        decision = decide_auto(facts)
        if decision.action is AutoAction.LOOKUP:
            decision = decide_auto(look_up(config, component, facts))
        report.decisions[component.name] = decision
        if decision.action is AutoAction.UPDATE and decision.target:
            report.outcomes[component.name] = start_update(config, component.name, decision.target)
        record(state_dir, facts, decision, report.outcomes.get(component.name), history)
    return report


def look_up(config: Config, component: ComponentConfig, facts: AutoFacts) -> AutoFacts:
    client = GithubClient(config.github, read_token(config.github.token_file))
    try:
        releases = client.list_releases(component.repo)
    except CheckFailed as exc:
        return replace(facts, candidates=(), lookup_error=str(exc))
    return replace(facts, candidates=tuple(Candidate(r.version, r.prerelease) for r in releases))


def start_update(config: Config, name: str, version: str) -> dict[str, Any]:
    """Ask for `version` of NAME through org.dunebugger.Updater1 (which writes root's request and starts
    dunebugger-update@NAME), followed to its (or its rollback's) recorded result."""
    from ..remote.client import UpdaterClient

    client = UpdaterClient(Path(config.state_dir), deadline=UPDATE_DEADLINE)
    try:
        result: dict[str, Any] = {}
        for event in client.update(name, version=version):
            if event.kind == "progress":
                continue
            result = event.data
        return result
    except Exception as exc:  # the bus or the client failed: a result that says so
        return {"component": name, "status": "failed", "message": f"starting the update: {exc}"}


# (decision, outcome status) -> priority and MESSAGE_ID of the journal entry
def _journal_of(decision: AutoDecision, outcome: dict[str, Any] | None) -> tuple[journal.Priority, str]:
    if decision.action is AutoAction.DEFER:
        return journal.Priority.NOTICE, journal.AUTO_DEFERRED
    if decision.action is AutoAction.SKIP:
        return journal.Priority.NOTICE, journal.AUTO_SKIPPED
    status = (outcome or {}).get("status")
    if status == "updated":
        return journal.Priority.NOTICE, journal.AUTO_FINISHED
    if status == "refused":
        return journal.Priority.WARNING, journal.AUTO_FINISHED
    return journal.Priority.ERR, journal.AUTO_FINISHED


def auto_result(facts: AutoFacts, decision: AutoDecision, outcome: dict[str, Any] | None) -> UpdateResult:
    """Pure: the history record of one unattended decision (an update: with the update's own outcome)."""
    result = UpdateResult(component=facts.component, action=Action.AUTO, from_version=facts.installed,
                          to_version=decision.target, started_at=now_iso())
    if decision.action is AutoAction.UPDATE:
        outcome = outcome or {}
        result.status = Status(outcome.get("status", "failed"))
        result.changed = bool(outcome.get("changed"))
        result.message = f"Unattended update of {facts.component}: {outcome.get('message') or 'no result'}"
        result.invocation_id = outcome.get("invocation_id")
    else:
        result.status = Status.DEFERRED if decision.action is AutoAction.DEFER else Status.SKIPPED
        verb = "deferred" if decision.action is AutoAction.DEFER else "skipped"
        result.message = f"Unattended update of {facts.component} {verb}: {decision.reason}"
    result.finished_at = now_iso()
    return result


def worth_recording(decision: AutoDecision, message: str, history: list[dict[str, Any]], component: str) -> bool:
    """Pure: every update is recorded; a deferral or skip only when it says something new (not the same as
    the last one), and never "outside the window" (the normal state between windows)."""
    if decision.action is AutoAction.UPDATE:
        return True
    if decision.action is AutoAction.NONE or decision.reason.startswith("outside the maintenance window"):
        return False
    last = next((r for r in history if r.get("component") == component and r.get("action") == "auto-update"), None)
    return last is None or last.get("message") != message


def record(state_dir: Path, facts: AutoFacts, decision: AutoDecision, outcome: dict[str, Any] | None,
           history: list[dict[str, Any]]) -> None:
    fields = {"component": facts.component, "phase": "auto-update", "from_version": facts.installed,
              "to_version": decision.target, "decision": decision.action.value}
    if decision.action in (AutoAction.NONE, AutoAction.LOOKUP):
        journal.event(f"{facts.component}: no unattended update: {decision.reason}", journal.Priority.INFO,
                      **fields)
        return
    result = auto_result(facts, decision, outcome)
    if not worth_recording(decision, result.message, history, facts.component):
        journal.event(result.message, journal.Priority.INFO, **fields)
        return
    priority, message_id = _journal_of(decision, outcome)
    journal.event(result.message, priority, message_id, status=result.status.value, **fields)
    state.record_result(state_dir, result.to_dict(), mirror=False)
