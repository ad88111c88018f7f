"""What is installed on the device: each kind reads its own (kinds.base.Kind.installed_version), never writes.

`parse_version_file` (core's VERSION file) is pure; `read_small` reads a file with a cap.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NamedTuple

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
    return installed_version(config, component).version


class Installed(NamedTuple):
    version: str
    why: str | None = None  # why the version could not be read; None when the device was read
    denied: bool = False  # because this user may not read it


def installed_version(config: Config, component: ComponentConfig) -> Installed:
    """The installed version, and why it could not be read: a file this user may not read is named with the
    permission, so that nobody has to guess from an "unknown"."""
    from .kinds import kind_of  # deferred: the kinds read the version files through this module

    try:
        return Installed(kind_of(component.type).installed_version(config, component))
    except OSError as exc:
        where = f"reading {exc.filename}" if exc.filename else "reading the installed version"
        return Installed(UNKNOWN, f"{where}: {exc.strerror or exc} ({as_whom()})", isinstance(exc, PermissionError))
    except UnitsError as exc:
        # a kind names the file in its own words; the OSError it met stays its context
        return Installed(UNKNOWN, f"{exc} ({as_whom()})", isinstance(exc.__context__, PermissionError))


def as_whom() -> str:
    """`as user <name>`: a permission is only half the story without whose it is."""
    import pwd

    try:
        return f"as user {pwd.getpwuid(os.geteuid()).pw_name}"
    except KeyError:
        return f"as uid {os.geteuid()}"
