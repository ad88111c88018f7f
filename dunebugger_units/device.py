"""What is installed on the device: reads the compose file and core's VERSION file, never writes.

`image_tag` and `parse_version_file` are pure; the `read_*` functions do the reading.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .config import ComponentConfig, Config
from .errors import UnitsError
from .versions import UNKNOWN, parse_version, strip_v

MAX_FILE_BYTES = 1024 * 1024


def image_tag(ref: str) -> str | None:
    """`ghcr.io/o/x:1.0.0` -> `1.0.0`; None for a digest reference or no tag (the registry port is no tag)."""
    if "@" in ref:
        return None
    name = ref.rsplit("/", 1)[-1]
    return name.split(":", 1)[1] if ":" in name else None


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


def read_compose(path: Path) -> dict[str, Any]:
    import yaml  # deferred: keeps `--help` fast on a Pi

    try:
        data = yaml.safe_load(_read_small(path))
    except FileNotFoundError:
        raise UnitsError(f"reading compose file {path}: it does not exist") from None
    except OSError as exc:
        raise UnitsError(f"reading compose file {path}: {exc.strerror}") from None
    except yaml.YAMLError:
        raise UnitsError(f"reading compose file {path}: not valid YAML") from None
    if not isinstance(data, dict) or not isinstance(data.get("services"), dict):
        raise UnitsError(f"reading compose file {path}: it has no services")
    return data


def compose_image(compose: dict[str, Any], service: str) -> str | None:
    entry = compose["services"].get(service)
    image = entry.get("image") if isinstance(entry, dict) else None
    return image if isinstance(image, str) else None


def read_current_version(config: Config, component: ComponentConfig) -> str:
    """The installed version, or `unknown` when the device does not say (an update is then available)."""
    try:
        if component.type == "container":
            compose = read_compose(Path(config.compose_file))
            image = compose_image(compose, component.compose_service or component.name)
            tag = image_tag(image) if image else None
            return strip_v(tag) if tag and parse_version(tag) else UNKNOWN
        version_path = Path(component.install_dir or "") / component.version_file
        return parse_version_file(_read_small(version_path)) or UNKNOWN
    except (UnitsError, OSError):
        return UNKNOWN
