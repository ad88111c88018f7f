"""The update (and dry run) of one component: gather, decide, pre-check, apply, post-check, commit.

Both kinds go through this one pipeline; what differs lives in their Kind (kinds/). It runs inside the run
skeleton (run.execute), which validates, locks, connects the bus, records and reports. Statuses start as
FAILED and change once proven.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import journal, state, transaction
from ..config import Config
from ..device import read_current_version
from ..errors import Cancelled, Refused, StateError, UnitsError
from ..github import GithubClient, read_token
from ..kinds import kind_of
from ..kinds.base import Kind, UpdateContext
from ..results import Action, CheckOutcome, Status, UpdateResult, first_failure
from ..rules.preflight import (
    choose_target,
    common_checks,
    gather_manifest,
    gather_release,
    gather_signatures,
    remote_first_check,
)
from ..transaction import Step, TxnStatus
from ..versions import UNKNOWN
from .run import Run, execute, explain, now_iso


def run_update(config: Config, name: str, *, version: str | None = None, dry_run: bool = False,
               force: bool = False) -> UpdateResult:
    """The whole update of one component; always returns a recorded result (its exit code is its own).
    `force` (dunebugger-update-force@) overrides a hold and the show lock."""
    action = Action.DRY_RUN if dry_run else Action.UPDATE
    return execute(config, name, action, lambda run: _update(run, version, dry_run=dry_run, force=force))


@dataclass
class Prepared:
    """Everything decided before the device is touched: the context, the kind, its checks and its plan."""

    ctx: UpdateContext
    kind: Kind[Any]
    checks: list[CheckOutcome]
    plan: Any  # the kind's own plan type (ComposePlan, CorePlan); None when a check failed


def _update(run: Run, version: str | None, *, dry_run: bool, force: bool = False) -> None:
    refuse_if_unfinished(run)
    if not dry_run:
        refuse_by_policy(run, force)
        # what an earlier run cut short (a half-staged release, a download) goes first
        kind_of(run.component.type).cleanup(run.context("", ""))
    try:
        prepared = prepare(run, version)
    except OSError as exc:  # e.g. the disk filled while downloading: nothing the device runs was changed
        raise Refused(f"pre-update checks of {run.component.name}: {explain(exc)}") from None
    ctx, result = prepared.ctx, run.result
    result.from_version, result.to_version, result.checks = ctx.from_version, ctx.to_version, prepared.checks
    failed = first_failure(prepared.checks)
    if failed is not None or prepared.plan is None:
        raise Refused(f"pre-update check failed: {failed.line() if failed else 'no plan'}")
    if dry_run:
        result.plan = prepared.kind.describe(ctx, prepared.plan)
        result.status = Status.DRY_RUN
        result.message = f"Dry run: {ctx.component.name} {ctx.from_version} -> {ctx.to_version}, all checks passed"
        return
    journal.event(f"Updating {ctx.component.name} from {ctx.from_version} to {ctx.to_version}",
                  journal.Priority.NOTICE, journal.UPDATE_STARTED, component=ctx.component.name, phase="apply",
                  from_version=ctx.from_version, to_version=ctx.to_version)
    apply_and_verify(run, prepared)


def refuse_if_unfinished(run: Run) -> None:
    pending = transaction.load(run.state_dir)
    if pending is not None:
        raise Refused(f"an unfinished update of {pending.component} ({pending.from_version} -> "
                      f"{pending.to_version}, {pending.status.value}) must be rolled back first: "
                      f"dunebugger-units rollback {pending.component}")


def refuse_by_policy(run: Run, force: bool) -> None:
    """A held component, or a show running (the show lock), refuses a person's update unless forced."""
    from ..holds import is_held
    from ..rules.policy import manual_gate
    from ..showlock import show_lock_holder

    name = run.component.name
    unit_of = run.systemd.unit_of_pid if run.systemd is not None else None
    why = manual_gate(name, is_held(run.state_dir, name), show_lock_holder(run.config.policy.show_lock, unit_of),
                      force)
    if why is not None:
        raise Refused(f"updating {name}: {why}")


def prepare(run: Run, requested: str | None) -> Prepared:
    """Gather and decide: everything up to and including the pre-checks, with nothing changed."""
    config, component = run.config, run.component
    record = checked_record(config, component.name)
    current = read_current_version(config, component)
    target = choose_target(component.name, record, current, requested)
    client = GithubClient(config.github, read_token(config.github.token_file))
    release = gather_release(client, component, target)
    # before anything is fetched for staging
    signed = gather_signatures(config, f"{config.github.owner}/{component.repo}", release)
    manifest = gather_manifest(client, config, component, release, signed)
    ctx = run.context(current, target.version, release, manifest)
    ctx.signed = signed
    remote = config.components.get("remote")
    remote_version = read_current_version(config, remote) if remote else None
    checks = common_checks(component, manifest, remote_version, os.access(run.state_dir, os.W_OK),
                           run.bus_error)
    # display-grade facts (the check's cache merged with root's record): they can only hold an update back
    views = state.component_views(run.state_dir, Path(config.check_cache_dir))
    first = remote_first_check(config.policy.remote_first, component.name, views.get("remote", {}))
    checks += [first] if first is not None else []
    kind = kind_of(component.type)
    if first_failure(checks) is not None:
        return Prepared(ctx, kind, checks, None)
    ctx.progress("pre-update checks")
    checked = kind.prepare(ctx)
    return Prepared(ctx, kind, checks + checked.outcomes, checked.plan)


def checked_record(config: Config, name: str) -> dict[str, Any]:
    """The check's record of one component, from its cache: untrusted, so only `latest` and `last_checked`
    are read (choose_target validates the version); unreadable means "no check result"."""
    try:
        record = state.load_cache(Path(config.check_cache_dir))["components"].get(name)
    except StateError:
        return {}
    if not isinstance(record, dict):
        return {}
    return {key: record.get(key) for key in ("latest", "last_checked")}


def apply_and_verify(run: Run, prepared: Prepared) -> None:
    ctx, kind, result = prepared.ctx, prepared.kind, run.result
    txn = transaction.Transaction(component=ctx.component.name, kind=ctx.component.type,
                                  from_version=ctx.from_version, to_version=ctx.to_version,
                                  started_at=now_iso(), invocation_id=result.invocation_id)
    phase = "apply"
    try:
        transaction.advance(run.state_dir, txn, Step.STARTED)
        ctx.progress("applying")
        kind.apply(ctx, prepared.plan, txn)
        transaction.advance(run.state_dir, txn, Step.APPLIED)
        phase = "verify"
        ctx.progress("post-update checks")
        outcomes = kind.verify(ctx)
        result.checks += outcomes
        failed = first_failure(outcomes)
        if failed is not None:
            raise UnitsError(f"Post-update checks failed: {failed.line()}")
        transaction.advance(run.state_dir, txn, Step.VERIFIED)
        ctx.progress("committing")
        kind.commit(ctx, txn)
    except BaseException as exc:
        fail_after_change(run, txn, phase, exc)
        if not isinstance(exc, Exception):
            raise  # KeyboardInterrupt, SystemExit: recorded as failed above, and the process ends
        return
    transaction.clear(run.state_dir)
    state.record_installed(run.state_dir, ctx.component.name, ctx.to_version)
    remember_previous(run.state_dir, txn)
    result.status = Status.UPDATED
    result.message = f"Updated {ctx.component.name} to {ctx.to_version}"


def remember_previous(state_dir: Path, txn: transaction.Transaction) -> None:
    """What `dunebugger-units rollback` returns to: the version this update replaced, and where it is kept."""
    known = txn.from_version != UNKNOWN
    state.set_previous(state_dir, txn.component, {"version": txn.from_version, "installed": txn.to_version,
                                                  "backups": txn.backups} if known else None)


def fail_after_change(run: Run, txn: transaction.Transaction, phase: str, exc: BaseException) -> None:
    """Say how the update failed; when it had changed the device, mark the record for the rollback."""
    result, reason = run.result, explain(exc)
    summary = reason if reason.startswith("Post-update checks failed") else f"Update failed during {phase}: {reason}"
    current = transaction.load(run.state_dir) or txn
    result.status = Status.FAILED
    if not current.changed:
        transaction.clear(run.state_dir)  # nothing was changed yet: no rollback needed
        result.message = f"{summary}; nothing was changed"
        return
    current.status = TxnStatus.FAILED
    current.failure = ("Update cancelled" if isinstance(exc, (Cancelled, KeyboardInterrupt))
                       else "Post-update checks failed" if phase == "verify" else "Update failed")
    transaction.save(run.state_dir, current)
    result.changed = True
    result.message = f"{summary}; rolling back to {txn.from_version}"
