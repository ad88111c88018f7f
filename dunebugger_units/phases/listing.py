"""`list C`: the versions GitHub has for a component, marked installed, latest and held (like `updatectl
list`). gather (device, holds, GitHub) -> decide (pure: the rows) -> report. Changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config import Config, validate_instance
from ..device import read_current_version
from ..github import GithubClient, Release, read_token
from ..holds import is_held
from ..versions import parse_version


def version_rows(releases: list[Release], installed: str, held: bool, include_prerelease: bool) -> list[dict[str, Any]]:
    """Pure: newest first; prereleases only when asked for (the installed one is always shown)."""
    mine = parse_version(installed)
    shown = [r for r in releases if include_prerelease or not r.prerelease
             or (mine is not None and parse_version(r.version) == mine)]
    latest = next((r.version for r in shown if include_prerelease or not r.prerelease), None)
    rows = []
    for release in shown:
        is_installed = mine is not None and parse_version(release.version) == mine
        rows.append({"version": release.version, "prerelease": release.prerelease, "installed": is_installed,
                     "latest": release.version == latest, "held": held and is_installed})
    return rows


def run_list(config: Config, name: str, include_prerelease: bool | None = None) -> dict[str, Any]:
    component = validate_instance(config, name)
    installed = read_current_version(config, component)
    held = is_held(Path(config.state_dir), name)
    client = GithubClient(config.github, read_token(config.github.token_file))
    releases = client.list_releases(component.repo)
    wanted = config.github.include_prerelease if include_prerelease is None else include_prerelease
    return {"component": name, "versions": version_rows(releases, installed, held, wanted)}

