"""The remote's client: ask org.dunebugger.Updater1 to check, update, dry-run or roll back, follow its signals,
and read the recorded results.

Importable on its own: the remote's image needs only this module, api.py, messages.py, errors.py, systemd.py and
sdbus (no requests, yaml, ruamel, click or packaging; see "Connecting the remote" in the README). No
configuration file is read. It never starts a unit itself: Updater1 does, in job mode `replace`
(docs/remote-dbus.md). Results started by anyone else come from the state dir, which the remote's container
mounts read-only; the results dir is a parameter (default `<state_dir>/results`).

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
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sdbus.exceptions import SdBusBaseError

from ..errors import UnitsError
from ..systemd import Systemd, SystemdError
from .api import BUS_NAME, OBJECT_PATH, UpdaterInterface
from .door import SEE, ServiceExiting, door_error, explain, follow_job

COMPONENTS = ("core", "scheduler", "remote")
CHECK_UNIT = "dunebugger-check.service"
UNKNOWN = "unknown"
# The keys of one component in `update_check_result` (the updater's own; pinned equal to phases/check.py's by a test)
FRONTEND_KEYS = ("current", "latest", "update_available", "release_notes", "last_checked", "release_url",
                 "published_at", "assets", "error", "held", "policy", "next_window", "failed_versions")
# ... root's own, merged in: the version a rollback returns to, the last result, a release prepared ahead
ROOT_KEYS = ("previous", "last_result", "prepared")
# ... and the dunebugger-remote app's keys, added beside them: never null, `unknown` where nothing is known
REMOTE_APP_KEYS = ("name", "current_version", "latest_version", "component_type", "prerelease")
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
    """One component of `update_check_result`: the updater's keys, plus the remote app's keys (never null)."""
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


def is_running(record: Mapping[str, Any]) -> bool:
    """`running` of a `system_info` component: the updater's last view (a version known, and no result that
    left it needing a person), never a live probe: the remote cannot see the other containers."""
    last = record.get("last_result") or {}
    return record.get("current") not in (None, "", UNKNOWN) and last.get("status") != "needs-manual"


def system_info_component(name: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """Both frontends' keys: the System page's `name, state, version` and the remote app's updater page's
    `name, running, current_version, latest_version, update_available, last_checked, release_notes,
    release_url`; a key a frontend prints is never null (`unknown`, or "" for notes and links)."""
    return {"name": name, "state": component_state(record), "version": _known(record.get("current")),
            "running": is_running(record), "current_version": _known(record.get("current")),
            "latest_version": _known(record.get("latest")), "update_available": record.get("update_available") is True,
            "last_checked": _known(record.get("last_checked")), "release_notes": str(record.get("release_notes") or ""),
            "release_url": str(record.get("release_url") or "")}


def system_info_components(components: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [system_info_component(n, components.get(n, {})) for n in COMPONENTS]


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


def read_components(path: Path) -> dict[str, Any]:
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


def own_result(results: list[dict[str, Any]], action: str) -> dict[str, Any] | None:
    """Of the results recorded since a run was asked for (newest first), the one of that run: the first of its
    action to finish (systemd merges a start into a running start job of the same unit, so no earlier run can
    finish after it was asked for)."""
    runs = [r for r in results if r.get("action") == action]
    return runs[-1] if runs else None


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
                 poll: float = 1.0, cache_dir: str | Path | None = None) -> None:
        self.state_dir = Path(state_dir)
        self.results_dir = Path(results_dir) if results_dir is not None else self.state_dir / "results"
        # the check's cache: <state_dir>/check unless the device configured another (then mount that too)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else self.state_dir / "check"
        self.deadline = deadline
        self.poll = poll  # follow_results: runs anyone else started (our own answer comes as a signal)
        self._connect = connect

    # ---- reading what was recorded --------------------------------------------------------------------

    def _components(self) -> dict[str, Any]:
        """What the last check found (the check's cache) with what root installed since and its last result."""
        return merge_records(read_components(self.cache_dir / "check.json"),
                             read_components(self.state_dir / "state.json"))

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

    # ---- asking Updater1 ------------------------------------------------------------------------------

    def _door(self, what: str, start: Callable[[UpdaterInterface], Awaitable[str]],
              watch: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        """Ask Updater1 to start `what` and wait for its Finished; returns the result it carries."""
        try:
            for attempt in (1, 2):
                try:
                    with self._connect() as systemd:
                        return systemd.run(follow_job(systemd, what, start, self.deadline, watch))
                except ServiceExiting:  # it was giving its name back as we called: the next call starts a new one
                    if attempt == 2:
                        raise
                    time.sleep(1)
        except SystemdError as exc:
            raise ClientError(explain(exc, what, os.getuid(), self.deadline)) from None
        except Exception as exc:  # anything else from sdbus's C layer: never hand it to the caller
            raise ClientError(f"asking {BUS_NAME} for {what}: {type(exc).__name__}: {exc}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _systemd(self, unit: str, work: Callable[[Systemd], Any]) -> Any:
        try:
            with self._connect() as systemd:
                return work(systemd)
        except SystemdError as exc:
            raise ClientError(explain(exc, unit, os.getuid(), self.deadline)) from None
        except Exception as exc:  # anything else from sdbus's C layer: never hand it to the caller
            raise ClientError(f"talking to systemd about {unit}: {type(exc).__name__}: {exc}") from None

    def check(self) -> dict[str, Any]:
        self._door(CHECK_UNIT, lambda door: door.check())  # a failed component is in the record, with its error
        return self.check_result()

    def components(self) -> dict[str, Any]:
        """Updater1's view of every configured component: the check's record, root's, and `running`."""
        async def ask(systemd: Systemd) -> str:
            try:
                return await UpdaterInterface.new_proxy(BUS_NAME, OBJECT_PATH, systemd.bus).components()
            except SdBusBaseError as exc:
                raise door_error(exc, "components") from None

        try:
            with self._connect() as systemd:
                data = json.loads(systemd.run(ask(systemd)))
        except SystemdError as exc:
            raise ClientError(explain(exc, "components", os.getuid(), self.deadline)) from None
        return data if isinstance(data, dict) else {}

    def _active(self, unit: str) -> bool:
        state = self._systemd(unit, lambda sd: sd.unit_state(unit).active_state)
        return state in ("activating", "active", "reloading", "deactivating")

    def remote_update_pending(self) -> bool:
        """An update or rollback of remote is running (the handler's own rule; policy.remote_first is the update's)."""
        try:
            return self._active(update_unit("remote")) or self._active(rollback_unit("remote"))
        except ClientError:
            return False

    def follow(self, what: str, start: Callable[[UpdaterInterface], Awaitable[str]]) -> Iterator[Event]:
        """Ask Updater1 in a thread and yield the progress it signals, then the recorded result (the rollback's
        result when the run failed and OnFailure= rolled it back). Raises only ClientError."""
        events: queue.Queue[Event | BaseException] = queue.Queue()

        def work() -> None:
            try:
                result = self._door(what, start, lambda data: events.put(Event("progress", data)))
                events.put(Event("result", result))
            except ClientError as exc:
                events.put(exc)
            except Exception as exc:  # handed to the consumer's thread as one line
                events.put(ClientError(f"following {what}: {type(exc).__name__}: {exc}"))

        threading.Thread(target=work, name=f"follow-{what}", daemon=True).start()
        while True:
            item = events.get()
            if isinstance(item, BaseException):
                raise item
            yield item
            if item.kind == "result":
                return

    def update(self, component: str, dry_run: bool = False, version: str = "") -> Iterator[Event]:
        """`version`: only a wish, verified by the update against GitHub and the policy; empty: the policy's."""
        return self.follow(update_unit(component, dry_run), lambda door: door.update(component, version, dry_run))

    def rollback(self, component: str) -> Iterator[Event]:
        """`updater.rollback`: Updater1 starts dunebugger-rollback@<component>; its result is the answer."""
        return self.follow(rollback_unit(component), lambda door: door.rollback(component))

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
