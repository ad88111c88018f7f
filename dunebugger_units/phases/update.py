"""The update pipeline of one component: validate, decide, pre-check, apply, post-check, commit, report.

Both kinds (container, python_app) go through this one pipeline; what differs lives in their Kind
(phases/apply_compose.py, phases/apply_tarball.py). Statuses start as FAILED and change once proven.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import journal, state, transaction
from ..config import ComponentConfig, Config
from ..device import read_current_version
from ..errors import ExitCode, Refused, UnitsError
from ..github import GithubClient, read_token
from ..manifest import Manifest
from ..results import CheckOutcome, Status, UpdateResult, first_failure
from ..systemd import Systemd, SystemdError, notify_status
from .base import Kind, UpdateContext
from .preflight import (
    choose_target,
    common_checks,
    gather_manifest,
    gather_release,
    remote_first_check,
    validate_instance,
)

KINDS = {
    "container": ("dunebugger_units.phases.apply_compose", "ContainerKind"),
    "python_app": ("dunebugger_units.phases.apply_tarball", "PythonAppKind"),
}


def load_kind(component: ComponentConfig) -> Kind:
    module, name = KINDS[component.type]
    return getattr(importlib.import_module(module), name)()  # type: ignore[no-any-return]


NOTHING_CHANGED = "nothing was changed"


def exit_code_for(result: UpdateResult) -> ExitCode:
    """The exit code of a result. A failure before any change exits like a refusal: OnFailure= must not roll
    back a device that was not changed."""
    if result.status is Status.FAILED and result.message.endswith(NOTHING_CHANGED):
        return ExitCode.REFUSED
    return {
        Status.UPDATED: ExitCode.OK, Status.UNCHANGED: ExitCode.OK, Status.DRY_RUN: ExitCode.OK,
        Status.REFUSED: ExitCode.REFUSED, Status.ROLLED_BACK: ExitCode.UPDATE_FAILED,
        Status.NEEDS_MANUAL: ExitCode.ROLLBACK_FAILED,
    }.get(result.status, ExitCode.UPDATE_FAILED)


def now_iso() -> str:
    """UTC with microseconds: the remote finds the result of the run it asked for by time, in order."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def stamp_now() -> str:
    return datetime.now().strftime("%Y%m%d_%H%M%S")


def progress_reporter(component: str, fields: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Each phase reached becomes the unit's status text and one journal line."""

    def progress(phase: str) -> None:
        notify_status(f"{component}: {phase}")
        journal.event(f"{component}: {phase}", journal.Priority.INFO, component=component, phase=phase,
                      **fields)

    return progress


@dataclass
class Prepared:
    ctx: UpdateContext
    kind: Kind
    checks: list[CheckOutcome]


def connect_systemd() -> tuple[Systemd | None, str | None]:
    try:
        return Systemd.connect(), None
    except SystemdError as exc:
        return None, str(exc)


def prepare(config: Config, component: ComponentConfig, requested: str | None,
            systemd: Systemd | None, bus_error: str | None) -> Prepared:
    """Gather and decide: everything up to the pre-checks, with nothing changed on the device."""
    state_dir = Path(config.state_dir)
    record = state.load_state(state_dir)["components"].get(component.name, {})
    current = read_current_version(config, component)
    target = choose_target(component.name, record, current, requested)
    client = GithubClient(config.github, read_token(config.github.token_file))
    release = gather_release(client, component, record, target)
    manifest = gather_manifest(client, config, component, release.tag if release else f"v{target.version}")
    fields = {"from_version": current, "to_version": target.version}
    ctx = UpdateContext(config=config, component=component, from_version=current, to_version=target.version,
                        release=release, manifest=manifest, systemd=systemd,
                        progress=progress_reporter(component.name, fields), stamp=stamp_now())
    remote = config.components.get("remote")
    remote_version = read_current_version(config, remote) if remote else None
    checks = common_checks(component, manifest, remote_version, os.access(state_dir, os.W_OK), bus_error)
    first = remote_first_check(config.policy.remote_first, component.name,
                               state.load_state(state_dir)["components"].get("remote", {}))
    checks += [first] if first is not None else []
    kind = load_kind(component)
    if first_failure(checks) is None:
        ctx.progress("pre-update checks")
        checks += kind.preflight(ctx)
    return Prepared(ctx, kind, checks)


def new_result(component: str, action: str, **versions: str | None) -> UpdateResult:
    return UpdateResult(component=component, action=action, started_at=now_iso(),
                        invocation_id=os.environ.get("INVOCATION_ID"), **versions)  # type: ignore[arg-type]


def guarded(result: UpdateResult, state_dir: Path, label: str, body: Callable[[], None],
            first: Callable[[], object] = lambda: None) -> None:
    """Run `first` (validation), then `body` under the one update lock. A busy lock or a refusal becomes a
    REFUSED result; every run, update, rollback or recovery, goes through here."""
    try:
        first()
        with state.update_lock(state_dir, label):
            body()
    except state.Busy as busy:
        result.status, result.message = Status.REFUSED, f"update of {busy.holder} in progress"
    except Refused as exc:
        result.status, result.message = Status.REFUSED, str(exc)
    result.finished_at = now_iso()


def refuse_if_unfinished(state_dir: Path) -> None:
    pending = transaction.load(state_dir)
    if pending is not None:
        raise Refused(f"an unfinished update of {pending.component} ({pending.from_version} -> "
                      f"{pending.to_version}, {pending.status}) must be rolled back first: "
                      f"dunebugger-units rollback {pending.component}")


def run_update(config: Config, name: str, *, version: str | None = None, dry_run: bool = False) -> UpdateResult:
    """The whole update of one component; always returns a recorded result (the caller maps its exit code)."""
    result = new_result(name, "dry-run" if dry_run else "update")
    state_dir = Path(config.state_dir)

    def body() -> None:
        refuse_if_unfinished(state_dir)
        systemd, bus_error = connect_systemd()
        try:
            _run_locked(config, config.components[name], version, dry_run, systemd, bus_error, result)
        finally:
            if systemd is not None:
                systemd.close()

    guarded(result, state_dir, name, body, first=lambda: validate_instance(config, name))
    if state_dir.is_dir() or result.status is not Status.REFUSED:
        state.record_result(state_dir, result.to_dict(), mirror=name in config.components)
    report(result)
    return result


def context_from_transaction(config: Config, txn: transaction.Transaction,
                             systemd: Systemd | None) -> UpdateContext:
    """The context of a rollback or a recovery: what the transaction record says, no release, no manifest."""
    fields = {"from_version": txn.from_version, "to_version": txn.to_version}
    return UpdateContext(config=config, component=config.components[txn.component], from_version=txn.from_version,
                         to_version=txn.to_version, release=None, manifest=Manifest(), systemd=systemd,
                         progress=progress_reporter(txn.component, fields), stamp=stamp_now())


def describe(exc: BaseException) -> str:
    """One line for an expected failure; an OSError (disk full, permission) names the file and the reason."""
    if isinstance(exc, UnitsError):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return f"{type(exc).__name__}: {exc}"


def _run_locked(  # noqa: PLR0913, PLR0917  # forwards the request and the bus of this one run
    config: Config, component: ComponentConfig, version: str | None, dry_run: bool,
    systemd: Systemd | None, bus_error: str | None, result: UpdateResult,
) -> None:
    try:
        prepared = prepare(config, component, version, systemd, bus_error)
    except OSError as exc:  # e.g. the disk filled while staging: nothing the device runs was changed
        raise Refused(f"pre-update checks of {component.name}: {describe(exc)}") from None
    ctx, kind = prepared.ctx, prepared.kind
    result.from_version, result.to_version, result.checks = ctx.from_version, ctx.to_version, prepared.checks
    failed = first_failure(prepared.checks)
    if failed is not None:
        raise Refused(f"pre-update check failed: {failed.line()}")
    if dry_run:
        result.plan = kind.plan(ctx)
        result.status = Status.DRY_RUN
        result.message = f"Dry run: {component.name} {ctx.from_version} -> {ctx.to_version}, all checks passed"
        return
    journal.event(f"Updating {component.name} from {ctx.from_version} to {ctx.to_version}",
                  journal.Priority.NOTICE, journal.UPDATE_STARTED, component=component.name, phase="apply",
                  from_version=ctx.from_version, to_version=ctx.to_version)
    apply_and_verify(ctx, kind, result)


def apply_and_verify(ctx: UpdateContext, kind: Kind, result: UpdateResult) -> None:
    state_dir = Path(ctx.state_dir)
    txn = transaction.Transaction(component=ctx.component.name, kind=ctx.component.type,
                                  from_version=ctx.from_version, to_version=ctx.to_version,
                                  started_at=now_iso(), invocation_id=result.invocation_id)
    transaction.advance(state_dir, txn, "started")
    phase = "apply"
    try:
        ctx.progress("applying")
        kind.apply(ctx, txn)
        transaction.advance(state_dir, txn, transaction.APPLIED)
        phase = "verify"
        ctx.progress("post-update checks")
        outcomes = kind.verify(ctx)
        result.checks += outcomes
        failed = first_failure(outcomes)
        if failed is not None:
            raise UnitsError(f"Post-update checks failed: {failed.line()}")
        transaction.advance(state_dir, txn, transaction.VERIFIED)
        ctx.progress("committing")
        kind.commit(ctx, txn)
    except BaseException as exc:
        _fail_after_change(state_dir, txn, phase, exc, result)
        if not isinstance(exc, (UnitsError, OSError)):
            raise  # a bug: the traceback in the journal is the report; OnFailure= still rolls back
        return
    transaction.clear(state_dir)
    record_installed(state_dir, ctx.component.name, ctx.to_version)
    result.status = Status.UPDATED
    result.message = f"Updated {ctx.component.name} to {ctx.to_version}"


def _fail_after_change(state_dir: Path, txn: transaction.Transaction, phase: str, exc: BaseException,
                       result: UpdateResult) -> None:
    reason = describe(exc)
    summary = reason if reason.startswith("Post-update checks failed") else f"Update failed during {phase}: {reason}"
    current = transaction.load(state_dir) or txn
    if current.step == "started":
        # nothing was changed yet: no rollback needed, the device is as it was
        transaction.clear(state_dir)
        result.status = Status.FAILED
        result.message = f"{summary}; {NOTHING_CHANGED}"
        return
    current.status = "failed"
    current.failure = "Post-update checks failed" if phase == "verify" else "Update failed"
    transaction.save(state_dir, current)
    result.status = Status.FAILED
    result.message = f"{summary}; rolling back to {txn.from_version}"


def record_installed(state_dir: Path, name: str, version: str) -> None:
    from ..versions import is_newer

    def mutate(data: state.State) -> None:
        record = data["components"].setdefault(name, {})
        record["current"] = version
        record["update_available"] = is_newer(record.get("latest"), version)

    state.update_state(state_dir, mutate)


def report(result: UpdateResult) -> None:
    fields = {"component": result.component, "phase": result.action, "from_version": result.from_version,
              "to_version": result.to_version, "status": result.status.value}
    if result.status is Status.UPDATED:
        journal.event(result.message, journal.Priority.NOTICE, journal.UPDATE_SUCCEEDED, **fields)
    elif result.status is Status.FAILED:
        journal.event(result.message, journal.Priority.ERR, journal.UPDATE_FAILED, **fields)
    elif result.status is Status.REFUSED:
        journal.event(f"{result.component}: {result.message}", journal.Priority.WARNING, **fields)
    else:
        journal.event(result.message, journal.Priority.INFO, **fields)
