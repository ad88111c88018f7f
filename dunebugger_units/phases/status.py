"""Status: what is installed now (read from the device) beside what the last check stored. No network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import state, transaction
from ..config import Config
from ..device import read_current_version
from ..errors import StateError
from ..versions import is_newer
from .check import frontend_view


def read_status(config: Config) -> dict[str, Any]:
    stored = state.load_state(Path(config.state_dir))["components"]
    components: dict[str, Any] = {}
    for name, component in config.components.items():
        record = dict(stored.get(name, {}))
        record["current"] = read_current_version(config, component)
        record["update_available"] = is_newer(record.get("latest"), record["current"])
        components[name] = frontend_view(record) | {"last_result": record.get("last_result")}
    return {"components": components, "unfinished_update": unfinished_update(Path(config.state_dir))}


def unfinished_update(state_dir: Path) -> dict[str, Any] | None:
    """An interrupted or failed update that is not resolved yet, said plainly."""
    try:
        txn = transaction.load(state_dir)
    except StateError as exc:
        return {"message": str(exc)}
    if txn is None:
        return None
    what = "needs manual intervention" if txn.status == "needs-manual" else "is unresolved"
    return {"component": txn.component, "from_version": txn.from_version, "to_version": txn.to_version,
            "step": txn.step, "status": txn.status,
            "message": f"the update of {txn.component} from {txn.from_version} to {txn.to_version} {what} "
                       f"(step {txn.step}); see `dunebugger-units recover` and `rollback {txn.component}`"}
