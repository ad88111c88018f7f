"""What is installed on the device: each kind reads its own (kinds.base.Kind.installed_version), never writes.

`parse_version_file` (core's VERSION file) is pure; `read_small` reads a file with a cap.
"""

from __future__ import annotations

import json
from pathlib import Path

from .config import ComponentConfig, Config
from .errors import UnitsError
from .versions import UNKNOWN, parse_version, strip_v

MAX_FILE_BYTES = 1024 * 1024


def parse_version_file(text: str) -> str | None:
    """Core's VERSION: JSON with `full_version` (or `version` + `prerelease`), or an old one-line version."""
    text = text.strip()
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        line = text.splitlines()[0].strip()
        return strip_v(line) if parse_version(line) else None
    if isinstance(data, str):
        return strip_v(data) if parse_version(data) else None
    if not isinstance(data, dict):
        return None
    full = data.get("full_version")
    if isinstance(full, str) and parse_version(full):
        return strip_v(full)
    version, pre = data.get("version"), data.get("prerelease")
    if not isinstance(version, str):
        return None
    # one generator writes the string "null" for "no prerelease"
    joined = f"{version}-{pre}" if isinstance(pre, str) and pre not in ("", "null", "None") else version
    return strip_v(joined) if parse_version(joined) else None


def read_small(path: Path) -> str:
    with path.open("rb") as handle:
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise UnitsError(f"reading {path}: larger than {MAX_FILE_BYTES} bytes")
    return data.decode("utf-8", "replace")


def read_current_version(config: Config, component: ComponentConfig) -> str:
    """The installed version, or `unknown` when the device does not say (an update is then available)."""
    from .kinds import kind_of  # deferred: the kinds read the version files through this module

    try:
        return kind_of(component.type).installed_version(config, component)
    except (UnitsError, OSError):
        return UNKNOWN
