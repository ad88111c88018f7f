"""What an update reads of its target release, as root and from GitHub itself (never the check's copy): the
release, its signed checksums when `trusted_keys` is set, and its update manifest. Refused when any of them
cannot be had; nothing here changes the device.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import ComponentConfig, Config
from ..download import DownloadError, fetch_bytes
from ..errors import CheckFailed, Refused
from ..github import GithubClient, Release, fetch_raw, fetch_release_by_version, read_token
from ..manifest import MAX_MANIFEST_BYTES, Manifest, ManifestInvalid, foreign_health_url, load_manifest_text
from ..rules.preflight import Target
from ..signatures import MAX_SUMS_BYTES, SignatureError, SignedSums, gather_signed, manifest_coverage
from ..versions import parse_version, strip_v


@dataclass(frozen=True)
class TargetRelease:
    release: Release
    signed: SignedSums | None  # the verified SHA256SUMS, when `trusted_keys` is set
    manifest: Manifest


def gather_target_release(config: Config, component: ComponentConfig, target: Target) -> TargetRelease:
    client = GithubClient(config.github, read_token(config.github.token_file))
    release = gather_release(client, component, target)
    # before anything is fetched for staging
    signed = gather_signatures(config, f"{config.github.owner}/{component.repo}", release)
    return TargetRelease(release, signed, gather_manifest(client, config, component, release, signed))


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
