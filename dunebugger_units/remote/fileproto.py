"""The remote's file protocol as the shipped remote speaks it: pure parsing and decisions, no I/O.

The remote writes `<updates>/requests/<id>.json` = {component, action, version, request_id, timestamp} with a
plain open and write, then polls `<updates>/status/<request_id>.json` once a second (docs/remote-file-protocol.md).
Every request file is hostile input: `parse_request` judges one from what the I/O side saw of it (its type,
its first bytes, its age) and says whether to run it, wait for the rest of it, or answer it as bad.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..versions import UNKNOWN, is_newer, plain_version

COMPONENTS = ("core", "scheduler", "remote")
ACTIONS = ("update", "rollback", "health")
# the remote's request is ~150 bytes; anything near this is not one
MAX_REQUEST_BYTES = 4096
# a request that is still empty or not yet JSON this long after its last write is answered as bad JSON
SETTLE_SECONDS = 10.0
# exactly the keys the coordinator writes; the remote reads `message`, `phase`, `success`, `output`, `error`
STATUS_KEYS = ("request_id", "component", "action", "success", "message", "output", "error", "phase", "timestamp")
IN_PROGRESS = "in_progress"
BUSY = "Another update is already in progress"
VALIDATION_ERROR = "Validation error"
# an id becomes a file name: a leading letter or digit, then no "/" (so never "..", never a path)
REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")

# Our status texts (the update units' phases, "<component>: <phase>") in the remote's words, most specific
# first ("switching back" before "switching"). A text not listed keeps the phase already shown.
PHASE_WORDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("rolling back", "restoring", "switching back", "recreating the previous"), "rolling_back"),
    (("pre-update checks",), "starting"),
    (("pulling", "downloading"), "downloading"),
    (("backing up", "staging", "creating venv", "installing", "reusing the venv", "recreating the container",
      "switching"), "installing"),
    (("post-update checks", "stability window", "committing"), "verifying"),
)
# the remote's container is recreated between these: its in-progress status must be gone before the new
# instance looks, and its verdict handed over from the first text after it (see fileserve.RemoteHandover)
REPLACING_REMOTE = ("installing", "rolling_back")
REMOTE_REPLACED = ("post-update checks", "stability window", "committing", "recreating the previous")


@dataclass(frozen=True)
class Request:
    request_id: str
    component: str
    action: str
    version: str | None


@dataclass(frozen=True)
class Verdict:
    """What to do with one entry of the requests dir: `ready` (run `request`), `wait` (still being written) or
    `bad` (answer `reason` at `answer_id`, or only in the journal when that is None)."""

    kind: str
    request: Request | None = None
    answer_id: str | None = None
    component: str = "unknown"
    action: str = "unknown"
    reason: str = ""


def valid_id(value: object) -> str | None:
    return value if isinstance(value, str) and REQUEST_ID.match(value) else None


def short(value: object) -> str:
    """Hostile text as it may appear in a status file or the journal: one line, at most 64 characters."""
    text = value if isinstance(value, str) else json.dumps(value)
    return re.sub(r"[\x00-\x1f\x7f]", "?", text)[:64]


def _bad(answer_id: str | None, reason: str, component: object = "unknown", action: object = "unknown") -> Verdict:
    return Verdict("bad", answer_id=answer_id, component=short(component), action=short(action), reason=reason)


def parse_request(name: str, entry: str, data: bytes, age: float) -> Verdict:
    """Judge the entry `name` of the requests dir: `entry` is its type as lstat saw it (file, symlink, fifo,
    directory, other), `data` its first MAX_REQUEST_BYTES + 1 bytes, `age` the seconds since its last change.

    A bad request is answered at its own request_id, else at its file name's stem when that is a valid id (the
    remote polls `status/<id>.json` with the id it named the file after), else only in the journal."""
    stem_id = valid_id(name[:-5]) if name.endswith(".json") else None
    if entry != "file":
        return _bad(stem_id, f"Request file {short(name)} is a {entry}, not a regular file")
    if not name.endswith(".json"):
        return _bad(None, f"{short(name)} is not a request (<id>.json)")
    if len(data) > MAX_REQUEST_BYTES:
        return _bad(stem_id, f"Request larger than {MAX_REQUEST_BYTES} bytes")
    try:
        body = json.loads(data.decode("utf-8"))
    except ValueError:  # empty or half-written: the remote writes with a plain open and write
        if age < SETTLE_SECONDS:
            return Verdict("wait")
        return _bad(stem_id, "Invalid JSON in request file" if data.strip() else "Empty request file")
    if not isinstance(body, dict):
        return _bad(stem_id, "Request is not a JSON object")
    return _parse_fields(body, stem_id)


def _parse_fields(body: Mapping[str, Any], stem_id: str | None) -> Verdict:
    """The coordinator's checks and messages, in its order; then the id and the version, which it never checked."""
    if "request_id" not in body:
        return _bad(stem_id, "Missing 'request_id' field", body.get("component", "unknown"), body.get("action"))
    request_id = valid_id(body["request_id"])
    if request_id is None:
        return _bad(stem_id, f"Invalid request_id: {short(body['request_id'])}", body.get("component", "unknown"))
    component, action, version = body.get("component"), body.get("action"), body.get("version")
    if component in (None, ""):
        return _bad(request_id, "Missing 'component' field")
    if component not in COMPONENTS:
        return _bad(request_id, f"Unknown component: {short(component)}", component)
    if action in (None, ""):
        return _bad(request_id, "Missing 'action' field", component)
    if action not in ACTIONS:
        return _bad(request_id, f"Invalid action: {short(action)}", component, action)
    if version not in (None, "") and (not isinstance(version, str) or plain_version(version) is None):
        return _bad(request_id, f"Invalid version: {short(version)}", component, action)
    return Verdict("ready", Request(request_id, str(component), str(action), version or None),
                   answer_id=request_id, component=str(component), action=str(action))


def version_wish(component: str, wish: str | None, installed: str) -> tuple[str | None, str | None]:
    """(the version to request explicitly, or a refusal). No wish: the update's normal path, the latest from the
    last check. A wish is a plain version no older than what is installed: the remote may ask for updates and
    nothing more (a way back is the rollback action). The update unit still verifies it against GitHub and the
    policy, as it verifies the check's cache."""
    if wish is None:
        return None, None
    version = plain_version(wish)
    if version is None:
        return None, f"Invalid version: {short(wish)}"
    if installed != UNKNOWN and is_newer(installed, version):
        return None, (f"Refused {component} {version}: older than the installed {installed}; the remote may ask "
                      "for updates only (a way back is the rollback action)")
    return version, None


def phase_of(status_text: str, shown: str) -> str:
    """The remote's phase for one of our status texts ("scheduler: pulling 40%"); `shown` when not listed."""
    text = status_text.split(": ", 1)[-1].strip().lower()
    for words, phase in PHASE_WORDS:
        if text.startswith(words):
            return phase
    return shown


def replaces_remote(status_text: str) -> bool:
    """The text of a step at or after which the remote's container has been recreated."""
    return status_text.split(": ", 1)[-1].strip().lower().startswith(REMOTE_REPLACED)


def already_current(result: Mapping[str, Any]) -> bool:
    """The component already runs what was asked (`unchanged`, or a refusal saying so from an older result):
    for the person, that is no failure."""
    message = str(result.get("message") or "")
    return result.get("status") == "unchanged" or (
        result.get("status") == "refused" and ("already up to date" in message or "is already installed" in message))


def final_fields(result: Mapping[str, Any] | None, job_result: str, asked: str) -> tuple[bool, str, str, str]:
    """(success, message, output, error) of the final status, from the recorded result that answers the request
    (the rollback's, when the update failed and was rolled back: a failure for the update that was `asked`)."""
    if result is None:
        return False, f"The unit ended with job result {job_result!r} and recorded no result", "", job_result
    message = str(result.get("message") or result.get("status") or "")
    success = (bool(result.get("success")) or already_current(result)
               or (asked == "rollback" and result.get("status") == "rolled-back"))
    versions = " -> ".join(str(v) for v in (result.get("from_version"), result.get("to_version")) if v)
    output = f"{result.get('action')} {result.get('component')}: {result.get('status')}"
    output += f" ({versions})" if versions else ""
    return success, message, output, "" if success else str(result.get("status") or "failed")


def status_record(request_id: str, component: str, action: str, *, phase: str, timestamp: str,  # noqa: PLR0913  # one argument per key of the record
                  success: bool | None = None, message: str = IN_PROGRESS, output: str = "",
                  error: str = "") -> dict[str, Any]:
    """One status file's content, with exactly the coordinator's keys: in progress unless `success` is given."""
    return {"request_id": request_id, "component": component, "action": action, "success": success,
            "message": message, "output": output, "error": error, "phase": phase, "timestamp": timestamp}


def rollback_expected(result: Mapping[str, Any]) -> bool:
    """A failed update that changed something exits 1, and OnFailure= starts the rollback, whose result then
    answers the request."""
    return result.get("action") == "update" and result.get("status") == "failed" and bool(result.get("changed"))


def own_result(results: list[dict[str, Any]], component: str, action: str, asked: str) -> dict[str, Any] | None:
    """The run that answers a request: the first run of `action` for `component` to finish after it was asked
    (`results` newest first; systemd merges a start into a running start job, so no earlier run finishes
    after `asked`)."""
    runs = [r for r in results if r.get("component") == component and r.get("action") == action
            and str(r.get("finished_at") or "") >= asked]
    return runs[-1] if runs else None


def rollback_of(results: list[dict[str, Any]], failed: Mapping[str, Any]) -> dict[str, Any] | None:
    invocation = failed.get("invocation_id")
    return next((r for r in results if invocation and r.get("action") == "rollback"
                 and r.get("failed_invocation_id") == invocation), None)
