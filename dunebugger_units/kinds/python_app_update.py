"""The python_app kind's update (core): verified download, side-by-side staging, one-restart switch, fast rollback.

Everything slow (download, extract, venv, pip, the tarball backup) happens while the old version keeps
running; the downtime is one restart job. The pre-checks produce a `CorePlan` (the asset, the verified and
inspected archive, the layout, where the new and the previous release go); apply carries out that plan.
The pre-checks and the plan are in python_app_checks.py, the release-dir work in releases.py, the venv and
pip in venv.py.

A staging failure removes what it staged and leaves the transaction at "started" (nothing the device runs
changed: the run reports it like a refusal). The record advances to "switching" only before the switch.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from .. import transaction
from ..archive import extract_archive
from ..config import ComponentConfig, Config
from ..device import read_current_version
from ..errors import Refused, UnitsError
from ..files import fsync_dir
from ..progress import every_tenth
from ..redact import redact_credentials
from ..results import CheckOutcome, first_failure
from ..transaction import RollbackStep, Step, Transaction
from ..versions import parse_version
from .base import BoundPlan, CheckList, Prepared, UpdateContext
from .health import Sample, http_health, stable_over
from .owner import files_owner
from .owner_child import config_files
from .python_app_ahead import check_prepared, fetch_for_staging, prepared_record
from .python_app_checks import (
    CorePlan,
    backup_path,
    check_archive,
    check_asset,
    check_disk,
    check_download,
    check_layout,
    check_service,
    downloads_dir,
    plan_update,
)
from .releases import (
    BACKUP_NAME,
    STAGING_MARK,
    Layout,
    backups_to_prune,
    is_complete,
    is_release_dir,
    make_backup,
    make_release_dir,
    point_install_dir,
    read_layout,
    recorded_paths,
    releases_to_prune,
    remove_tree,
    unfinished_releases,
)
from .venv import build_venv, carry_settings, pip_argv, reuse_venv

MB = 1024 * 1024
SAMPLE_INTERVAL = 0.25


class PythonAppUpdate:
    """What an update, a preparation and a rollback do to core (kinds/python_app.py is the kind)."""

    # ---- pre-checks (nothing changes but the staging area of downloads) ------------------------------

    def prepare(self, ctx: UpdateContext) -> Prepared:
        checks = CheckList()
        asset = checks.take(check_asset(ctx))
        if asset is None or not checks.add(check_service(ctx)):
            return Prepared(checks.outcomes)
        layout = checks.take(check_layout(ctx))
        if layout is None or not checks.add(check_disk(ctx, layout)):
            return Prepared(checks.outcomes)
        # a release prepared ahead replaces the download and the staging, checked against the same checksums
        staged = check_prepared(ctx, asset, layout, prepared_record(ctx))
        archive = Path() if staged is not None else checks.take(check_download(ctx, asset))
        if staged is not None:
            checks.add(staged)
        elif archive is None or not checks.add(check_archive(ctx, archive)):
            return Prepared(checks.outcomes)
        try:
            owner = files_owner(ctx.systemd, ctx.component)
        except UnitsError as exc:
            return Prepared([*checks.outcomes, CheckOutcome("files owner", False, str(exc))])
        plan = plan_update(ctx, asset, layout, archive or Path(), owner)
        if isinstance(plan, CheckOutcome):
            return Prepared([*checks.outcomes, plan])
        plan = replace(plan, staged=staged is not None)
        return Prepared(checks.outcomes, BoundPlan(plan, self.describe, self.apply))

    # ---- prepared ahead (phases/prepare.py): staged now, switched to by a later update -------------------

    def prepare_ahead(self, ctx: UpdateContext) -> dict[str, Any]:
        layout, archive, sha256 = fetch_for_staging(ctx)
        owner = files_owner(ctx.systemd, ctx.component)
        new_dir = layout.releases_dir / ctx.to_version
        if new_dir == layout.running_dir:
            raise UnitsError(f"preparing {ctx.component.name} {ctx.to_version}: {new_dir} is the running release")
        created_releases_dir = not layout.releases_dir.exists()
        try:
            self._stage(ctx, layout, archive, new_dir, owner)
        except BaseException:
            # a stop, a kill of a child or a failure: nothing half-made stays (a kill of this process leaves
            # the staging mark, and the next preparation or update removes the dir)
            remove_tree(new_dir)
            if created_releases_dir:
                with contextlib.suppress(OSError):
                    layout.releases_dir.rmdir()
            raise
        finally:
            remove_tree(downloads_dir(ctx))
        fsync_dir(layout.releases_dir)
        return {"version": ctx.to_version, "release_dir": str(new_dir), "asset": archive.name, "sha256": sha256}

    def is_prepared(self, config: Config, component: ComponentConfig, record: Mapping[str, Any]) -> bool:
        staged = Path(str(record.get("release_dir") or ""))
        releases_dir = Path(component.releases_dir or f"{component.install_dir}.releases")
        return is_release_dir(staged, releases_dir) and is_complete(staged)

    def drop_prepared(self, config: Config, component: ComponentConfig, record: Mapping[str, Any]) -> None:
        """A superseded preparation's release dir goes, never the running release (nor a dir elsewhere)."""
        with contextlib.suppress(UnitsError):
            layout = read_layout(component)
            staged = Path(str(record.get("release_dir") or ""))
            if is_release_dir(staged, layout.releases_dir) and staged != layout.running_dir:
                remove_tree(staged)

    def describe(self, ctx: UpdateContext, plan: CorePlan) -> dict[str, Any]:
        layout, new_dir = plan.layout, plan.new_dir
        return {
            "asset": plan.asset.name,
            "release_dir": str(new_dir),
            "prepared_ahead": plan.staged,
            "install_dir": str(layout.install_dir),
            "migrate_plain_install_dir_to": str(plan.previous) if layout.plain else None,
            "previous_release": str(plan.previous),
            "settings_kept_from_device": sorted(config_files(layout.running_dir, ctx.component.config_paths)),
            "tarball_backup": str(backup_path(ctx)),
            "pip": [redact_credentials(arg) for arg in pip_argv(
                new_dir / ".venv/bin/python", new_dir / "requirements.txt", ctx.component.pip_index_url,
                ctx.component.pip_find_links)[3:]],
            "restart": ctx.component.service,
        }

    # ---- apply ---------------------------------------------------------------------------------------

    def apply(self, ctx: UpdateContext, plan: CorePlan, txn: Transaction) -> None:
        layout, new_dir, owner = plan.layout, plan.new_dir, plan.owner
        # staging changes nothing the device runs: on failure it is removed and the record stays "started"
        created_releases_dir = not layout.releases_dir.exists()
        try:
            if not plan.staged:
                self._stage(ctx, layout, plan.archive, new_dir, owner)
            ctx.progress("backing up")
            backup = make_backup(layout.running_dir, backup_path(ctx), owner)
        except BaseException:
            # nothing of a failed staging stays: the half-built release, the download, an empty releases dir
            remove_tree(new_dir)
            remove_tree(downloads_dir(ctx))
            if created_releases_dir:
                with contextlib.suppress(OSError):
                    layout.releases_dir.rmdir()
            raise
        transaction.advance(Path(ctx.state_dir), txn, Step.SWITCHING, previous_release=str(plan.previous),
                            release_dir=str(new_dir), tarball_backup=str(backup),
                            install_dir=str(layout.install_dir), plain_dir_migrated=layout.plain)
        self._switch(ctx, layout, plan.previous, new_dir, owner)
        transaction.advance(Path(ctx.state_dir), txn, Step.SWITCHED)

    def _stage(self, ctx: UpdateContext, layout: Layout, archive: Path, new_dir: Path,
               owner: tuple[int, int]) -> None:
        ctx.progress("staging")
        if new_dir.exists() or new_dir.is_symlink():
            remove_tree(new_dir)  # a leftover of an interrupted run: never the running or previous release
        if not layout.releases_dir.exists():
            make_release_dir(layout.releases_dir, layout.running_dir, owner)
        make_release_dir(new_dir, layout.running_dir, (0, 0))  # the owner's once extracted, not before
        (new_dir / STAGING_MARK).touch()
        extract_archive(archive, new_dir, ctx.config.update.max_unpacked_bytes, owner)
        carry_settings(layout.running_dir, new_dir, ctx.component.config_paths, owner)
        python = Path(ctx.component.python)
        # requirements unchanged -> the previous release's packages, no pip; both ways the owner builds
        if not reuse_venv(layout.running_dir, new_dir, python, owner, ctx.progress, ctx.from_version):
            build_venv(ctx.component, new_dir, owner, ctx.progress)
        (new_dir / STAGING_MARK).unlink()

    def _switch(self, ctx: UpdateContext, layout: Layout, previous: Path, new_dir: Path,
                owner: tuple[int, int]) -> None:
        """The downtime: relink, then one restart job, judged by its result.

        The link is swapped while the old version still runs, and systemd then stops and starts back to back.
        Stop, relink, start as three steps put two D-Bus round trips of ours inside the downtime: measured on
        the test machine, 2.1x a bare restart, against 1.0x this way (bench/core_downtime.py). The old process
        has imported its code long before; only the restart job's own stop (a few ms) runs beside the new link.
        """
        service, deadline = ctx.component.service or "", ctx.config.update.job_timeout
        ctx.progress("switching")
        # again: a setting edited while the release was staging (pip takes minutes on a Pi) is not lost
        carry_settings(layout.running_dir, new_dir, ctx.component.config_paths, owner)
        if layout.plain:
            os.rename(layout.install_dir, previous)  # same filesystem (pre-checked): nothing is copied
        point_install_dir(layout.install_dir, new_dir, sync=False)
        ctx.bus.require_done("restart", service, deadline)
        # durable after the restart, off the downtime; until then the record says "switching", and a
        # rollback after a power cut points the link at the previous release whichever way the rename went
        fsync_dir(layout.install_dir.parent)
        fsync_dir(layout.releases_dir)

    # ---- post-checks ---------------------------------------------------------------------------------

    def verify(self, ctx: UpdateContext) -> list[CheckOutcome]:
        return self._recheck(ctx, ctx.to_version)

    def _recheck(self, ctx: UpdateContext, version: str) -> list[CheckOutcome]:
        """Stable through the window (NRestarts unchanged), healthy over HTTP if configured, VERSION right."""
        systemd, service = ctx.bus, ctx.component.service or ""

        def sample() -> Sample:
            st = systemd.unit_state(service)
            return Sample(st.active_state == "active", st.n_restarts, f"{st.active_state}/{st.sub_state}")

        outcomes = [stable_over(sample, ctx.config.update.stability_seconds, SAMPLE_INTERVAL,
                                name=f"{service} stable", on_percent=every_tenth(ctx.progress, "stability window"))]
        if outcomes[-1].ok and ctx.health_url:
            outcomes.append(http_health(ctx.health_url, ctx.health_expected_status, version,
                                        ctx.health_timeout))
        if outcomes[-1].ok:
            found = read_current_version(ctx.config, ctx.component)
            outcomes.append(CheckOutcome("version", parse_version(found) == parse_version(version),
                                     f"{ctx.component.version_file} says {found}, expected {version}"))
        return outcomes

    # ---- commit and retention ------------------------------------------------------------------------

    def commit(self, ctx: UpdateContext, txn: Transaction) -> None:
        remove_tree(downloads_dir(ctx))  # the verified archive is installed: no later run needs it
        layout = read_layout(ctx.component)
        keep = ctx.config.update.keep_backups
        previous = Path(txn.backups.get("previous_release", "")).name or None
        self._prune_releases(layout, previous, keep)
        backups = Path(ctx.config.backup_dir)
        prefix = f"{ctx.component.name}."
        names = [p.name for p in backups.glob(f"{prefix}*.tar.gz") if BACKUP_NAME.match(p.name[len(prefix):])]
        for name in backups_to_prune(names, keep):
            (backups / name).unlink(missing_ok=True)

    def _prune_releases(self, layout: Layout, previous: str | None, keep: int) -> None:
        if not layout.releases_dir.is_dir():
            return
        for unfinished in unfinished_releases(layout.releases_dir, {layout.running_dir}):
            remove_tree(unfinished)
        # only complete releases count: a half-staged or broken dir never pushes out a good release
        dirs = [p for p in layout.releases_dir.iterdir() if p.is_dir() and not p.is_symlink()
                and not p.name.startswith(".") and is_complete(p)]
        dirs.sort(key=lambda p: p.stat().st_mtime)
        for name in releases_to_prune([p.name for p in dirs], layout.running_dir.name, previous, keep):
            shutil.rmtree(layout.releases_dir / name)

    # ---- rollback ------------------------------------------------------------------------------------

    def rollback(self, ctx: UpdateContext, txn: Transaction) -> list[CheckOutcome]:
        """Point install_dir back at the previous release (restored from the tarball if it is gone), restart,
        re-check; then drop the failed release."""
        if ctx.systemd is None:
            raise UnitsError("rolling back: the system bus is not connected")
        install_dir, previous, new_dir = recorded_paths(ctx.component, Path(ctx.config.backup_dir), txn.backups)
        service, deadline = ctx.component.service or "", ctx.config.update.job_timeout
        state_dir = Path(ctx.state_dir)
        if txn.step is Step.STARTED or (install_dir.is_dir() and not install_dir.is_symlink()):
            # the switch never happened: the old version is where it was; make sure it runs
            ctx.systemd.require_done("start", service, deadline)
        else:
            owner = files_owner(ctx.systemd, ctx.component)
            if not is_complete(previous):
                self._restore_from_backup(ctx, txn, previous, owner)
            running = install_dir.resolve()
            if txn.backups.get("carry_settings") and running != previous and is_release_dir(running, previous.parent):
                # on request: the previous release gets the settings as they are now
                carry_settings(running, previous, ctx.component.config_paths, owner)
            ctx.progress("switching back")
            point_install_dir(install_dir, previous)
            transaction.advance_rollback(state_dir, txn, RollbackStep.RESTORED)
            # the failed release may have crash-looped into the start limit: a restart would be refused
            ctx.systemd.reset_failed(service)
            ctx.systemd.require_done("restart", service, deadline)
        transaction.advance_rollback(state_dir, txn, RollbackStep.RESTARTED)
        outcomes = self._recheck(ctx, ctx.from_version)
        if first_failure(outcomes) is None:
            if new_dir is not None and new_dir != previous:
                remove_tree(new_dir)
            self.cleanup(ctx)
        return outcomes

    def backups_for_requested_rollback(self, ctx: UpdateContext, previous: dict[str, Any]) -> dict[str, Any]:
        backups = previous.get("backups") or {}
        release = Path(str(backups.get("previous_release") or ""))
        tarball = Path(str(backups.get("tarball_backup") or ""))
        if not backups.get("previous_release") or not (is_complete(release) or tarball.is_file()):
            raise Refused(f"rolling back {ctx.component.name}: the previous release {previous.get('version')} is "
                          "no longer on this device (neither its release dir nor its tarball backup)")
        return {"install_dir": backups.get("install_dir") or ctx.component.install_dir,
                "previous_release": str(release), "tarball_backup": str(tarball) if tarball.is_file() else None,
                "carry_settings": True}

    def cleanup(self, ctx: UpdateContext) -> None:
        """Half-staged releases and the downloads; never the running release."""
        remove_tree(downloads_dir(ctx))
        with contextlib.suppress(UnitsError):
            layout = read_layout(ctx.component)
            for unfinished in unfinished_releases(layout.releases_dir, {layout.running_dir}):
                remove_tree(unfinished)

    def _restore_from_backup(self, ctx: UpdateContext, txn: Transaction, previous: Path,
                             owner: tuple[int, int]) -> None:
        """Unpack the tarball backup where the previous release was, then rebuild its venv there (a venv
        is built in place: its scripts name their own path)."""
        backup = Path(txn.backups.get("tarball_backup") or "")
        if not backup.is_file():
            raise UnitsError(f"rolling back: the previous release {previous} and its tarball backup "
                             f"{backup} are both gone")
        ctx.progress("restoring from backup")
        remove_tree(previous)
        make_release_dir(previous, previous.parent, (0, 0))  # the owner's once extracted, not before
        (previous / STAGING_MARK).touch()  # a restore cut short is done again, never taken as complete
        extract_archive(backup, previous, ctx.config.update.max_unpacked_bytes, owner)
        build_venv(ctx.component, previous, owner, ctx.progress)
        (previous / STAGING_MARK).unlink()
        fsync_dir(previous.parent)
