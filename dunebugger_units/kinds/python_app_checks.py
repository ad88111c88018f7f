"""The python_app kind's pre-checks (core), in the order `PythonAppUpdate.prepare` runs them, and the plan they
produce: the release asset, the service, the install dir's layout, disk space, the verified download and the
inspected archive. Nothing changes but root's staging area of downloads.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..archive import ArchiveError, inspect_archive
from ..config import ComponentConfig
from ..download import (
    Checksum,
    ChecksumError,
    Download,
    DownloadError,
    download_verified,
    expected_sha256,
    fetch_small,
    find_asset,
)
from ..errors import UnitsError
from ..github import Asset
from ..progress import every_tenth
from ..results import CheckOutcome
from ..state import root_dir
from .base import Found, UpdateContext
from .file_checks import check_staged_file
from .releases import Layout, existing_ancestor, migrated_dir, read_layout

MB = 1024 * 1024


def asset_name(component: ComponentConfig, version: str) -> str:
    return component.asset_pattern.format(version=version)


@dataclass(frozen=True)
class CorePlan:
    """What the update of core does, as the pre-checks found it."""

    asset: Asset
    archive: Path  # downloaded, its checksums verified and every member inspected
    layout: Layout
    new_dir: Path  # releases_dir/<to_version>
    previous: Path  # the running release, or where a plain install dir is migrated to
    owner: tuple[int, int]  # (uid, gid) of the component's files: kinds/owner.py
    staged: bool = False  # new_dir was prepared ahead and is used as it is (python_app_ahead.py)


# ---- pre-checks, in the order prepare runs them ---------------------------------------------------------


def check_asset(ctx: UpdateContext) -> Found[Asset]:
    name = asset_name(ctx.component, ctx.to_version)
    asset = find_asset(ctx.release.assets, name) if ctx.release is not None else None
    if asset is None:
        tag = ctx.release.tag if ctx.release is not None else f"v{ctx.to_version}"
        return CheckOutcome("release asset", False, f"no release asset {name} in {tag}"), None
    return CheckOutcome("release asset", True, f"{name}, {asset.size} bytes"), asset


def check_service(ctx: UpdateContext) -> CheckOutcome:
    service = ctx.component.service or ""
    required = ctx.manifest.require_service_running
    if ctx.systemd is None:
        return CheckOutcome("service", False, f"{service}: the system bus is not connected")
    try:
        st = ctx.systemd.unit_state(service)
    except UnitsError as exc:
        return CheckOutcome("service", False, str(exc))
    return CheckOutcome("service", st.active_state == "active" or not required,
                    f"{service} is {st.active_state} ({st.sub_state})", required)


def check_layout(ctx: UpdateContext) -> Found[Layout]:
    try:
        layout = read_layout(ctx.component)
    except UnitsError as exc:
        return CheckOutcome("install dir", False, str(exc)), None
    parent, releases = layout.install_dir.parent, existing_ancestor(layout.releases_dir)
    for path in (parent, releases):
        if not os.access(path, os.W_OK):
            return CheckOutcome("install dir", False, f"{path} is not writable"), None
    if parent.stat().st_dev != releases.stat().st_dev:
        return CheckOutcome("install dir", False, f"{layout.releases_dir} is not on the filesystem of "
                                              f"{layout.install_dir}: the switch could not be a rename"), None
    how = "plain directory, migrated on this update" if layout.plain else f"link to {layout.running_dir}"
    return CheckOutcome("install dir", True, f"{layout.install_dir}: {how}"), layout


def check_disk(ctx: UpdateContext, layout: Layout) -> CheckOutcome:
    where = existing_ancestor(layout.releases_dir)
    free = shutil.disk_usage(where).free // MB
    needed = ctx.free_mb_needed(ctx.config.update.core_min_free_mb)
    return CheckOutcome("disk space", free >= needed, f"{free} MB free on {where}, {needed} MB needed")


def check_download(ctx: UpdateContext, asset: Asset) -> Found[Path]:
    if ctx.local is not None:
        return check_staged_file(ctx)
    try:
        archive, verified_by = download_asset(ctx, asset)
    except (ChecksumError, DownloadError) as exc:
        return CheckOutcome("download", False, str(exc)), None
    return CheckOutcome("download", True, f"{archive.name}: {verified_by}"), archive


def check_archive(ctx: UpdateContext, archive: Path) -> CheckOutcome:
    try:
        members = inspect_archive(archive, ctx.config.update.max_unpacked_bytes)
    except ArchiveError as exc:
        archive.unlink(missing_ok=True)  # verified, but unusable: never kept for a later run
        return CheckOutcome("archive", False, str(exc))
    return CheckOutcome("archive", True, f"{len(members)} entries, all safe")


def plan_update(ctx: UpdateContext, asset: Asset, layout: Layout, archive: Path,
                owner: tuple[int, int]) -> CorePlan | CheckOutcome:
    """Pure: where the new release goes and where the running one is kept; never onto either of them."""
    previous = migrated_dir(layout, ctx.from_version, ctx.stamp) if layout.plain else layout.running_dir
    new_dir = layout.releases_dir / ctx.to_version
    if new_dir in (layout.running_dir, previous):
        return CheckOutcome("release dir", False, f"{new_dir} is the running or the previous release")
    return CorePlan(asset=asset, archive=archive, layout=layout, new_dir=new_dir, previous=previous, owner=owner)


def checksums_of(ctx: UpdateContext, asset: Asset) -> list[Checksum]:
    """What the archive must match: the asset's digest and its .sha256 sidecar, and the signed SHA256SUMS."""
    sidecar = find_asset(ctx.release.assets if ctx.release else (), f"{asset.name}.sha256")
    github = ctx.config.github
    text = (fetch_small(sidecar.url, timeout=github.timeout, redirect_hosts=github.redirect_hosts)
            if sidecar is not None else None)
    checksums = expected_sha256(asset.digest, text, asset.name)
    if ctx.signed is not None:
        signed = ctx.signed.digest_of(asset.name)
        if signed is None:
            raise ChecksumError(f"{asset.name} is not listed in the signed SHA256SUMS of {ctx.signed.tag}")
        checksums.append(Checksum(signed, "the signed SHA256SUMS"))
    return checksums


def download_asset(ctx: UpdateContext, asset: Asset) -> tuple[Path, str]:
    """The archive in root's staging area, verified; and what verified it."""
    checksums = checksums_of(ctx, asset)
    verified_by = (" and ".join(c.source for c in checksums) + " verified" if checksums
                   else "no checksum published (allowed by update.allow_missing_checksum)")
    github, update = ctx.config.github, ctx.config.update
    download = Download(asset.url, downloads_dir(ctx) / asset.name, update.max_download_bytes,
                        timeout=github.timeout * 2, on_percent=every_tenth(ctx.progress, "downloading"),
                        redirect_hosts=github.redirect_hosts, retries=update.download_retries,
                        stall_bytes_per_second=update.stall_bytes_per_second, stall_seconds=update.stall_seconds)
    return download_verified(download, checksums, update.allow_missing_checksum), verified_by


def backup_path(ctx: UpdateContext) -> Path:
    return Path(ctx.config.backup_dir) / f"{ctx.component.name}.{ctx.stamp}.tar.gz"


def downloads_dir(ctx: UpdateContext) -> Path:
    """Root's staging area for downloads (root's state dir: no one else can plant anything there)."""
    return root_dir(root_dir(Path(ctx.state_dir) / "downloads") / ctx.component.name)
