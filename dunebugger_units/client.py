"""The remote's client: start our units over D-Bus, follow them, and read the recorded results.

Importable on its own (the remote imports only this module and what it needs: systemd.py and sdbus): no
configuration file is read. The results come from the state dir, which the remote's container mounts
read-only. Every wait has a deadline; an unreachable bus or a refused permission becomes a ClientError with
one clear line.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UnitsError
from .systemd import AccessDenied, Systemd, SystemdError


def now_iso() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")

COMPONENTS = ("core", "scheduler", "remote")
CHECK_UNIT = "dunebugger-check.service"


class ClientError(UnitsError):
    pass


def update_unit(component: str, dry_run: bool = False) -> str:
    return f"dunebugger-update{'-dry-run' if dry_run else ''}@{component}.service"


def rollback_unit(component: str) -> str:
    return f"dunebugger-rollback@{component}.service"


@dataclass(frozen=True)
class Event:
    kind: str  # "progress" (data: {"phase"}) or "result" (data: the recorded result)
    data: dict[str, Any]


class UpdaterClient:
    def __init__(self, state_dir: str | Path = "/var/lib/dunebugger-units", *, deadline: float = 1800.0,
                 connect: Callable[[], Systemd] = Systemd.connect, cache_dir: str | Path | None = None) -> None:
        self.state_dir = Path(state_dir)
        # the check's cache: <state_dir>/check unless the device configured another (then mount that too)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else self.state_dir / "check"
        self.deadline = deadline
        self._connect = connect

    # ---- reading what was recorded --------------------------------------------------------------------

    def check_result(self) -> dict[str, Any]:
        """The body of `update_check_result`, from the last check's record."""
        from .errors import StateError
        from .phases.check import frontend_view
        from .state import component_views

        try:
            components = component_views(self.state_dir, self.cache_dir)
        except (OSError, StateError) as exc:
            raise ClientError(f"reading the state in {self.state_dir}: {exc}") from None
        return {"components": {n: frontend_view(components.get(n, {})) for n in COMPONENTS}}

    def results(self, *, since: str | None = None, invocation_id: str | None = None,
                component: str | None = None) -> list[dict[str, Any]]:
        """Recorded results, newest first; e.g. the new remote instance reads what it missed."""
        from .state import read_results

        return [r for r in read_results(self.state_dir)
                if (since is None or str(r.get("finished_at") or "") >= since)
                and (invocation_id is None or r.get("invocation_id") == invocation_id)
                and (component is None or r.get("component") == component)]

    # ---- starting units ---------------------------------------------------------------------------------

    def _run(self, unit: str, watch: Callable[[str], None] | None = None) -> str:
        """Start `unit` and wait for its job; returns the job result."""
        try:
            with self._connect() as systemd:
                return systemd.run_job("start", unit, self.deadline, watch)
        except AccessDenied as exc:
            raise ClientError(f"starting {unit}: permission refused ({exc})") from None
        except SystemdError as exc:
            raise ClientError(f"starting {unit}: {exc}") from None

    def check(self) -> dict[str, Any]:
        self._run(CHECK_UNIT)  # a failed component is in the record, with its error
        return self.check_result()

    def remote_update_pending(self) -> bool:
        """Today's rule: core and scheduler wait while an update of remote is pending."""
        try:
            with self._connect() as systemd:
                state = systemd.unit_state(update_unit("remote")).active_state
        except SystemdError:
            return False
        return state in ("activating", "active", "reloading", "deactivating")

    def follow(self, unit: str, component: str, action: str, rollback_after_failure: bool = True) -> Iterator[Event]:
        """Start `unit` in a thread and yield its progress, then the recorded result (the rollback's result
        when the run failed and OnFailure= rolled it back)."""
        events: queue.Queue[Event | BaseException] = queue.Queue()

        def work() -> None:
            try:
                asked = now_iso()
                result = self._run(unit, lambda text: events.put(Event("progress", {"phase": text})))
                events.put(Event("result", self._final_result(component, action, asked, result,
                                                              rollback_after_failure)))
            except BaseException as exc:  # handed to the consumer's thread and re-raised there
                events.put(exc)

        threading.Thread(target=work, name=f"follow-{unit}", daemon=True).start()
        while True:
            item = events.get()
            if isinstance(item, BaseException):
                raise item
            yield item
            if item.kind == "result":
                return

    def update(self, component: str, dry_run: bool = False) -> Iterator[Event]:
        return self.follow(update_unit(component, dry_run), component, "dry-run" if dry_run else "update",
                           rollback_after_failure=not dry_run)

    def rollback(self, component: str) -> Iterator[Event]:
        return self.follow(rollback_unit(component), component, "rollback", rollback_after_failure=False)

    def _own_result(self, component: str, action: str, asked: str) -> list[dict[str, Any]]:
        """The run this request joined: the first of its unit to finish after it was asked for (systemd merges
        a start into a running start job of the same unit, so no earlier run can finish after `asked`)."""
        runs = [r for r in self.results(component=component, since=asked) if r.get("action") == action]
        return runs[-1:]  # results are newest first

    def _final_result(self, component: str, action: str, asked: str, job_result: str,
                      rollback_after_failure: bool) -> dict[str, Any]:
        own = self._wait_for(lambda: self._own_result(component, action, asked), 10.0)
        if job_result == "done" or not rollback_after_failure or not own:
            return own[0] if own else self._missing(component, job_result)
        # the run failed after a change: OnFailure= started the rollback; its result is the outcome
        invocation = own[0].get("invocation_id")
        rolled = self._wait_for(lambda: [r for r in self.results(component=component, since=asked)
                                         if r.get("action") == "rollback"
                                         and (r.get("plan") or {}).get("failed_invocation_id") == invocation],
                                self.deadline)
        return rolled[-1] if rolled else own[0]

    def _wait_for(self, fetch: Callable[[], list[dict[str, Any]]], deadline: float) -> list[dict[str, Any]]:
        end = time.monotonic() + deadline
        while True:
            found = fetch()
            if found or time.monotonic() >= end:
                return found
            time.sleep(0.2)

    @staticmethod
    def _missing(component: str, job_result: str) -> dict[str, Any]:
        return {"component": component, "action": "update", "status": "failed", "success": False,
                "dry_run": False, "message": f"the unit ended with job result {job_result!r} and recorded no result"}
