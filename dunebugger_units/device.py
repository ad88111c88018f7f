"""What is installed on the device: reads the compose file and core's VERSION file, never writes.

`parse_version_file` is pure; `read_current_version` does the reading (the compose file through compose.py,
the one compose parser).
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


def _read_small(path: Path) -> str:
    with path.open("rb") as handle:
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise UnitsError(f"reading {path}: larger than {MAX_FILE_BYTES} bytes")
    return data.decode("utf-8", "replace")


def read_current_version(config: Config, component: ComponentConfig) -> str:
    """The installed version, or `unknown` when the device does not say (an update is then available)."""
    from . import compose

    try:
        if component.type == "container":
            text = compose.read_compose_text(Path(config.compose_file))
            image = compose.service_image(text, component.compose_service or component.name)
            tag = compose.image_tag(image)
            return strip_v(tag) if tag and parse_version(tag) else UNKNOWN
        version_path = Path(component.install_dir or "") / component.version_file
        return parse_version_file(_read_small(version_path)) or UNKNOWN
    except (UnitsError, OSError):
        return UNKNOWN
