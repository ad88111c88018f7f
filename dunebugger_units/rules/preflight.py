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


def prerelease_refusal(name: str, version: str, marked: bool, include_prerelease: bool,
                       explicit: bool) -> str | None:
    """Pure: why root refuses a target taken from the check's record that is a prerelease (GitHub marks it, or
    its version says so) while `github.include_prerelease` is false. A version a person names is their choice."""
    parsed = parse_version(version)
    if explicit or include_prerelease or not (marked or (parsed is not None and parsed.is_prerelease)):
        return None
    return (f"updating {name}: {version} is a prerelease and github.include_prerelease is false; install it by "
            f"name with `dunebugger-units update {name} --version {version}`")


@dataclass(frozen=True)
class RemoteFacts:
    """What root itself knows of remote: its installed version (with why, when unknown) and GitHub's latest."""

    installed: str
    unknown_why: str | None = None
    latest: str | None = None  # None: nothing published
    lookup_error: str | None = None


REMOTE_RULE = "(rule: policy.remote_first: available)"


def remote_unknown_detail(remote: RemoteFacts) -> str:
    why = remote.unknown_why or "the compose file names no version for it"
    return f"remote's installed version is unknown ({why})"


def common_checks(component: ComponentConfig, manifest: Manifest, remote: RemoteFacts | None,
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
        outcomes.append(min_remote_check(strip_v(manifest.min_remote_version), remote))
    return outcomes


def min_remote_check(needed: str, remote: RemoteFacts | None) -> CheckOutcome:
    """Pure: the manifest's min_remote_version against the remote root reads on the device."""
    have = remote.installed if remote is not None else UNKNOWN
    if have == UNKNOWN:
        unknown = remote_unknown_detail(remote or RemoteFacts(UNKNOWN, "no remote component is configured"))
        return CheckOutcome("remote version", False,
                            f"{unknown}, and this release needs remote {needed} or newer (rule: the manifest's "
                            "min_remote_version); update remote first: `dunebugger-units update remote`")
    if is_newer(needed, have):
        return CheckOutcome("remote version", False, f"Remote too old: {have} installed, {needed} needed "
                                                     "(rule: the manifest's min_remote_version)")
    return CheckOutcome("remote version", True, f"{have} installed, {needed} or newer needed")


def remote_first_check(policy: str, name: str, remote: RemoteFacts | None) -> CheckOutcome | None:
    """Pure: the remote-first rule (policy.remote_first), from root's own facts. `available`: core and scheduler
    wait while remote has an update available; `running`: only while remote's update runs (the update lock
    refuses that). A remote whose version or latest release cannot be had refuses with how to get past it."""
    if name == "remote" or policy != "available":
        return None
    if remote is None:
        return CheckOutcome("remote first", True, "no remote component is configured")
    before = f"Cannot update {name} before remote:"
    way_out = "or set policy.remote_first: running " + REMOTE_RULE
    if remote.lookup_error is not None:
        return CheckOutcome("remote first", False, f"{before} whether remote has an update is not known "
                                                   f"({remote.lookup_error}); try again later, {way_out}")
    if remote.latest is None:
        return CheckOutcome("remote first", True, "remote has no published release")
    if remote.installed == UNKNOWN:
        return CheckOutcome("remote first", False, f"{before} {remote_unknown_detail(remote)}; update remote "
                                                   f"first (`dunebugger-units update remote`), {way_out}")
    if is_newer(remote.latest, remote.installed):
        return CheckOutcome("remote first", False, f"{before} remote has an update available ({remote.installed} "
                                                   f"-> {remote.latest}); update remote first {REMOTE_RULE}")
    return CheckOutcome("remote first", True, f"remote is up to date at {remote.installed}")
