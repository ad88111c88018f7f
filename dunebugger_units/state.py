"""The on-disk record in `state_dir`: what was checked, installed and decided, per component.

This module touches the disk: every write goes through `files.atomic_write` under one flock, so a check and an
update that finish together never lose each other's fields.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
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
