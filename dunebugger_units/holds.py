"""Holds, like `apt-mark hold`: a held component is never updated unattended, and a person's update of it
needs `--force`. Kept in root's state dir (`holds.json`); touches the disk.

The check and status read the holds to show them; only root (hold, unhold) writes them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import StateError
from .files import atomic_write

HOLDS_FILE = "holds.json"


def holds_file(state_dir: Path) -> Path:
    return state_dir / HOLDS_FILE


def read_holds(state_dir: Path) -> dict[str, dict[str, Any]]:
    """Every hold: component -> {"since": ISO time}. A missing file is no holds; a corrupt one an error
    (a hold silently lost would let an unattended update through)."""
    path = holds_file(state_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise StateError(f"reading holds {path}: {exc.strerror}") from None
    except ValueError:
        raise StateError(f"reading holds {path}: not valid JSON; fix or remove it") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise StateError(f"reading holds {path}: not a holds record; fix or remove it")
    return data


def is_held(state_dir: Path, component: str) -> bool:
    return component in read_holds(state_dir)


def set_hold(state_dir: Path, component: str, held: bool) -> bool:
    """Hold or release `component`; returns whether anything changed."""
    holds = read_holds(state_dir)
    if (component in holds) == held:
        return False
    if held:
        holds[component] = {"since": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")}
    else:
        del holds[component]
    state_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(holds_file(state_dir), json.dumps(holds, indent=2, sort_keys=True).encode() + b"\n", mode=0o644)
    return True
