"""The on-disk record in `state_dir`: what was checked, installed and decided, per component.

This module touches the disk: every write goes through `files.atomic_write` under one flock, so a check and an
update that finish together never lose each other's fields.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .errors import StateError
from .files import atomic_write

STATE_FILE = "state.json"
LOCK_FILE = ".state.lock"
SCHEMA = 1

State = dict[str, Any]


def state_file(state_dir: Path) -> Path:
    return state_dir / STATE_FILE


def load_state(state_dir: Path) -> State:
    """The whole record; a missing file is an empty record, a corrupt one a StateError."""
    path = state_file(state_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {"schema": SCHEMA, "components": {}}
    except OSError as exc:
        raise StateError(f"reading state {path}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except ValueError:
        raise StateError(f"reading state {path}: not valid JSON (empty or truncated)") from None
    if not isinstance(data, dict) or not isinstance(data.get("components", {}), dict):
        raise StateError(f"reading state {path}: not a state record")
    data.setdefault("components", {})
    return data


def quarantine(state_dir: Path, stamp: str) -> Path:
    """Move a corrupt state file aside (kept for a person to read) so that the next write starts afresh."""
    path = state_file(state_dir)
    aside = path.with_name(f"{STATE_FILE}.corrupt-{stamp}")
    os.replace(path, aside)
    return aside


@contextlib.contextmanager
def _locked(state_dir: Path) -> Iterator[None]:
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(state_dir / LOCK_FILE, os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def write_state(state_dir: Path, data: State) -> None:
    body = json.dumps(data, indent=2, sort_keys=True).encode() + b"\n"
    atomic_write(state_file(state_dir), body, mode=0o644)


def update_state(state_dir: Path, mutate: Callable[[State], None]) -> State:
    """Read, change and write the record under the state lock; returns what was written."""
    with _locked(state_dir):
        data = load_state(state_dir)
        mutate(data)
        data["schema"] = SCHEMA
        write_state(state_dir, data)
        return data


def record_installed(state_dir: Path, name: str, version: str) -> None:
    """An update or a rollback finished: `version` is what runs now."""
    from .versions import is_newer

    def mutate(data: State) -> None:
        record = data["components"].setdefault(name, {})
        record["current"] = version
        record["update_available"] = is_newer(record.get("latest"), version)

    update_state(state_dir, mutate)


def set_previous(state_dir: Path, name: str, previous: dict[str, Any] | None) -> None:
    """What a rollback on request returns to: recorded by a successful update (the version it replaced and
    that update's backups), dropped once a rollback on request has used it."""

    def mutate(data: State) -> None:
        record = data["components"].setdefault(name, {})
        if previous is None:
            record.pop("previous", None)
        else:
            record["previous"] = previous

    update_state(state_dir, mutate)


# ---- results: one JSON file per update, dry run or rollback -----------------------------------------------

RESULTS_DIR = "results"
KEEP_RESULTS = 200


def record_result(state_dir: Path, result: dict[str, Any], *, mirror: bool = True) -> Path:
    """Keep the result (newest KEEP_RESULTS) and mirror its summary into the component's record (not for a
    refused instance that names no component)."""
    results = state_dir / RESULTS_DIR
    results.mkdir(parents=True, exist_ok=True)
    stamp = str(result.get("finished_at") or result.get("started_at") or "").replace(":", "")
    # the component may be a refused, hostile instance name ("../x"): never let it shape a path
    safe = re.sub(r"[^a-z0-9-]", "_", str(result["component"]))[:32] or "_"
    name = f"{stamp}-{os.getpid()}-{safe}-{result['action']}.json"
    path = results / name
    atomic_write(path, json.dumps(result, indent=2).encode() + b"\n", mode=0o644)
    for old in sorted(results.glob("*.json"))[:-KEEP_RESULTS]:
        old.unlink(missing_ok=True)
    if mirror:
        summary = {k: result.get(k) for k in ("action", "status", "success", "message", "finished_at")}

        def set_last(data: State) -> None:
            data["components"].setdefault(result["component"], {})["last_result"] = summary

        update_state(state_dir, set_last)
    return path


def read_results(state_dir: Path) -> list[dict[str, Any]]:
    """Every kept result, newest first; a file that cannot be read is skipped, never fatal."""
    out: list[dict[str, Any]] = []
    for path in sorted((state_dir / RESULTS_DIR).glob("*.json"), reverse=True):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            out.append(data)
    return out


# ---- the one update lock, for every trigger ---------------------------------------------------------------

UPDATE_LOCK = "update.lock"


class Busy(Exception):
    def __init__(self, holder: str) -> None:
        super().__init__(holder)
        self.holder = holder


@contextlib.contextmanager
def update_lock(state_dir: Path, what: str) -> Iterator[None]:
    """Non-blocking: a second update, rollback or dry run is told who holds the lock, never queued."""
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(state_dir / UPDATE_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another component"
            raise Busy(holder) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, what.encode(), 0)
        yield
    finally:
        os.close(fd)


# ---- explicit version requests: written by `update --version` (root), consumed by the update unit ---------

REQUESTS_DIR = "requests"


def write_request(state_dir: Path, component: str, version: str) -> None:
    directory = state_dir / REQUESTS_DIR
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write(directory / f"{component}.json", json.dumps({"version": version}).encode(), mode=0o600)


def take_request(state_dir: Path, component: str) -> str | None:
    """The requested version, removed as it is read: a request is good for one run."""
    path = state_dir / REQUESTS_DIR / f"{component}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        data = {}
    path.unlink(missing_ok=True)
    version = data.get("version") if isinstance(data, dict) else None
    return version if isinstance(version, str) else None
