"""Core prepared ahead (phases/prepare.py): the release downloaded, verified and staged with its venv in
releases_dir/<version> while the running release and the install link stay as they are; and the update's
question whether a release staged that way may be switched to as it is.

A prepared release is taken only when root's own record names it (the check's cache never does), it is still
the update's target, it is complete (the staging mark is gone: a preparation cut short never counts), and the
archive it was staged from matches every checksum the update gathers now, the same ones a download must
match. The release dir is the owner's, like the running release: nothing in it is run by root.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import state
from ..download import Checksum, ChecksumError, DownloadError, sha256_of
from ..errors import UnitsError
from ..github import Asset
from ..results import CheckOutcome, first_failure
from .base import CheckList, UpdateContext
from .python_app_checks import (
    check_archive,
    check_asset,
    check_disk,
    check_download,
    check_layout,
    checksums_of,
)
from .releases import Layout, in_releases_dir, is_complete


def usable_prepared(record: Mapping[str, Any] | None, version: str, new_dir: Path, complete: bool,
                    checksums: list[Checksum]) -> str | None:
    """Pure: why the prepared release cannot be switched to as it is, or None when it can."""
    if not isinstance(record, Mapping) or record.get("version") != version:
        return f"no release {version} prepared"
    if record.get("release_dir") != str(new_dir):
        return f"the prepared release is not in {new_dir}"
    if not complete:
        return f"{new_dir} is not completely staged"
    if not checksums:
        return "no checksum published to compare the prepared archive with"
    if any(c.sha256 != record.get("sha256") for c in checksums):
        return f"the prepared archive does not match the checksums of {version}"
    return None


def prepared_record(ctx: UpdateContext) -> Mapping[str, Any] | None:
    """Root's own record of what it prepared for this component (state.set_prepared); None when unreadable."""
    return state.read_prepared(Path(ctx.state_dir), ctx.component.name)


def check_prepared(ctx: UpdateContext, asset: Asset, layout: Layout,
                   record: Mapping[str, Any] | None) -> CheckOutcome | None:
    """The update's pre-check of a release prepared ahead: an outcome that replaces the download and the
    archive checks when it can be used; None (download as usual) when it cannot."""
    new_dir = layout.releases_dir / ctx.to_version
    if not isinstance(record, Mapping) or not in_releases_dir(new_dir, layout.releases_dir):
        return None
    try:
        checksums = checksums_of(ctx, asset)
    except (ChecksumError, DownloadError):
        return None  # the download's own pre-check says why
    if usable_prepared(record, ctx.to_version, new_dir, is_complete(new_dir), checksums) is not None:
        return None
    sources = " and ".join(c.source for c in checksums)
    return CheckOutcome("download", True, f"{asset.name}: prepared ahead in {new_dir}, {sources} matched")


def fetch_for_staging(ctx: UpdateContext) -> tuple[Layout, Path, str]:
    """The pre-checks of a preparation, up to the verified and inspected archive: the layout, the archive
    and its SHA-256. UnitsError with the first failing check."""
    ctx.progress(f"preparing {ctx.to_version}")
    checks = CheckList()
    asset = checks.take(check_asset(ctx))
    layout = checks.take(check_layout(ctx)) if asset is not None else None
    archive = None
    if layout is not None and checks.add(check_disk(ctx, layout)):
        archive = checks.take(check_download(ctx, asset)) if asset is not None else None
        if archive is not None:
            checks.add(check_archive(ctx, archive))
    failed = first_failure(checks.outcomes)
    if failed is not None or layout is None or archive is None:
        raise UnitsError(f"preparing {ctx.component.name} {ctx.to_version}: "
                         f"{failed.line() if failed else 'no archive'}")
    return layout, archive, sha256_of(archive)
