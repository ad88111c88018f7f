"""The update (and dry run) of one component: gather, decide, pre-check, apply, post-check, commit.

Every kind goes through this one pipeline; what differs lives in its Kind (kinds/). It runs inside the run
skeleton (run.execute), which validates, locks, connects the bus, records and reports. Statuses start as
FAILED and change once proven.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import journal, state, transaction
from ..config import ComponentConfig, Config
from ..device import installed_version, read_current_version
from ..errors import Cancelled, PostCheckFailed, Refused, StateError, UnitsError
from ..github import GithubClient, read_token
from ..kinds.base import Plan, Prepared, UpdateContext
from ..results import Action, Status, UpdateResult, first_failure
from ..rules.preflight import RemoteFacts, choose_target, common_checks, prerelease_refusal, remote_first_check
from ..transaction import Step, TxnStatus
from .endings import kept
from .prepare import PREPARE_UNIT, forget_if_gone
from .run import Run, error_line, execute, now_iso, trace_if_bug
from .target_release import gather_target_release, staged_target_release

if TYPE_CHECKING:
    from ..fromfile import Staged


def run_update(config: Config, name: str, *, version: str | None = None, dry_run: bool = False,  # noqa: PLR0913  # every way an update is asked for
               force: bool = False, staged: Staged | None = None) -> UpdateResult:
    """The whole update of one component; always returns a recorded result (its exit code is its own).
    `force` (dunebugger-update-force@) overrides a hold and the show lock; `staged`, a release file root
    staged (fromfile.py), is installed instead of a download, with no GitHub call."""
    action = Action.DRY_RUN if dry_run else Action.UPDATE

    def gate(component: ComponentConfig, result: UpdateResult) -> None:
        if not dry_run:
            refuse_by_policy(config, component.name, force)
        if staged is None:  # the remote-first rule asks GitHub; a file is installed on a device offline
            refuse_unless_remote_first(config, component.name, result)

    return execute(config, name, action, lambda run: _update(run, version, dry_run=dry_run, staged=staged), gate)


def _update(run: Run, version: str | None, *, dry_run: bool, staged: Staged | None = None) -> None:
    run.result.source = f"file:{staged.source}" if staged is not None else "github"
    refuse_if_unfinished(run)
    if not dry_run:
        stop_preparation(run)
        # what an earlier run cut short (a half-staged release, a download) goes first
        run.kind.cleanup(run.unversioned_context())
    try:
        ctx, prepared = prepare(run, version, staged)
    except OSError as exc:  # e.g. the disk filled while downloading: nothing the device runs was changed
        raise Refused(f"pre-update checks of {run.component.name}: {error_line(exc)}") from None
    result, plan = run.result, prepared.plan
    result.from_version, result.to_version, result.checks = ctx.from_version, ctx.to_version, prepared.checks
    failed = first_failure(prepared.checks)
    if failed is not None or plan is None:
        raise Refused(f"pre-update check failed: {failed.line() if failed else 'no plan'}")
    if dry_run:
        result.plan = plan.describe(ctx)
        result.status = Status.DRY_RUN
        result.message = f"Dry run: {ctx.component.name} {ctx.from_version} -> {ctx.to_version}, all checks passed"
        return
    journal.event(f"Updating {ctx.component.name} from {ctx.from_version} to {ctx.to_version}",
                  journal.Priority.NOTICE, journal.UPDATE_STARTED, component=ctx.component.name, phase="apply",
                  from_version=ctx.from_version, to_version=ctx.to_version)
    apply_and_verify(run, ctx, plan)


def stop_preparation(run: Run) -> None:
    """A preparation ahead yields to an update: its unit is stopped, and has cleaned up, before the update
    touches the release dirs (it never started an update, so waiting for it cannot deadlock)."""
    from ..systemd import NoSuchUnit

    if run.systemd is None:
        return
    try:
        run.systemd.require_done("stop", PREPARE_UNIT, run.config.update.job_timeout)
    except NoSuchUnit:
        return  # not installed: nothing prepares
    except UnitsError as exc:
        raise Refused(f"stopping the preparation ahead: {exc}") from None


def refuse_if_unfinished(run: Run) -> None:
    pending = transaction.load(run.state_dir)
    if pending is not None:
        raise Refused(f"an unfinished update of {pending.component} ({pending.from_version} -> "
                      f"{pending.to_version}, {pending.status.value}) must be rolled back first: "
                      f"dunebugger-units rollback {pending.component}")


def refuse_by_policy(config: Config, name: str, force: bool, command: str = "update") -> None:
    """A held component, or a show running (the show lock), refuses a person's update (or rollback on
    request) unless forced."""
    from ..holds import is_held
    from ..rules.policy import manual_gate
    from ..showlock import show_lock_holder
    from ..systemd import unit_of_pid

    why = manual_gate(name, is_held(Path(config.state_dir), name),
                      show_lock_holder(config.policy.show_lock, unit_of_pid), force, command)
    if why is not None:
        raise Refused(f"{'updating' if command == 'update' else 'rolling back'} {name}: {why}")


def refuse_unless_remote_first(config: Config, name: str, result: UpdateResult) -> None:
    """The remote-first rule, from root's own facts: remote's version as root reads it on the device and its
    latest release as GitHub tells root, never the check's cache. Its outcome opens the result's checks."""
    if name == "remote" or config.policy.remote_first != "available":
        return
    outcome = remote_first_check(config.policy.remote_first, name, gather_remote(config, look_up=True))
    result.checks = [outcome] if outcome is not None else []
    if outcome is not None and not outcome.ok:
        raise Refused(f"pre-update check failed: {outcome.line()}")


def gather_remote(config: Config, *, look_up: bool) -> RemoteFacts | None:
    """Remote's installed version (and why, when unknown), read by root; with `look_up`, its latest release."""
    remote = config.components.get("remote")
    if remote is None:
        return None
    installed = installed_version(config, remote)
    if not look_up:
        return RemoteFacts(installed.version, installed.why)
    try:
        lookup = GithubClient(config.github, read_token(config.github.token_file)).latest_release(remote.repo)
    except UnitsError as exc:  # GitHub's answer, or the token file's
        return RemoteFacts(installed.version, installed.why, lookup_error=str(exc))
    return RemoteFacts(installed.version, installed.why, lookup.release.version if lookup.release else None)


def prepare(run: Run, requested: str | None, staged: Staged | None = None) -> tuple[UpdateContext, Prepared]:
    """Gather and decide: everything up to and including the pre-checks, with nothing changed."""
    config, component = run.config, run.component
    record = checked_record(config, component.name) if staged is None else {}
    current = read_current_version(config, component)
    target = choose_target(component.name, record, current, staged.version if staged else requested)
    found = (staged_target_release(config, component, staged) if staged is not None
             else gather_target_release(config, component, target))
    # the check's record names a version; whether it may be installed is root's to judge
    if why := prerelease_refusal(component.name, target.version, found.release.prerelease,
                                 config.github.include_prerelease, target.explicit):
        raise Refused(why)
    ctx = run.context(current, target.version, found.release, found.manifest)
    ctx.signed, ctx.local = found.signed, staged
    common = common_checks(component, found.manifest, gather_remote(config, look_up=False),
                           os.access(run.state_dir, os.W_OK), run.bus_error)
    checks = [*common[:2], *run.result.checks, *common[2:]]  # the remote-first outcome, decided before the lock
    if first_failure(checks) is not None:
        return ctx, Prepared(checks)
    ctx.progress("pre-update checks")
    return ctx, run.kind.prepare(ctx).after(checks)


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


def apply_and_verify(run: Run, ctx: UpdateContext, plan: Plan) -> None:
    kind, result = run.kind, run.result
    txn = transaction.Transaction(component=ctx.component.name, kind=ctx.component.type,
                                  from_version=ctx.from_version, to_version=ctx.to_version,
                                  started_at=now_iso(), invocation_id=result.invocation_id)
    phase = "apply"
    try:
        transaction.advance(run.state_dir, txn, Step.STARTED)
        # a release prepared ahead is installed now, or gone with a failed apply: no longer ready to install
        state.set_prepared(run.state_dir, ctx.component.name, None, only=ctx.to_version)
        ctx.progress("applying")
        plan.apply(ctx, txn)
        transaction.advance(run.state_dir, txn, Step.APPLIED)
        phase = "verify"
        ctx.progress("post-update checks")
        outcomes = kind.verify(ctx)
        result.checks += outcomes
        failed = first_failure(outcomes)
        if failed is not None:
            raise PostCheckFailed(failed.line())
        transaction.advance(run.state_dir, txn, Step.VERIFIED)
        ctx.progress("committing")
        kind.commit(ctx, txn)
    except BaseException as exc:
        fail_after_change(run, txn, phase, exc)
        if not isinstance(exc, Exception):
            raise  # KeyboardInterrupt, SystemExit: recorded as failed above, and the process ends
        return
    kept(run.state_dir, txn, result, f"Updated {ctx.component.name} to {ctx.to_version}")
    with contextlib.suppress(UnitsError, OSError):  # display only: the update itself is done
        forget_if_gone(run.config, ctx.component)


def fail_after_change(run: Run, txn: transaction.Transaction, phase: str, exc: BaseException) -> None:
    """Say how the update failed; when it had changed the device, mark the record for the rollback."""
    trace_if_bug(exc)
    result, reason = run.result, error_line(exc)
    checks_failed = isinstance(exc, PostCheckFailed)
    summary = f"Post-update checks failed: {reason}" if checks_failed else f"Update failed during {phase}: {reason}"
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
