"""The python_app kind (core): a Python app run by a systemd service from a venv in its install dir.

This module is the kind as the configuration and a check see it. What an update does (verified download,
side-by-side staging, one-restart switch, fast rollback) is in python_app_update.py, imported on first use
(kinds/deferred.py).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..device import MAX_FILE_BYTES, parse_version_file
from ..errors import ConfigError
from ..files import read_nofollow
from ..versions import UNKNOWN
from .deferred import DeferredUpdate

if TYPE_CHECKING:
    from ..config import ComponentConfig, Config, KeySpec
    from .python_app_update import PythonAppUpdate


class PythonAppKind(DeferredUpdate):
    """kinds/base.Kind for core."""

    config_keys: ClassVar[Mapping[str, KeySpec]] = {
        "service": ((str,), "a unit name", False),
        "install_dir": ((str,), "a path", False),
        "version_file": ((str,), "a file name", False),
        "asset_pattern": ((str,), "a string", False),
        "config_paths": ((list,), "a list of paths", False),
        "releases_dir": ((str,), "a path", True),
        "python": ((str,), "an absolute path to an interpreter", False),
        "pip_index_url": ((str,), "a URL", True),
        "owner": ((str,), "a user name or uid, never root", True),
        "pip_find_links": ((list,), "a list of paths or URLs", False),
    }
    required_keys = ("repo", "service", "install_dir")

    def check_config(self, values: Mapping[str, Any], where: str) -> None:
        if not str(values.get("python", "/")).startswith("/"):
            raise ConfigError(f"{where}.python: expected an absolute path, got {values['python']!r}")
        if values.get("owner") in {"root", "0"}:
            raise ConfigError(f"{where}.owner: root never owns a component's files, got {values['owner']!r}")

    def installed_version(self, config: Config, component: ComponentConfig) -> str:
        # the install link is followed once; a link in the release (VERSION -> /etc/shadow) never is
        version_path = Path(os.path.realpath(component.install_dir or "")) / component.version_file
        return parse_version_file(read_nofollow(version_path, MAX_FILE_BYTES).decode("utf-8", "replace")) or UNKNOWN

    def update(self) -> PythonAppUpdate:
        from .python_app_update import PythonAppUpdate  # deferred: see the module's docstring

        return PythonAppUpdate()
