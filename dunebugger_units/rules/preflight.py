"""Pre-update validation shared by both kinds: which version, which manifest, and the common checks.

`choose_target` and `common_checks` are pure; `gather_manifest` and `gather_release` do the network I/O
through github.py. Nothing here changes the device.

The check's record comes from its cache, which an unprivileged user writes: only the target version is taken
from it, and only a plain version string. The release (assets, URLs, digests, sizes) is read again from GitHub
for that tag, by root.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import ComponentConfig, Config
from ..download import DownloadError, fetch_bytes
from ..errors import CheckFailed, Refused
from ..github import GithubClient, Release, fetch_raw, fetch_release_by_version
from ..manifest import MAX_MANIFEST_BYTES, Manifest, ManifestInvalid, foreign_health_url, load_manifest_text
from ..results import CheckOutcome
from ..signatures import MAX_SUMS_BYTES, SignatureError, SignedSums, gather_signed, manifest_coverage
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
            raise Refused(f"updating {name}: {strip_v(requested)} is already installed")
        return Target(strip_v(requested), explicit=True)
    if not record.get("last_checked") and not record.get("latest"):
        raise Refused(f"updating {name}: no check result yet; run `dunebugger-units check` first")
    latest = record.get("latest")
    if not latest:
        raise Refused(f"updating {name}: the last check found no published release")
    if not isinstance(latest, str) or plain_version(latest) is None:
        raise Refused(f"updating {name}: the check's record names {str(latest)[:40]!r}, not a version")
    if not is_newer(latest, current):
        raise Refused(f"updating {name}: already up to date at {current} (latest {latest})")
    return Target(strip_v(latest), explicit=False)


def gather_release(client: GithubClient, component: ComponentConfig, target: Target) -> Release:
    """The target's release as GitHub says it now, read by root: never the check's copy."""
    try:
        release = fetch_release_by_version(client, component.repo, target.version)
    except CheckFailed as exc:
        raise Refused(f"updating {component.name} to {target.version}: {exc}") from None
    if release is None:
        raise Refused(f"updating {component.name}: GitHub has no release {target.version}")
    if parse_version(release.version) != parse_version(target.version):
        raise Refused(f"updating {component.name}: GitHub's release {release.tag} is not {target.version}")
    return release


def manifest_url(config: Config, component: ComponentConfig, tag: str) -> str:
    return config.github.manifest_url.format(
        api_url=config.github.api_url.rstrip("/"), owner=config.github.owner, repo=component.repo, tag=tag,
        version=strip_v(tag),
    )


def gather_manifest(client: GithubClient, config: Config, component: ComponentConfig, release: Release,
                    signed: SignedSums | None = None) -> Manifest:
    """The release's update-manifest.yaml; a 404 means the built-in defaults, any other failure refuses. With
    a signed release, the manifest (or its absence) must be what the signature covers."""
    url = manifest_url(config, component, release.tag)
    try:
        data = fetch_raw(client, url, MAX_MANIFEST_BYTES)
    except CheckFailed as exc:
        raise Refused(f"update manifest: {exc}") from None
    if signed is not None and (why := manifest_coverage(signed, data)) is not None:
        raise SignatureError(f"release {release.tag}: {why}")
    manifest = Manifest() if data is None else load_manifest_text(data, url)
    if (why := foreign_health_url(manifest.health_url, component.health_url)) is not None:
        raise ManifestInvalid(why)
    return manifest


def gather_signatures(config: Config, repo: str, release: Release) -> SignedSums | None:
    """With `trusted_keys` set: the release's SHA256SUMS, its signature verified by gpgv; else None."""
    if config.trusted_keys is None:
        return None
    github = config.github

    def fetch(url: str) -> bytes:
        try:
            return fetch_bytes(url, MAX_SUMS_BYTES, github.timeout, github.redirect_hosts)
        except DownloadError as exc:
            raise SignatureError(f"release {release.tag}: {exc}") from None

    return gather_signed(release, repo, Path(config.trusted_keys), fetch)


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
