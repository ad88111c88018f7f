"""Rollback of one component after a failed update (started by OnFailure=, or by a person).

It restores what the transaction record names, restarts, re-checks and reports. If that fails it says
"manual intervention required" loudly, keeps the record for a person, and exits 4: the rollback unit has
no OnFailure= and no Restart=, so nothing loops.
"""

from __future__ import annotations

import os
from pathlib import Path

from .. import journal, state, transaction
from ..config import Config
from ..errors import Refused, UnitsError
from ..manifest import Manifest
from ..results import Status, UpdateResult, first_failure
from .base import UpdateContext
from .preflight import validate_instance
from .update import connect_systemd, load_kind, now_iso, progress_reporter, record_installed, stamp_now


def run_rollback(config: Config, name: str) -> UpdateResult:
    result = UpdateResult(component=name, action="rollback", started_at=now_iso(),
                          invocation_id=os.environ.get("INVOCATION_ID"))
    state_dir = Path(config.state_dir)
    try:
        validate_instance(config, name)
        with state.update_lock(state_dir, f"{name} (rollback)"):
            _rollback_locked(config, name, result)
    except state.Busy as busy:
        result.status, result.message = Status.REFUSED, f"update of {busy.holder} in progress"
    except Refused as exc:
        result.status, result.message = Status.REFUSED, str(exc)
    result.finished_at = now_iso()
    if state_dir.is_dir():
        state.record_result(state_dir, result.to_dict(), mirror=name in config.components)
    report_rollback(result)
    return result


def _rollback_locked(config: Config, name: str, result: UpdateResult) -> None:
    state_dir = Path(config.state_dir)
    txn = transaction.load(state_dir)
    if txn is None or txn.component != name:
        raise Refused(f"rolling back {name}: there is no unfinished update of {name}")
    component = config.components[name]
    result.from_version, result.to_version = txn.to_version, txn.from_version
    failed_run = os.environ.get("MONITOR_INVOCATION_ID")
    if failed_run:
        result.plan = {"failed_invocation_id": failed_run,
                       "failed_service_result": os.environ.get("MONITOR_SERVICE_RESULT")}
    systemd, bus_error = connect_systemd()
    fields = {"from_version": txn.to_version, "to_version": txn.from_version}
    ctx = UpdateContext(config=config, component=component, from_version=txn.from_version,
                        to_version=txn.to_version, release=None, manifest=Manifest(), systemd=systemd,
                        progress=progress_reporter(name, fields), stamp=stamp_now())
    try:
        if systemd is None:
            raise UnitsError(f"rolling back {name}: {bus_error}")
        ctx.progress("rolling back")
        outcomes = load_kind(component).rollback(ctx, txn)
        result.checks = outcomes
        failed = first_failure(outcomes)
        if failed is not None:
            raise UnitsError(f"re-check after rollback failed: {failed.line()}")
    except UnitsError as exc:
        txn.status = "needs-manual"
        transaction.save(state_dir, txn)
        result.status = Status.NEEDS_MANUAL
        result.message = (f"Rollback of {name} to {txn.from_version} failed: {exc}: "
                          "manual intervention required")
        return
    finally:
        if systemd is not None:
            systemd.close()
    transaction.clear(state_dir)
    record_installed(state_dir, name, txn.from_version)
    result.status = Status.ROLLED_BACK
    monitored = os.environ.get("MONITOR_SERVICE_RESULT")
    # a killed update never recorded why it failed: systemd's word for how it ended says it
    why = txn.failure or (f"Update ended with {monitored!r}" if monitored and monitored != "exit-code"
                          else "Update failed")
    result.message = f"{why}, rolled back to v{txn.from_version}"


def report_rollback(result: UpdateResult) -> None:
    fields = {"component": result.component, "phase": "rollback", "from_version": result.from_version,
              "to_version": result.to_version, "status": result.status.value}
    if result.status is Status.ROLLED_BACK:
        journal.event(result.message, journal.Priority.WARNING, journal.ROLLBACK_SUCCEEDED, **fields)
    elif result.status is Status.NEEDS_MANUAL:
        journal.event(result.message, journal.Priority.CRIT, journal.ROLLBACK_FAILED, **fields)
    else:
        journal.event(f"{result.component}: {result.message}", journal.Priority.WARNING, **fields)
