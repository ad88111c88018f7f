"""org.dunebugger.Updater1: the remote's door to our units (docs/remote-dbus.md).

dbus-daemon starts it on the first call (packaging/dbus/, units/dunebugger-updater1.service) and lets only
members of the `dunebugger` group call it. It runs as root and starts exactly our units, always in job mode
`replace`, so no caller can cancel another job (a `flush` would cancel the restart of dunebugger.service).
Every argument is hostile input: a component must be one of the configuration's, a version must be plain and
is only a wish (the update unit verifies it against GitHub and the policy). Progress and the recorded result
go out as signals; the service exits once idle.
"""

from __future__ import annotations

import asyncio
import json
import time
import traceback
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sdbus import dbus_method_async_override
from sdbus.exceptions import SdBusBaseError

from .. import journal, state
from ..config import COMPONENT_NAME, Config, config_path, load_config
from ..errors import UnitsError
from ..systemd import SystemdError, queue_job_async, unit_state_async, wait_job_async
from ..versions import PLAIN_VERSION
from .api import (
    BUS_NAME,
    NO_PERCENT,
    OBJECT_PATH,
    BusNames,
    Exiting,
    InvalidArgument,
    StartFailed,
    UpdaterInterface,
)
from .client import (
    CHECK_UNIT,
    merge_records,
    now_iso,
    own_result,
    progress_data,
    read_components,
    rollback_expected,
    rollback_of,
    rollback_unit,
    update_unit,
)

IDLE_EXIT = 20.0  # seconds without a call or a running job, then the service exits (the next call starts it)
DEADLINE = 1800.0  # the longest an update unit may run (its TimeoutStartSec= is shorter)
RESULT_WAIT = 10.0  # the unit ended: its result file is written just before that
POLL = 0.2
MAX_ARGUMENT = 64
ACTIVE = ("activating", "active", "reloading", "deactivating")


@dataclass(frozen=True)
class Job:
    unit: str
    component: str
    action: str  # check, update, dry-run or rollback: the `action` of the result it records
    version: str = ""  # the version asked for; empty: what the policy picks
    rollback_after_failure: bool = False


# ---- pure decisions: every argument is hostile ---------------------------------------------------------------

def known_component(config: Config, component: str) -> str:
    known = ", ".join(config.components)
    if len(component) > MAX_ARGUMENT or not COMPONENT_NAME.match(component) or component not in config.components:
        raise InvalidArgument(f"unknown component {component[:MAX_ARGUMENT]!r} (known: {known})")
    return component


def plan_update(config: Config, component: str, version: str, dry_run: bool) -> Job:
    component = known_component(config, component)
    if version and (len(version) > MAX_ARGUMENT or not PLAIN_VERSION.match(version)):
        raise InvalidArgument(f"version {version[:MAX_ARGUMENT]!r} of {component} is not a plain version "
                              f"(for example 1.2.0 or v1.0.0-beta.4)")
    if version and dry_run:
        raise InvalidArgument("a version and a dry run together are not supported")
    if dry_run:
        return Job(update_unit(component, dry_run=True), component, "dry-run")
    return Job(update_unit(component), component, "update", version, rollback_after_failure=True)


def plan_rollback(config: Config, component: str) -> Job:
    component = known_component(config, component)
    return Job(rollback_unit(component), component, "rollback")


def missing_result(job: Job, detail: str) -> dict[str, Any]:
    return {"component": job.component, "action": job.action, "status": "failed", "success": False,
            "dry_run": job.action == "dry-run", "message": detail}


def check_outcome(job_result: str) -> dict[str, Any]:
    done = job_result == "done"
    return {"component": "", "action": "check", "status": "done" if done else "failed", "success": done,
            "dry_run": False, "message": "check finished" if done else
            f"the check ended with job result {job_result!r}; each component's error is in its record"}


# ---- the service ----------------------------------------------------------------------------------------------

class Updater(UpdaterInterface):
    def __init__(self, bus: Any, config: Config) -> None:
        super().__init__()
        self.bus = bus
        self.config = config
        self.state_dir = Path(config.state_dir)
        self.tasks: set[asyncio.Task[None]] = set()
        self.last_call = time.monotonic()
        self.exiting = False  # set once idle, with no await before the name is given back

    @dbus_method_async_override()
    async def check(self) -> str:
        return await self._start(Job(CHECK_UNIT, "", "check"))

    @dbus_method_async_override()
    async def update(self, component: str, version: str, dry_run: bool) -> str:
        return await self._start(plan_update(self.config, component, version, dry_run))

    @dbus_method_async_override()
    async def rollback(self, component: str) -> str:
        return await self._start(plan_rollback(self.config, component))

    @dbus_method_async_override()
    async def components(self) -> str:
        self.last_call = time.monotonic()
        merged = merge_records(read_components(Path(self.config.check_cache_dir) / "check.json"),
                               read_components(self.state_dir / "state.json"))
        out = {}
        for name in self.config.components:
            running = [await self._active(unit) for unit in (update_unit(name), rollback_unit(name))]
            out[name] = {**merged.get(name, {}), "running": any(running)}
        return json.dumps({"components": out})

    async def _active(self, unit: str) -> bool:
        try:
            return (await unit_state_async(self.bus, unit)).active_state in ACTIVE
        except SystemdError:
            return False

    async def _start(self, job: Job) -> str:
        """Queue the unit (mode `replace`, always) and answer with the job id; the rest goes out as signals."""
        if self.exiting:
            raise Exiting(f"{BUS_NAME} is exiting after being idle: call again")
        self.last_call = time.monotonic()
        job_id = uuid.uuid4().hex
        if job.version:
            if await self._active(job.unit):
                raise InvalidArgument(f"an update of {job.component} is running; ask for {job.version} once "
                                      f"it is done")
            state.write_request(self.state_dir, job.component, job.version)
        asked = now_iso()
        try:
            queued = await queue_job_async(self.bus, "start", job.unit)
        except (SystemdError, SdBusBaseError) as exc:
            if job.version:  # the unit did not run: a later plain update must not install this version
                state.take_request(self.state_dir, job.component)
            raise StartFailed(f"starting {job.unit}: {exc}") from None
        journal.event(f"Updater1: started {job.unit} (job {job_id})", COMPONENT=job.component,
                      PHASE=job.action)
        task = asyncio.get_running_loop().create_task(self._follow(job_id, job, queued, asked))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return job_id

    async def _follow(self, job_id: str, job: Job, queued: Any, asked: str) -> None:
        def watch(text: str) -> None:
            data = progress_data(text)
            self.progress.emit((job_id, job.component, str(data["phase"]), int(data.get("percent", NO_PERCENT))))

        watch("starting")  # at once, so a frontend hears of the job before its unit sets a status text
        try:
            job_result = await wait_job_async(self.bus, queued, DEADLINE, "start", watch)
            outcome = check_outcome(job_result) if job.action == "check" else \
                await self._recorded(job, asked, job_result)
        except (UnitsError, SdBusBaseError) as exc:
            outcome = missing_result(job, f"following {job.unit}: {exc}")
        except Exception as exc:  # a bug: the caller still gets its Finished, the journal the traceback
            journal.event(f"Updater1: following {job.unit} failed: {type(exc).__name__}: {exc}",
                          journal.Priority.ERR, TRACEBACK=traceback.format_exc())
            outcome = missing_result(job, f"following {job.unit}: {type(exc).__name__}")
        self.last_call = time.monotonic()
        self.finished.emit((job_id, job.component, json.dumps(outcome)))

    async def _recorded(self, job: Job, asked: str, job_result: str) -> dict[str, Any]:
        """The result this job's run recorded; for a failed update that changed something, its rollback's."""
        own = await self._wait_for(lambda: own_result(self._results(job.component, asked), job.action), RESULT_WAIT)
        if own is None:
            return missing_result(job, f"the unit ended with job result {job_result!r} and recorded no result")
        if job_result == "done" or not job.rollback_after_failure or not rollback_expected(own):
            return own
        rolled = await self._wait_for(lambda: rollback_of(self._results(job.component, asked), own), DEADLINE)
        return rolled or own

    def _results(self, component: str, since: str) -> list[dict[str, Any]]:
        return [r for r in state.read_results(self.state_dir)
                if r.get("component") == component and str(r.get("finished_at") or "") >= since]

    @staticmethod
    async def _wait_for(fetch: Any, deadline: float) -> dict[str, Any] | None:
        end = time.monotonic() + deadline
        while True:
            found: Mapping[str, Any] | None = fetch()
            if found is not None or time.monotonic() >= end:
                return dict(found) if found is not None else None
            await asyncio.sleep(POLL)

    async def idle(self, seconds: float) -> None:
        """Return once nothing ran and nobody called for `seconds`."""
        while self.tasks or time.monotonic() - self.last_call < seconds:
            await asyncio.sleep(1)


async def serve(config: Config, idle_exit: float) -> None:
    from sdbus import sd_bus_open_system

    bus = sd_bus_open_system()
    updater = Updater(bus, config)
    updater.export_to_dbus(OBJECT_PATH, bus)
    await bus.request_name_async(BUS_NAME, 0)
    journal.event(f"Updater1: serving {BUS_NAME}")
    await updater.idle(idle_exit)
    updater.exiting = True
    # Give the name back first: a call from now on starts a new instance; one that reached us already is
    # still answered, and its job followed to the end.
    await BusNames.new_proxy("org.freedesktop.DBus", "/org/freedesktop/DBus", bus).release_name(BUS_NAME)
    await asyncio.sleep(0.5)
    while updater.tasks:
        await asyncio.wait(set(updater.tasks))
    journal.event(f"Updater1: idle for {idle_exit:g} s, exiting")


def main() -> None:
    """`dunebugger-updater1 [IDLE_SECONDS]`: what dunebugger-updater1.service runs."""
    import sys

    journal.set_identifier("dunebugger-updater1")
    idle_exit = float(sys.argv[1]) if len(sys.argv) > 1 else IDLE_EXIT
    try:
        config = load_config(config_path(None))
    except UnitsError as exc:
        print(f"dunebugger-updater1: {exc}", file=sys.stderr)
        raise SystemExit(int(exc.exit_code)) from None
    asyncio.run(serve(config, idle_exit))
