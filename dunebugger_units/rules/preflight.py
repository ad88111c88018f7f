"""Pre-update rules every kind shares, all pure: which version, and the common checks.

The check's record comes from its cache, which an unprivileged user writes: only the target version is taken
from it, and only a plain version string. The release (assets, URLs, digests, sizes) is read again from GitHub
for that tag, by root (phases/target_release.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..config import ComponentConfig
from ..errors import Refused, UpToDate
from ..manifest import Manifest
from ..results import CheckOutcome
from ..versions import UNKNOWN, is_newer, parse_version, plain_version, strip_v


@dataclass(frozen=True)
class Target:
    version: str
    explicit: bool  # asked for by version (maybe older): a separate, explicit request


def choose_target(name: str, record: Mapping[str, Any], current: str, requested: str | None) -> Target:
    """Pure: the latest from the last check, or the explicitly requested version; else a refusal. Either
    is a plain version string (it names a release dir and an image tag) or refused."""
    if requested is not None:
        if plain_version(requested) is None:
            raise Refused(f"updating {name}: {requested!r} is not a version")
        if current != UNKNOWN and parse_version(requested) == parse_version(current):
            raise UpToDate(f"updating {name}: {strip_v(requested)} is already installed")
        return Target(strip_v(requested), explicit=True)
    if not record.get("last_checked") and not record.get("latest"):
        raise Refused(f"updating {name}: no check result yet; run `dunebugger-units check` first")
    latest = record.get("latest")
    if not latest:
        raise Refused(f"updating {name}: the last check found no published release")
    if not isinstance(latest, str) or plain_version(latest) is None:
        raise Refused(f"updating {name}: the check's record names {str(latest)[:40]!r}, not a version")
    if not is_newer(latest, current):
        raise UpToDate(f"updating {name}: already up to date at {current} (latest {latest})")
    return Target(strip_v(latest), explicit=False)


def common_checks(component: ComponentConfig, manifest: Manifest, remote_version: str | None,
                  state_dir_writable: bool, bus_error: str | None) -> list[CheckOutcome]:
    """Pure: the checks every kind shares, from facts gathered by the caller."""
    outcomes = [
        CheckOutcome("state dir", state_dir_writable,
                     "writable" if state_dir_writable else "the state dir is not writable"),
        CheckOutcome("system bus", bus_error is None, bus_error or "reachable"),
    ]
    if manifest.component_type and manifest.component_type != component.type:
        outcomes.append(CheckOutcome("manifest", False, f"the release is a {manifest.component_type}, "
                                                         f"{component.name} is a {component.type}"))
    if manifest.min_remote_version:
        needed = strip_v(manifest.min_remote_version)
        have = remote_version or UNKNOWN
        ok = have != UNKNOWN and not is_newer(needed, have)
        outcomes.append(CheckOutcome(
            "remote version", ok,
            f"{have} installed, {needed} or newer needed" if ok
            else f"Remote too old: {have} installed, {needed} needed (rule: the manifest's min_remote_version)"))
    return outcomes


def remote_first_check(policy: str, name: str, remote_record: Mapping[str, Any]) -> CheckOutcome | None:
    """Pure: the remote-first rule (policy.remote_first). `available`: core and scheduler wait while remote
    has an update available; `running`: only while remote's update runs (the update lock refuses that)."""
    if name == "remote" or policy != "available":
        return None
    waiting = remote_record.get("update_available") is True
    detail = (f"Cannot update {name} before remote: remote has an update available "
              f"({remote_record.get('current')} -> {remote_record.get('latest')}); update remote first "
              f"(rule: policy.remote_first: available)") if waiting else "remote has no update available"
    return CheckOutcome("remote first", not waiting, detail)
