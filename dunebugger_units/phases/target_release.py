"""What an update reads of its target release, as root and from GitHub itself (never the check's copy): the
release, its signed checksums when `trusted_keys` is set, and its update manifest. Refused when any of them
cannot be had; nothing here changes the device. A release installed from a file is read from root's staged
copy instead, with no GitHub call (`staged_target_release`, fromfile.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import ComponentConfig, Config
from ..download import DownloadError, fetch_bytes
from ..errors import CheckFailed, Refused
from ..files import read_nofollow
from ..github import Asset, GithubClient, Release, fetch_raw, fetch_release_by_version, read_token
from ..manifest import MAX_MANIFEST_BYTES, Manifest, ManifestInvalid, foreign_health_url, load_manifest_text
from ..rules.preflight import Target
from ..signatures import (
    MAX_SUMS_BYTES,
    SIGNATURE,
    SUMS,
    SignatureError,
    SignedSums,
    gather_signed,
    manifest_coverage,
    names_release,
    parse_sums,
    verify_signature,
)
from ..versions import parse_version, strip_v

if TYPE_CHECKING:
    from ..fromfile import Staged


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


# ---- a release installed from a file: no GitHub at all ----------------------------------------------------

def staged_target_release(config: Config, component: ComponentConfig, staged: Staged) -> TargetRelease:
    """The release a staged file is: its one asset, the signed SHA256SUMS beside it when `trusted_keys` is set,
    and the built-in manifest defaults (a file carries no update manifest)."""
    size = staged.file.stat().st_size if staged.file.exists() else 0
    release = Release(tag=f"v{staged.version}", version=staged.version, name=staged.name, notes="",
                      url=f"file:{staged.source}", published_at=None, prerelease=False,
                      assets=(Asset(staged.name, size, f"file:{staged.source}"),))
    signed = staged_signatures(config, f"{config.github.owner}/{component.repo}", staged)
    return TargetRelease(release, signed, Manifest())


def staged_signatures(config: Config, repo: str, staged: Staged) -> SignedSums | None:
    """With `trusted_keys` set: the SHA256SUMS staged beside the file, its signature verified by gpgv, naming
    this release (tagged with or without `v`: a file does not say); else None."""
    if config.trusted_keys is None:
        return None
    missing = [name for name in (SUMS, SIGNATURE) if not (staged.dir / name).exists()]
    if missing:
        raise SignatureError(f"{staged.name} is not signed: no {' or '.join(missing)} beside it (trusted_keys "
                             "is set)")
    sums = read_nofollow(staged.dir / SUMS, MAX_SUMS_BYTES)
    verify_signature(Path(config.trusted_keys), sums, read_nofollow(staged.dir / SIGNATURE, MAX_SUMS_BYTES))
    text = sums.decode("utf-8", "replace")
    whys = [names_release(text, repo, tag, staged.version) for tag in (f"v{staged.version}", staged.version)]
    if all(whys):
        raise SignatureError(str(whys[0]))
    return SignedSums(f"v{staged.version}", parse_sums(text))
