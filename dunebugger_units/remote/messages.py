"""The remote's message handler: the frontend's envelope in, the replies out (as a generator, so progress
can be sent as it happens).

Protocol (see the README): `updater.check_updates` -> `update_check_result` (and `system_info` to broadcast);
`updater.perform_update` {component, dry_run} and `updater.rollback` {component} -> `update_progress`
{component, phase, percent?}..., then `update_result` {component, success, message, dry_run}.
The dunebugger-remote app's shapes are accepted too: `updater.update` with a plain-string body ->
`updater_progress`..., then `log`. A component of `all` updates each component with an update, remote first,
then scheduler, then core, stopping at the first failure: one final reply per component, then the summary
(`component: "all"`, with `summary` and `components`).
Every recorded result, whoever started it, is broadcast by `broadcast_replies` (the remote feeds it from
`UpdaterClient.follow_results` in a thread).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .client import COMPONENTS, ClientError, Event, rollback_expected

SOURCE = "controller"
BROADCAST = "broadcast"
UPDATE_SUBJECTS = ("updater.perform_update", "updater.update", "updater.rollback")
ALL = "all"
# as `update --all` (follow.ALL_ORDER): the remote first, core, the show's own app, last
ALL_ORDER = ("remote", "scheduler", "core")
STOPS = frozenset({"failed", "rolled-back", "needs-manual", "refused", "cancelled"})


class Client(Protocol):
    def check(self) -> dict[str, Any]: ...
    def check_result(self) -> dict[str, Any]: ...
    def system_info(self) -> dict[str, Any]: ...
    def update(self, component: str, dry_run: bool = False) -> Iterator[Event]: ...
    def rollback(self, component: str) -> Iterator[Event]: ...
    def remote_update_pending(self) -> bool: ...


INFO_STATUSES = frozenset({"updated", "unchanged", "dry-run"})  # `unchanged`: already up to date
WARNING_STATUSES = frozenset({"refused", "rolled-back", "cancelled"})


def level_of(result: Mapping[str, Any]) -> str:
    """The `log` level of a result, by its status: nothing to do is info, not an error."""
    status = result.get("status")
    if result.get("success") or status in INFO_STATUSES:
        return "info"
    return "warning" if status in WARNING_STATUSES else "error"


def broadcast_replies(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What every frontend hears of one recorded result: `update_result` and a `log`, to broadcast.

    An update that failed after changing the device is not an outcome yet: OnFailure= rolls it back, and the
    rollback's result is the outcome. Until then it is progress ("rolling back")."""
    if rollback_expected(result):
        return [reply("update_progress", {"component": result.get("component"), "phase": "rolling back"},
                      BROADCAST)]
    body = {"component": result.get("component"), "success": bool(result.get("success")),
            "message": str(result.get("message", "")), "dry_run": bool(result.get("dry_run"))}
    log = {"success": body["success"], "message": body["message"], "level": level_of(result)}
    return [reply("update_result", body, BROADCAST), reply("log", log, BROADCAST)]


def reply(subject: str, body: Any, destination: str) -> dict[str, Any]:
    return {"subject": subject, "body": body, "source": SOURCE, "destination": destination}


def parse_update_request(subject: str, body: Any) -> tuple[str | None, bool, str | None]:
    """Pure: (component, dry_run, error). A `dunebugger-` prefix is allowed in the plain-string form."""
    if subject == "updater.rollback" and isinstance(body, str):
        body = {"component": body}
    if subject == "updater.update":
        if not isinstance(body, str):
            return None, False, "the body of updater.update must be a component name"
        component: Any = body.strip().removeprefix("dunebugger-")
        dry_run: Any = False
    else:
        if not isinstance(body, dict):
            return None, False, f"the body of {subject} must be an object with a component"
        component, dry_run = body.get("component"), body.get("dry_run", False)
        if not isinstance(dry_run, bool):
            return None, False, "dry_run must be true or false"
        if not isinstance(component, str):
            return None, False, "component must be a string"
    if component == ALL and subject != "updater.rollback":
        return component, dry_run, None
    if component not in COMPONENTS:
        return component, dry_run, f"unknown component {component!r} (known: {', '.join(COMPONENTS)})"
    return component, dry_run, None


def handle(envelope: Any, client: Client) -> Iterator[dict[str, Any]]:
    """Yield the replies to one frontend message; never raises for bad input."""
    if not isinstance(envelope, dict) or not isinstance(envelope.get("subject"), str):
        yield reply("log", {"success": False, "message": "malformed message: no subject", "level": "error"},
                    "broadcast")
        return
    destination = str(envelope.get("connectionId") or BROADCAST)
    subject = envelope["subject"]
    if subject == "updater.check_updates":
        yield from _check(client, destination)
    elif subject in UPDATE_SUBJECTS:
        yield from _update(client, subject, envelope.get("body"), destination)
    else:
        yield reply("log", {"success": False, "message": f"unknown subject {subject!r}", "level": "error"},
                    destination)


def _check(client: Client, destination: str) -> Iterator[dict[str, Any]]:
    try:
        yield reply("update_check_result", client.check(), destination)
        yield reply("system_info", client.system_info(), BROADCAST)
    except ClientError as exc:
        yield reply("log", {"success": False, "message": f"update check failed: {exc}", "level": "error"},
                    destination)


def _update(client: Client, subject: str, body: Any, destination: str) -> Iterator[dict[str, Any]]:
    legacy = subject == "updater.update"
    rollback = subject == "updater.rollback"
    component, dry_run, error = parse_update_request(subject, body)
    if error is None and component in ("core", "scheduler", ALL) and client.remote_update_pending():
        error = f"an update of remote is pending: {component} waits until it is done"
    request = Request(legacy, str(component), dry_run, destination)
    if error is not None:
        yield request.final(False, error, "error")
        return
    if component == ALL:
        yield from _update_all(client, request)
        return
    if component == "remote" and not dry_run:
        # this process is replaced on the way: the new instance broadcasts the outcome (follow_results)
        yield request.progress("remote restarts during its own update: the new instance sends the result")
    result = yield from _follow(client, request, rollback)
    yield request.final(bool(result.get("success")), str(result.get("message", "")), level_of(result))


def _follow(client: Client, request: Request, rollback: bool = False) -> Generator[dict[str, Any], None,
                                                                                      dict[str, Any]]:
    """Yield the progress of one update (or rollback) and return its recorded result; a ClientError is a
    failed result that names it."""
    try:
        events = client.rollback(request.component) if rollback else client.update(request.component,
                                                                                    request.dry_run)
        for event in events:
            if event.kind == "progress":
                yield request.progress(event.data["phase"], event.data.get("percent"))
            else:
                return event.data
    except ClientError as exc:
        return {"component": request.component, "success": False, "status": "failed", "message": str(exc)}
    return {"component": request.component, "success": False, "status": "failed",  # pragma: no cover
            "message": f"no result from the update of {request.component}"}


@dataclass(frozen=True)
class Request:
    """One update request, and the shapes its replies take (the plain-string `legacy` ones or the documented ones)."""

    legacy: bool
    component: str
    dry_run: bool
    destination: str

    def progress(self, phase: str, percent: int | None = None) -> dict[str, Any]:
        if self.legacy:
            return reply("updater_progress", {"success": True, "message": f"Update in progress: {phase}...",
                                              "level": "info", "phase": phase}, self.destination)
        body: dict[str, Any] = {"component": self.component, "phase": phase}
        if percent is not None:
            body["percent"] = percent
        return reply("update_progress", body, self.destination)

    def final(self, success: bool, message: str, level: str) -> dict[str, Any]:
        if self.legacy:
            return reply("log", {"success": success, "message": message, "level": level}, self.destination)
        return reply("update_result", {"component": self.component, "success": success, "message": message,
                                       "dry_run": self.dry_run}, self.destination)

    def summary(self, entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """The last reply of `all`: the summary line, and every component's entry."""
        stop = stopped_at(entries)
        final = self.final(stop is None, summary_of(entries), "info" if stop is None else level_of(stop))
        final["body"] |= {"summary": final["body"]["message"], "components": [dict(e) for e in entries]}
        return final


# ---- all: every component with an update, in ALL_ORDER ----------------------------------------------------------

def stopped_at(entries: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    return next((e for e in entries if e.get("status") in STOPS), None)


def entry(component: str, status: str, message: str, to_version: str | None = None) -> dict[str, Any]:
    """One component's entry of `all` (`to_version`: the version it was updated, or tried, to)."""
    return {"component": component, "status": status, "success": status in INFO_STATUSES, "message": message,
            "to_version": to_version}


def summary_of(entries: Sequence[Mapping[str, Any]]) -> str:
    """Pure: the last line, in the words of `update --all` (follow.AllResult.summary)."""
    done = [f"{e['component']} {e.get('to_version') or ''}".rstrip() for e in entries if e["status"] == "updated"]
    words = [f"updated: {', '.join(done)}" if done else "nothing updated"]
    if (planned := [e["component"] for e in entries if e["status"] == "dry-run"]):
        words.append(f"dry run passed: {', '.join(planned)}")
    stop = stopped_at(entries)
    after = list(entries).index(stop) if stop is not None else len(entries)
    if (held := [e["component"] for e in entries[:after] if e["status"] == "skipped"]):
        words.append(f"held: {', '.join(held)}")
    if stop is not None:
        words.append(f"{stop['component']} {stop['status']}: {stop['message']}")
    if (left := [e["component"] for e in entries[after:] if e["status"] == "skipped"]):
        words.append(f"not started: {', '.join(left)}")
    return "update all: " + "; ".join(words)


def next_step(name: str, record: Mapping[str, Any], entries: Sequence[Mapping[str, Any]],
              dry_run: bool) -> dict[str, Any] | None:
    """Pure: the entry of a component that is not updated (no update, held, or after a failure), or None to
    update it. A dry run goes on after a failure: it changes nothing, so every plan is shown."""
    stop = stopped_at(entries)
    if stop is not None and not dry_run:
        return entry(name, "skipped", f"not started: {stop['component']} did not update")
    if record.get("update_available") is not True:
        return entry(name, "unchanged", f"{name}: no update available at the last check")
    if record.get("held"):
        return entry(name, "skipped", f"{name}: held, left out")
    return None


def _update_all(client: Client, request: Request) -> Iterator[dict[str, Any]]:
    """Each component in ALL_ORDER that the last check found an update for, one after another through the
    same door as a single update; what was done stays done (each update unit verified its own)."""
    try:
        records = client.check_result().get("components", {})
    except ClientError as exc:
        yield request.final(False, f"update all: reading the last check: {exc}", "error")
        return
    entries: list[dict[str, Any]] = []
    for name in ALL_ORDER:
        one = Request(request.legacy, name, request.dry_run, request.destination)
        found = next_step(name, records.get(name, {}), entries, request.dry_run)
        if found is None:
            if name == "remote" and not request.dry_run:
                rest = [n for n in ALL_ORDER[1:] if records.get(n, {}).get("update_available") is True]
                # this process is replaced on the way, as for a single update of remote: the new instance
                # broadcasts the outcome; the rest waits for the next "all" (remote first holds them anyway)
                yield one.progress("remote restarts during its own update: the new instance sends the result"
                                   + (f"; {', '.join(rest)} then wait for another update all" if rest else ""))
            result = yield from _follow(client, one)
            found = entry(name, str(result.get("status") or ("updated" if result.get("success") else "failed")),
                          str(result.get("message", "")), result.get("to_version"))
        entries.append(found)
        # held, or not started after a failure: nothing went wrong with this one
        yield one.final(found["success"], found["message"],
                        "warning" if found["status"] == "skipped" else level_of(found))
    yield request.summary(entries)
