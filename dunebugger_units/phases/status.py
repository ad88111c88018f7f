"""Status: what is installed now (read from the device) beside what the last check stored. No network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import state, transaction
from ..config import Config
from ..device import read_current_version
from ..holds import read_holds
from ..versions import is_newer
from .check import frontend_view


def read_status(config: Config) -> dict[str, Any]:
    stored = state.component_views(Path(config.state_dir), Path(config.check_cache_dir))
    holds = read_holds(Path(config.state_dir))
    components: dict[str, Any] = {}
    for name, component in config.components.items():
        record = dict(stored.get(name, {}))
        record["current"] = read_current_version(config, component)
        record["update_available"] = is_newer(record.get("latest"), record["current"])
        record |= {"held": name in holds, "policy": component.policy}
        components[name] = frontend_view(record) | {
            "last_result": record.get("last_result"),
            "prepared": state.ready_to_install(record.get("prepared"), record["current"])}
    return {"components": components, "unfinished_update": transaction.describe_unfinished(Path(config.state_dir))}
