"""Pre-update validation shared by both kinds: which version, which manifest, and the common checks.

`choose_target` and `common_checks` are pure; `gather_manifest` and `gather_release` do the network I/O
through github.py. Nothing here changes the device.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..config import ComponentConfig, Config
from ..errors import CheckFailed, Refused
from ..github import GithubClient, Release, fetch_raw, fetch_release_by_version, release_from_record
from ..manifest import MAX_MANIFEST_BYTES, Manifest, load_manifest_text
from ..results import CheckOutcome
from ..versions import UNKNOWN, is_newer, parse_version, strip_v


@dataclass(frozen=True)
class Target:
    version: str
    explicit: bool  # asked for by version (maybe older): a separate, explicit request


def choose_target(name: str, record: Mapping[str, Any], current: str, requested: str | None) -> Target:
    """Pure: the latest from the last check, or the explicitly requested version; else a refusal."""
    if requested is not None:
        if parse_version(requested) is None:
            raise Refused(f"updating {name}: {requested!r} is not a version")
        if current != UNKNOWN and parse_version(requested) == parse_version(current):
            raise Refused(f"updating {name}: {strip_v(requested)} is already installed")
        return Target(strip_v(requested), explicit=True)
    if not record.get("last_checked") and not record.get("latest"):
        raise Refused(f"updating {name}: no check result yet; run `dunebugger-units check` first")
    latest = record.get("latest")
    if not latest:
        raise Refused(f"updating {name}: the last check found no published release")
    if not is_newer(latest, current):
        raise Refused(f"updating {name}: already up to date at {current} (latest {latest})")
    return Target(str(latest), explicit=False)


def gather_release(client: GithubClient, component: ComponentConfig, record: Mapping[str, Any],
                   target: Target) -> Release | None:
    if not target.explicit or record.get("latest") == target.version:
        return release_from_record(record)
    try:
        release = fetch_release_by_version(client, component.repo, target.version)
    except CheckFailed as exc:
        raise Refused(f"updating {component.name} to {target.version}: {exc}") from None
    if release is None:
        raise Refused(f"updating {component.name}: GitHub has no release {target.version}")
    return release


def manifest_url(config: Config, component: ComponentConfig, tag: str) -> str:
    return config.github.manifest_url.format(
        api_url=config.github.api_url.rstrip("/"), owner=config.github.owner, repo=component.repo, tag=tag,
        version=strip_v(tag),
    )


def gather_manifest(client: GithubClient, config: Config, component: ComponentConfig, tag: str) -> Manifest:
    """The release's update-manifest.yaml; a 404 means the built-in defaults, any other failure refuses."""
    url = manifest_url(config, component, tag)
    try:
        data = fetch_raw(client, url, MAX_MANIFEST_BYTES)
    except CheckFailed as exc:
        raise Refused(f"update manifest: {exc}") from None
    return Manifest() if data is None else load_manifest_text(data, url)


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
    """Pure: today's remote-first rule (policy.remote_first). `available`: core and scheduler wait while remote
    has an update available; `running`: only while remote's update runs (the update lock refuses that)."""
    if name == "remote" or policy != "available":
        return None
    waiting = remote_record.get("update_available") is True
    detail = (f"Cannot update {name} before remote: remote has an update available "
              f"({remote_record.get('current')} -> {remote_record.get('latest')}); update remote first "
              f"(rule: policy.remote_first: available)") if waiting else "remote has no update available"
    return CheckOutcome("remote first", not waiting, detail)
