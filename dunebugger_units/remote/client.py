"""The remote's client: start our units over D-Bus, follow them, and read the recorded results.

Importable on its own: the remote's image needs only this module, messages.py, errors.py, systemd.py and sdbus
(no requests, yaml, ruamel, click or packaging; see "Connecting the remote" in the README). No configuration
file is read. The results come from the state dir, which the remote's container mounts read-only; the results
dir is a parameter (default `<state_dir>/results`).

Nothing from sdbus reaches the caller: every failure is a ClientError with one line naming the cause and the
fix (an unknown uid, no bus socket, access denied, the bus gone during a wait, a timeout).
"""

from __future__ import annotations

import json
import os
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import UnitsError
from ..systemd import AccessDenied, BusDropped, BusUnreachable, JobTimeout, Systemd, SystemdError

COMPONENTS = ("core", "scheduler", "remote")
CHECK_UNIT = "dunebugger-check.service"
SEE = "see Connecting the remote in /usr/share/doc/dunebugger-units/README.md"
UNKNOWN = "unknown"
# The keys of one component in `update_check_result` (the seed's; pinned equal to phases/check.py's by a test)
FRONTEND_KEYS = ("current", "latest", "update_available", "release_notes", "last_checked", "release_url",
                 "published_at", "assets", "error", "held", "policy", "next_window", "failed_versions")
# ... root's own, merged in: the version a rollback returns to, the last result, a release prepared ahead
ROOT_KEYS = ("previous", "last_result", "prepared")
# ... and today's remote's keys, added beside them: never null, `unknown` where nothing is known
TODAY_KEYS = ("name", "current_version", "latest_version", "component_type", "prerelease")
COMPONENT_TYPES = {"core": "python_app", "scheduler": "container", "remote": "container"}
# runs that recreate the remote's container; a refusal or a dry run changes nothing
CHANGING_ACTIONS = ("update", "rollback", "recovery")
NOT_CHANGING = ("refused", "dry-run", "unchanged")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class ClientError(UnitsError):
    pass


def update_unit(component: str, dry_run: bool = False) -> str:
    return f"dunebugger-update{'-dry-run' if dry_run else ''}@{component}.service"


def rollback_unit(component: str) -> str:
    return f"dunebugger-rollback@{component}.service"


@dataclass(frozen=True)
class Event:
    kind: str  # "progress" (data: {"phase", "percent"?}) or "result" (data: the recorded result)
    data: dict[str, Any]


# ---- pure decisions -----------------------------------------------------------------------------------------

def explain(exc: SystemdError, unit: str, uid: int, deadline: float) -> str:
    """One line for a failed bus conversation: what happened and what to do about it."""
    if isinstance(exc, BusUnreachable):
        return (f"cannot reach the system bus at {exc.address}: "
                f"{os.strerror(exc.errno) if exc.errno else exc}; mount the host's /run/dbus into the remote's "
                f"container ({SEE})")
    if isinstance(exc, BusDropped) and exc.waiting:
        return (f"the system bus went away while waiting for {unit} (dbus restarted or the host is shutting "
                f"down); the unit goes on without us: its result is recorded and reaches the frontend through "
                f"follow_results() once the bus is back")
    if isinstance(exc, BusDropped):
        return (f"the system bus refused uid {uid}: it has no user on the host; run the remote's container as "
                f"the kit's user dunebugger-remote ({SEE})")
    if isinstance(exc, AccessDenied):
        return (f"starting {unit}: permission refused for uid {uid}: the uid must belong to a host user in the "
                f"dunebugger group, and polkitd must run with 50-dunebugger-units.rules ({SEE})")
    if isinstance(exc, JobTimeout):
        return (f"no result from {unit} within {deadline:g} s; it may still be running: "
                f"`systemctl status {unit}` on the host")
    return f"starting {unit}: {exc}"


def progress_data(text: str) -> dict[str, Any]:
    """A unit's status text as a progress event; `percent` when the text has one ("downloading 40%")."""
    data: dict[str, Any] = {"phase": text}
    found = re.search(r"(?<![\d.])(\d{1,3})\s?%", text)
    if found and 0 <= int(found.group(1)) <= 100:
        data["percent"] = int(found.group(1))
    return data


def _known(value: Any) -> Any:
    return UNKNOWN if value is None or value == "" else value


def component_view(name: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """One component of `update_check_result`: the seed's keys, plus today's remote's keys (never null)."""
    view = {key: record.get(key) for key in FRONTEND_KEYS}
    previous = record.get("previous")
    # a rollback on request returns only to what the last update replaced, and only while that update's
    # release still runs (phases/rollback.requested_transaction); its backups' paths stay on the device
    view["previous"] = (str(previous["version"]) if isinstance(previous, dict) and previous.get("version")
                        and previous.get("installed") == record.get("current") else None)
    view["last_result"] = record.get("last_result") if isinstance(record.get("last_result"), dict) else None
    view["prepared"] = record.get("prepared")
    latest = record.get("latest")
    view |= {
        "name": name,
        "current_version": _known(record.get("current")),
        "latest_version": _known(latest),
        "component_type": _known(record.get("type") or COMPONENT_TYPES.get(name)),
        "prerelease": "-" in latest if isinstance(latest, str) and latest else UNKNOWN,
    }
    return view


def component_state(record: Mapping[str, Any]) -> str:
    """The `state` of a `system_info` component: what the updater knows of it."""
    last = record.get("last_result") or {}
    if last.get("status") == "needs-manual":
        return "needs-manual"
    if record.get("current") in (None, "", UNKNOWN):
        return UNKNOWN
    if record.get("update_available") is True:
        return "update-available"
    if record.get("error"):
        return "check-failed"
    return "up-to-date" if record.get("last_checked") else UNKNOWN


def system_info_components(components: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{"name": n, "state": component_state(components.get(n, {})),
             "version": _known(components.get(n, {}).get("current"))} for n in COMPONENTS]


def merge_records(checked: Mapping[str, Any], own: Mapping[str, Any]) -> dict[str, Any]:
    """Pure: the check's record of each component, with root's installed version when root installed it after
    that check (then the latest is no longer available if that is what was installed), and root's last result.
    A light twin of state.merge_view: the remote's image has no `packaging` to compare versions with."""
    merged: dict[str, Any] = {}
    for name in {**checked, **own}:
        entry, mine = checked.get(name), own.get(name)
        view = dict(entry) if isinstance(entry, dict) else {}
        mine = mine if isinstance(mine, dict) else {}
        if mine.get("current") and str(mine.get("installed_at") or "") >= str(view.get("last_checked") or ""):
            view["current"] = mine["current"]
            if view.get("latest") == mine["current"]:
                view["update_available"] = False
        for key in ("last_result", "held", "previous", "prepared"):  # root's own, newer than the check
            if key in mine:
                view[key] = mine[key]
        merged[name] = view
    return merged


def _read_components(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ClientError(f"reading {path}: {exc}; the state dir must be mounted readable ({SEE})") from None
    components = data.get("components") if isinstance(data, dict) else None
    return components if isinstance(components, dict) else {}


def rollback_expected(result: Mapping[str, Any]) -> bool:
    """A failed update that changed something exits 1, and OnFailure= starts the rollback (the result says
    `changed`: results.UpdateResult)."""
    return result.get("action") == "update" and result.get("status") == "failed" and bool(result.get("changed"))


def rollback_of(results: list[dict[str, Any]], failed: Mapping[str, Any]) -> dict[str, Any] | None:
    invocation = failed.get("invocation_id")
    return next((r for r in reversed(results) if r.get("action") == "rollback" and invocation
                 and r.get("failed_invocation_id") == invocation), None)


def instance_started_at() -> str:
    """When this instance started: its container (PID 1 of its pid namespace), else this process."""
    ticks = os.sysconf("SC_CLK_TCK")
    boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                if line.startswith("btime "))
    for pid in ("1", "self"):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        started = boot + int(fields[19]) / ticks
        # btime has whole seconds: a second of slack keeps a result finished just after we started
        return datetime.fromtimestamp(started - 1, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    return now_iso()


# ---- the client ---------------------------------------------------------------------------------------------

class UpdaterClient:
    def __init__(self, state_dir: str | Path = "/var/lib/dunebugger-units", *, results_dir: str | Path | None = None,  # noqa: PLR0913  # paths, deadline and seams for the tests
                 deadline: float = 1800.0, connect: Callable[[], Systemd] = Systemd.connect,
                 poll: float = 0.2, cache_dir: str | Path | None = None) -> None:
        self.state_dir = Path(state_dir)
        self.results_dir = Path(results_dir) if results_dir is not None else self.state_dir / "results"
        # the check's cache: <state_dir>/check unless the device configured another (then mount that too)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else self.state_dir / "check"
        self.deadline = deadline
        self.poll = poll
        self._connect = connect

    # ---- reading what was recorded --------------------------------------------------------------------

    def _components(self) -> dict[str, Any]:
        """What the last check found (the check's cache) with what root installed since and its last result."""
        return merge_records(_read_components(self.cache_dir / "check.json"),
                             _read_components(self.state_dir / "state.json"))

    def check_result(self) -> dict[str, Any]:
        """The body of `update_check_result`, from the last check's record."""
        components = self._components()
        return {"components": {n: component_view(n, components.get(n, {})) for n in COMPONENTS}}

    def system_info(self) -> dict[str, Any]:
        """The `system_info` body the frontend's System page reads: `dunebugger_components[]`."""
        return {"dunebugger_components": system_info_components(self._components())}

    def results(self, *, since: str | None = None, invocation_id: str | None = None,
                component: str | None = None) -> list[dict[str, Any]]:
        """Recorded results, newest first; a file that cannot be read is skipped."""
        return [r for _name, r in reversed(self._read_results())
                if (since is None or str(r.get("finished_at") or "") >= since)
                and (invocation_id is None or r.get("invocation_id") == invocation_id)
                and (component is None or r.get("component") == component)]

    def _read_results(self, skip: frozenset[str] = frozenset()) -> list[tuple[str, dict[str, Any]]]:
        """(file name, result), oldest first (the names start with the finishing time)."""
        try:
            names = sorted(p.name for p in self.results_dir.glob("*.json"))
        except OSError:
            return []
        out = []
        for name in names:
            if name in skip:
                continue
            try:
                data = json.loads((self.results_dir / name).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict):
                out.append((name, data))
        return out

    def follow_results(self, since: str | None = None, stop: threading.Event | None = None) -> Iterator[dict[str, Any]]:
        """Every result recorded from `since` on (default: when this instance started), oldest first, as it
        appears; blocks between results. Run it in a thread and broadcast what it yields: that is how an
        update started by the timer, a person, the boot recovery or a rollback reaches the frontend, and how a
        remote recreated by its own update learns the outcome. Ends when `stop` is set."""
        since = since if since is not None else instance_started_at()
        seen: set[str] = set()
        while stop is None or not stop.is_set():
            for name, result in self._read_results(frozenset(seen)):
                seen.add(name)
                if str(result.get("finished_at") or "") >= since:
                    yield result
            if stop is not None:
                stop.wait(self.poll)
            else:
                time.sleep(self.poll)

    # ---- starting units ---------------------------------------------------------------------------------

    def _systemd(self, unit: str, work: Callable[[Systemd], Any]) -> Any:
        try:
            with self._connect() as systemd:
                return work(systemd)
        except SystemdError as exc:
            raise ClientError(explain(exc, unit, os.getuid(), self.deadline)) from None
        except Exception as exc:  # anything else from sdbus's C layer: never hand it to the caller
            raise ClientError(f"talking to systemd about {unit}: {type(exc).__name__}: {exc}") from None

    def _run(self, unit: str, watch: Callable[[str], None] | None = None) -> str:
        """Start `unit` and wait for its job; returns the job result."""
        return str(self._systemd(unit, lambda sd: sd.run_job("start", unit, self.deadline, watch)))

    def check(self) -> dict[str, Any]:
        self._run(CHECK_UNIT)  # a failed component is in the record, with its error
        return self.check_result()

    def _active(self, unit: str) -> bool:
        state = self._systemd(unit, lambda sd: sd.unit_state(unit).active_state)
        return state in ("activating", "active", "reloading", "deactivating")

    def remote_update_pending(self) -> bool:
        """An update or rollback of remote is running (the seed's rule; see policy.remote_first for today's)."""
        try:
            return self._active(update_unit("remote")) or self._active(rollback_unit("remote"))
        except ClientError:
            return False

    def follow(self, unit: str, component: str, action: str, rollback_after_failure: bool = True) -> Iterator[Event]:
        """Start `unit` in a thread and yield its progress, then the recorded result (the rollback's result
        when the run failed and OnFailure= rolled it back). Raises only ClientError."""
        events: queue.Queue[Event | BaseException] = queue.Queue()

        def work() -> None:
            try:
                asked = now_iso()
                result = self._run(unit, lambda text: events.put(Event("progress", progress_data(text))))
                events.put(Event("result", self._final_result(component, action, asked, result,
                                                              rollback_after_failure)))
            except ClientError as exc:
                events.put(exc)
            except Exception as exc:  # handed to the consumer's thread as one line
                events.put(ClientError(f"following {unit}: {type(exc).__name__}: {exc}"))

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
        """`updater.rollback`: start dunebugger-rollback@<component>; its result is the answer."""
        return self.follow(rollback_unit(component), component, "rollback", rollback_after_failure=False)

    def remote_update_outcome(self, since: str | None = None, timeout: float | None = None) -> dict[str, Any] | None:
        """For a remote that is starting: the outcome of the update (or rollback) that recreated it, with the
        rollback followed: a failed update's answer is the rollback's result. Waits while remote's update or
        rollback unit is still running (the new instance starts before its update has verified it). None when
        no update of remote finished since this instance started (`since`, default: the container's start)."""
        since = since if since is not None else instance_started_at()
        end = time.monotonic() + (self.deadline if timeout is None else timeout)
        while True:
            running = self._active(update_unit("remote")) or self._active(rollback_unit("remote"))
            mine = [r for r in self.results(component="remote", since=since)
                    if r.get("action") in CHANGING_ACTIONS and r.get("status") not in NOT_CHANGING]
            newest = mine[0] if mine else None
            if not running and newest is not None and not rollback_expected(newest):
                return newest
            if not running and newest is not None:
                rolled = rollback_of(self.results(component="remote"), newest)
                if rolled is not None:
                    return rolled
            if not running and newest is None:
                return None
            if time.monotonic() >= end:
                return newest
            time.sleep(self.poll)

    def _own_result(self, component: str, action: str, asked: str) -> list[dict[str, Any]]:
        """The run this request joined: the first of its unit to finish after it was asked for (systemd merges
        a start into a running start job of the same unit, so no earlier run can finish after `asked`)."""
        runs = [r for r in self.results(component=component, since=asked) if r.get("action") == action]
        return runs[-1:]  # results are newest first

    def _final_result(self, component: str, action: str, asked: str, job_result: str,
                      rollback_after_failure: bool) -> dict[str, Any]:
        own = self._wait_for(lambda: self._own_result(component, action, asked), 10.0)
        if job_result == "done" or not rollback_after_failure or not own:
            return own[0] if own else self._missing(component, action, job_result)
        # the run failed after a change: OnFailure= started the rollback; its result is the outcome
        rolled = self._wait_for(lambda: [r] if (r := rollback_of(self.results(component=component, since=asked),
                                                                  own[0])) else [], self.deadline)
        return rolled[-1] if rolled else own[0]

    def _wait_for(self, fetch: Callable[[], list[dict[str, Any]]], deadline: float) -> list[dict[str, Any]]:
        end = time.monotonic() + deadline
        while True:
            found = fetch()
            if found or time.monotonic() >= end:
                return found
            time.sleep(self.poll)

    @staticmethod
    def _missing(component: str, action: str, job_result: str) -> dict[str, Any]:
        return {"component": component, "action": action, "status": "failed", "success": False,
                "dry_run": action == "dry-run",
                "message": f"the unit ended with job result {job_result!r} and recorded no result"}
