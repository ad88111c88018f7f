"""The python_app kind (core): verified download, side-by-side staging, one-restart switch, fast rollback.

Layout: every release lives in its own dir under `releases_dir` (default `<install_dir>.releases`) with its
own `.venv`; `install_dir` is a symlink to the running one, replaced with `rename`. A plain install dir as
today's installer leaves it is moved into `releases_dir/<version>` on the first update, right before the
restart. Everything slow (download, extract, venv, pip, the tarball backup) happens while the old version
keeps running; the downtime is one restart job.

A staging failure removes what it staged and leaves the transaction at "started" (nothing the device runs
changed: the pipeline reports it like a refusal). The record advances to "switching" only before the switch.

pip: `pip_index_url` is passed as `--index-url`; `pip_find_links` as `--find-links`. Find-links without an
index URL means an offline device: pip then gets `--no-index` and never waits for PyPI.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import transaction
from ..archive import ArchiveError, chown_tree, extract_archive, inspect_archive
from ..config import ComponentConfig
from ..device import read_current_version
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
from ..files import fsync_dir
from ..results import CheckOutcome, first_failure
from ..transaction import Transaction
from ..versions import parse_version
from .base import UpdateContext
from .health import Sample, http_health, stable_over

MB = 1024 * 1024
PIP_DEADLINE = 900.0
VENV_DEADLINE = 300.0
DEFAULT_PYTHON = "/usr/bin/python3"
CHILD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SAMPLE_INTERVAL = 0.25
STEPS_BEFORE_STOP = ("started",)
BACKUP_NAME = re.compile(r"^\d{8}_\d{6}\.tar\.gz$")


# ---- pure decisions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SettingsPlan:
    """Which settings files a new release gets: the device's own, plus defaults the device does not have."""

    from_device: tuple[str, ...]
    defaults_added: tuple[str, ...]
    defaults_ignored: tuple[str, ...]  # the tarball's default for a file the device already has


def plan_settings(device_files: set[str], default_files: set[str]) -> SettingsPlan:
    return SettingsPlan(
        from_device=tuple(sorted(device_files)),
        defaults_added=tuple(sorted(default_files - device_files)),
        defaults_ignored=tuple(sorted(default_files & device_files)),
    )


def releases_to_prune(oldest_first: list[str], running: str, previous: str | None, keep: int) -> list[str]:
    """Release dir names to delete: keep the running one, the one before it, and `keep` previous in all."""
    others = [name for name in oldest_first if name != running]
    kept = set(others[-keep:]) if keep > 0 else set()
    if previous is not None:
        kept.add(previous)
    return [name for name in others if name not in kept]


def backups_to_prune(names: list[str], keep: int) -> list[str]:
    """Tarball backups to delete (names sort by their stamp); the newest is always kept."""
    ordered = sorted(names)
    return ordered[: max(0, len(ordered) - max(keep, 1))]


def pip_argv(python: Path, requirements: Path, index_url: str | None,
             find_links: tuple[str, ...]) -> list[str]:
    argv = [str(python), "-m", "pip", "install", "--no-input", "--disable-pip-version-check",
            "--no-cache-dir", "--retries", "1", "--timeout", "30", "-r", str(requirements)]
    if index_url:
        argv += ["--index-url", index_url]
    elif find_links:
        argv.append("--no-index")
    for link in find_links:
        argv += ["--find-links", link]
    return argv


def asset_name(component: ComponentConfig, version: str) -> str:
    return component.asset_pattern.format(version=version)


# ---- facts about the device -------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    install_dir: Path
    releases_dir: Path
    running_dir: Path  # what install_dir points at; install_dir itself when plain
    plain: bool  # today's installer layout: a directory, migrated on the first update


def read_layout(component: ComponentConfig) -> Layout:
    install_dir = Path(component.install_dir or "")
    releases_dir = Path(component.releases_dir or f"{install_dir}.releases")
    if install_dir.is_symlink():
        return Layout(install_dir, releases_dir, install_dir.resolve(), plain=False)
    if install_dir.is_dir():
        return Layout(install_dir, releases_dir, install_dir, plain=True)
    raise UnitsError(f"reading the install dir {install_dir}: it is neither a directory nor a link to one")


def migrated_dir(layout: Layout, version: str, stamp: str) -> Path:
    """Where a plain install dir goes: releases_dir/<version>, never over something already there."""
    name = version if parse_version(version) else f"previous-{stamp}"
    target = layout.releases_dir / name
    return target if not target.exists() else layout.releases_dir / f"{name}-{stamp}"


def owner_of(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_uid, st.st_gid


def existing_ancestor(path: Path) -> Path:
    while not path.exists():
        path = path.parent
    return path


def venv_python(release_dir: Path) -> Path:
    """The interpreter a release's venv was made from (its pyvenv.cfg `home`), else the system python3."""
    with contextlib.suppress(OSError):
        for line in (release_dir / ".venv" / "pyvenv.cfg").read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "home" and (Path(value.strip()) / "python3").exists():
                return Path(value.strip()) / "python3"
    if Path(DEFAULT_PYTHON).exists():
        return Path(DEFAULT_PYTHON)
    return Path(shutil.which("python3") or DEFAULT_PYTHON)


def config_files(root: Path, config_paths: tuple[str, ...]) -> set[str]:
    """Settings files under root, relative to it (a config path may name a dir or a single file)."""
    found: set[str] = set()
    for rel in config_paths:
        base = root / rel
        if base.is_file():
            found.add(rel)
        elif base.is_dir():
            found.update(str(p.relative_to(root)) for p in base.rglob("*") if p.is_file() or p.is_symlink())
    return found


# ---- actions ----------------------------------------------------------------------------------------


LOW_SPACE_BYTES = 64 * 1024 * 1024


def _run(argv: list[str], doing: str, deadline: float, where: Path) -> None:
    """Run a staging step in `where`; a failure says why, and says so when that disk is (nearly) full (a
    child such as ensurepip may swallow its own "No space left on device")."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=deadline, check=False,
                              env={"PATH": CHILD_PATH, "LANG": "C.UTF-8", "HOME": "/root"})
    except subprocess.TimeoutExpired:
        raise UnitsError(f"{doing}: no result within {deadline:g} s") from None
    if done.returncode != 0:
        lines = [line.strip() for line in f"{done.stderr}\n{done.stdout}".splitlines() if line.strip()]
        why = _why(lines)[:300]
        with contextlib.suppress(OSError):
            st = os.statvfs(where)
            if st.f_bavail * st.f_frsize < LOW_SPACE_BYTES:
                why += f" (No space left on device: {st.f_bavail * st.f_frsize // 1024} KB free on {where})"
        raise UnitsError(f"{doing}: exited {done.returncode}: {why}")


def _why(lines: list[str]) -> str:
    """The line that says why a child failed: an OS error (a full disk, say) beats pip's ERROR, beats the
    first line."""
    for found in ([ln for ln in lines if "No space left on device" in ln or "[Errno" in ln],
                  [ln for ln in lines if ln.startswith("ERROR")], lines):
        if found:
            return found[0]
    return "no output"


def build_venv(ctx: UpdateContext, release_dir: Path, python: Path) -> None:
    ctx.progress("creating venv")
    _run([str(python), "-m", "venv", str(release_dir / ".venv")], f"creating the venv of {release_dir.name}",
         VENV_DEADLINE, where=release_dir)
    requirements = release_dir / "requirements.txt"
    if requirements.is_file():
        ctx.progress("installing requirements")
        argv = pip_argv(release_dir / ".venv/bin/python", requirements, ctx.component.pip_index_url,
                        ctx.component.pip_find_links)
        _run(argv, f"installing the requirements of {release_dir.name}", PIP_DEADLINE, where=release_dir)


def carry_settings(running: Path, new: Path, config_paths: tuple[str, ...]) -> SettingsPlan:
    """Copy the device's settings over the tarball's defaults, byte for byte, mode and owner kept."""
    plan = plan_settings(config_files(running, config_paths), config_files(new, config_paths))
    for rel in plan.from_device:
        source, target = running / rel, new / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.is_dir():
            shutil.rmtree(target)
        shutil.copy2(source, target, follow_symlinks=False)
        st = source.lstat()
        os.lchown(target, st.st_uid, st.st_gid)
    return plan


def make_backup(running: Path, backup: Path, owner: tuple[int, int]) -> Path:
    """backup_dir/core.<stamp>.tar.gz of the running release (without its venv: a restore rebuilds it)."""
    backup.parent.mkdir(parents=True, exist_ok=True)
    tmp = backup.with_name(f".{backup.name}.tmp")

    def skip_venv(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        return None if info.name == ".venv" or info.name.startswith(".venv/") else info

    try:
        with tarfile.open(tmp, "w:gz", compresslevel=6) as tar:
            for entry in sorted(running.iterdir()):
                tar.add(entry, arcname=entry.name, filter=skip_venv)
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        with contextlib.suppress(PermissionError):
            os.chown(tmp, *owner)
        os.replace(tmp, backup)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(backup.parent)
    return backup


def point_install_dir(install_dir: Path, release: Path, sync: bool = True) -> None:
    """Atomically make install_dir a (relative) symlink to release: a temp link renamed over it."""
    tmp = install_dir.with_name(f".{install_dir.name}.link-tmp")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(os.path.relpath(release, install_dir.parent))
    os.replace(tmp, install_dir)
    if sync:
        fsync_dir(install_dir.parent)


def remove_tree(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)


# ---- the kind ---------------------------------------------------------------------------------------


def _outcome(name: str, ok: bool, detail: str, required: bool = True) -> CheckOutcome:
    return CheckOutcome(name, ok, detail, required)


class PythonAppKind:
    """phases/base.Kind for core: a Python app run by a systemd service from a venv in its install dir."""

    # ---- pre-checks (nothing changes but the staging area of downloads) ------------------------------

    def preflight(self, ctx: UpdateContext) -> list[CheckOutcome]:
        outcomes: list[CheckOutcome] = []
        for check in (self._check_asset, self._check_service, self._check_layout, self._check_disk,
                      self._check_download, self._check_archive):
            outcome = check(ctx)
            outcomes.append(outcome)
            if first_failure([outcome]) is not None:
                break  # a failing required check skips the rest (no download when the disk is full)
        return outcomes

    def _check_asset(self, ctx: UpdateContext) -> CheckOutcome:
        name = asset_name(ctx.component, ctx.to_version)
        asset = find_asset(ctx.release.assets, name) if ctx.release is not None else None
        if asset is None:
            tag = ctx.release.tag if ctx.release is not None else f"v{ctx.to_version}"
            return _outcome("release asset", False, f"no release asset {name} in {tag}")
        ctx.notes["asset"] = asset
        return _outcome("release asset", True, f"{name}, {asset.size} bytes")

    def _check_service(self, ctx: UpdateContext) -> CheckOutcome:
        service = ctx.component.service or ""
        required = ctx.manifest.require_service_running
        if ctx.systemd is None:
            return _outcome("service", False, f"{service}: the system bus is not connected")
        try:
            st = ctx.systemd.unit_state(service)
        except UnitsError as exc:
            return _outcome("service", False, str(exc))
        return _outcome("service", st.active_state == "active" or not required,
                        f"{service} is {st.active_state} ({st.sub_state})", required)

    def _check_layout(self, ctx: UpdateContext) -> CheckOutcome:
        try:
            layout = read_layout(ctx.component)
        except UnitsError as exc:
            return _outcome("install dir", False, str(exc))
        parent, releases = layout.install_dir.parent, existing_ancestor(layout.releases_dir)
        for path in (parent, releases):
            if not os.access(path, os.W_OK):
                return _outcome("install dir", False, f"{path} is not writable")
        if parent.stat().st_dev != releases.stat().st_dev:
            return _outcome("install dir", False, f"{layout.releases_dir} is not on the filesystem of "
                                                  f"{layout.install_dir}: the switch could not be a rename")
        ctx.notes["layout"] = layout
        how = "plain directory, migrated on this update" if layout.plain else f"link to {layout.running_dir}"
        return _outcome("install dir", True, f"{layout.install_dir}: {how}")

    def _check_disk(self, ctx: UpdateContext) -> CheckOutcome:
        layout: Layout = ctx.notes["layout"]
        where = existing_ancestor(layout.releases_dir)
        free = shutil.disk_usage(where).free // MB
        return _outcome("disk space", free >= ctx.min_free_mb,
                        f"{free} MB free on {where}, {ctx.min_free_mb} MB needed")

    def _check_download(self, ctx: UpdateContext) -> CheckOutcome:
        try:
            archive = self._download(ctx)
        except (ChecksumError, DownloadError) as exc:
            return _outcome("download", False, str(exc))
        ctx.notes["archive"] = archive
        return _outcome("download", True, f"{archive.name}: {ctx.notes['checksum_source']}")

    def _check_archive(self, ctx: UpdateContext) -> CheckOutcome:
        archive: Path = ctx.notes["archive"]
        try:
            members = inspect_archive(archive, ctx.config.update.max_unpacked_bytes)
        except ArchiveError as exc:
            archive.unlink(missing_ok=True)  # verified, but unusable: never kept for a later run
            return _outcome("archive", False, str(exc))
        return _outcome("archive", True, f"{len(members)} entries, all safe")

    def _download(self, ctx: UpdateContext) -> Path:
        asset = ctx.notes["asset"]
        checksums: list[Checksum] = []
        sidecar = find_asset(ctx.release.assets if ctx.release else (), f"{asset.name}.sha256")
        text = fetch_small(sidecar.url, timeout=ctx.config.github.timeout) if sidecar is not None else None
        checksums = expected_sha256(asset.digest, text, asset.name)
        ctx.notes["checksum_source"] = (
            " and ".join(c.source for c in checksums) + " verified" if checksums
            else "no checksum published (allowed by update.allow_missing_checksum)")
        shown = [-1]

        def on_percent(value: int) -> None:
            if value // 10 != shown[0]:  # every 10 %: the status text, not a journal flood
                shown[0] = value // 10
                ctx.progress(f"downloading {value}%")

        staging = self._downloads(ctx)
        download = Download(asset.url, staging / asset.name, ctx.config.update.max_download_bytes,
                            timeout=ctx.config.github.timeout * 2, on_percent=on_percent)
        return download_verified(download, checksums, ctx.config.update.allow_missing_checksum)

    def plan(self, ctx: UpdateContext) -> dict[str, Any]:
        layout: Layout = ctx.notes.get("layout") or read_layout(ctx.component)
        new_dir = layout.releases_dir / ctx.to_version
        previous = migrated_dir(layout, ctx.from_version, ctx.stamp) if layout.plain else layout.running_dir
        return {
            "asset": asset_name(ctx.component, ctx.to_version),
            "release_dir": str(new_dir),
            "install_dir": str(layout.install_dir),
            "migrate_plain_install_dir_to": str(previous) if layout.plain else None,
            "previous_release": str(previous),
            "settings_kept_from_device": sorted(config_files(layout.running_dir, ctx.component.config_paths)),
            "tarball_backup": str(self._backup_path(ctx)),
            "pip": pip_argv(new_dir / ".venv/bin/python", new_dir / "requirements.txt",
                            ctx.component.pip_index_url, ctx.component.pip_find_links)[3:],
            "restart": ctx.component.service,
        }

    def _backup_path(self, ctx: UpdateContext) -> Path:
        return Path(ctx.config.backup_dir) / f"{ctx.component.name}.{ctx.stamp}.tar.gz"

    # ---- apply ---------------------------------------------------------------------------------------

    def apply(self, ctx: UpdateContext, txn: Transaction) -> None:
        layout = read_layout(ctx.component)
        archive: Path = ctx.notes.get("archive") or self._fetch_again(ctx)
        owner = owner_of(layout.running_dir)
        new_dir = layout.releases_dir / ctx.to_version
        previous = migrated_dir(layout, ctx.from_version, ctx.stamp) if layout.plain else layout.running_dir
        if new_dir in (layout.running_dir, previous):
            raise UnitsError(f"staging {ctx.to_version}: {new_dir} is the running or the previous release")
        # staging changes nothing the device runs: on failure it is removed and the record stays "started"
        try:
            self._stage(ctx, layout, archive, new_dir, owner)
            ctx.progress("backing up")
            backup = make_backup(layout.running_dir, self._backup_path(ctx), owner)
        except BaseException:
            remove_tree(new_dir)
            raise
        transaction.advance(Path(ctx.state_dir), txn, "switching", previous_release=str(previous),
                            release_dir=str(new_dir), tarball_backup=str(backup),
                            install_dir=str(layout.install_dir), plain_dir_migrated=layout.plain)
        self._switch(ctx, layout, previous, new_dir)
        transaction.advance(Path(ctx.state_dir), txn, "switched")

    def _fetch_again(self, ctx: UpdateContext) -> Path:
        """apply without this process's preflight: the same checks, refused the same way."""
        for outcome in (self._check_asset(ctx), self._check_download(ctx), self._check_archive(ctx)):
            if not outcome.ok:
                raise UnitsError(f"preparing {ctx.to_version}: {outcome.line()}")
        return Path(ctx.notes["archive"])

    def _stage(self, ctx: UpdateContext, layout: Layout, archive: Path, new_dir: Path,
               owner: tuple[int, int]) -> None:
        ctx.progress("staging")
        if new_dir.exists() or new_dir.is_symlink():
            remove_tree(new_dir)  # a leftover of an interrupted run: never the running or previous release
        layout.releases_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(PermissionError):
            os.chown(layout.releases_dir, *owner_of(layout.install_dir.parent))
        new_dir.mkdir(mode=0o755)
        extract_archive(archive, new_dir, ctx.config.update.max_unpacked_bytes, owner)
        carry_settings(layout.running_dir, new_dir, ctx.component.config_paths)
        build_venv(ctx, new_dir, venv_python(layout.running_dir))
        chown_tree(new_dir / ".venv", owner)
        os.lchown(new_dir, *owner)

    def _switch(self, ctx: UpdateContext, layout: Layout, previous: Path, new_dir: Path) -> None:
        """The downtime: relink, then one restart job, judged by its result.

        The link is swapped while the old version still runs, and systemd then stops and starts back to back.
        Stop, relink, start as three steps put two D-Bus round trips of ours inside the downtime: measured on
        the test machine, 2.1x a bare restart, against 1.0x this way (bench/core_downtime.py). The old process
        has imported its code long before; only the restart job's own stop (a few ms) runs beside the new link.
        """
        assert ctx.systemd is not None  # the pipeline refuses earlier without a bus
        service, deadline = ctx.component.service or "", ctx.config.update.job_timeout
        ctx.progress("switching")
        if layout.plain:
            os.rename(layout.install_dir, previous)  # same filesystem (pre-checked): nothing is copied
        point_install_dir(layout.install_dir, new_dir, sync=False)
        ctx.systemd.require_done("restart", service, deadline)
        # durable after the restart, off the downtime; until then the record says "switching", and a
        # rollback after a power cut points the link at the previous release whichever way the rename went
        fsync_dir(layout.install_dir.parent)
        fsync_dir(layout.releases_dir)

    # ---- post-checks ---------------------------------------------------------------------------------

    def verify(self, ctx: UpdateContext) -> list[CheckOutcome]:
        return self._recheck(ctx, ctx.to_version)

    def _recheck(self, ctx: UpdateContext, version: str) -> list[CheckOutcome]:
        """Stable through the window (NRestarts unchanged), healthy over HTTP if configured, VERSION right."""
        assert ctx.systemd is not None
        systemd, service = ctx.systemd, ctx.component.service or ""

        def sample() -> Sample:
            st = systemd.unit_state(service)
            return Sample(st.active_state == "active", st.n_restarts, f"{st.active_state}/{st.sub_state}")

        outcomes = [stable_over(sample, ctx.config.update.stability_seconds, SAMPLE_INTERVAL,
                                name=f"{service} stable")]
        if outcomes[-1].ok and ctx.health_url:
            outcomes.append(http_health(ctx.health_url, ctx.health_expected_status, version,
                                        ctx.health_timeout))
        if outcomes[-1].ok:
            found = read_current_version(ctx.config, ctx.component)
            outcomes.append(_outcome("version", parse_version(found) == parse_version(version),
                                     f"{ctx.component.version_file} says {found}, expected {version}"))
        return outcomes

    # ---- commit and retention ------------------------------------------------------------------------

    def commit(self, ctx: UpdateContext, txn: Transaction) -> None:
        archive = ctx.notes.get("archive")
        if archive is not None:
            Path(archive).unlink(missing_ok=True)
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
        dirs = [p for p in layout.releases_dir.iterdir() if p.is_dir() and not p.is_symlink()
                and not p.name.startswith(".")]
        dirs.sort(key=lambda p: p.stat().st_mtime)
        for name in releases_to_prune([p.name for p in dirs], layout.running_dir.name, previous, keep):
            shutil.rmtree(layout.releases_dir / name)

    # ---- rollback ------------------------------------------------------------------------------------

    def rollback(self, ctx: UpdateContext, txn: Transaction) -> list[CheckOutcome]:
        """Point install_dir back at the previous release (restored from the tarball if it is gone), restart,
        re-check; then drop the failed release."""
        if ctx.systemd is None:
            raise UnitsError("rolling back: the system bus is not connected")
        install_dir = Path(txn.backups.get("install_dir") or ctx.component.install_dir or "")
        previous = Path(txn.backups.get("previous_release", ""))
        new_dir = Path(txn.backups["release_dir"]) if txn.backups.get("release_dir") else None
        service, deadline = ctx.component.service or "", ctx.config.update.job_timeout
        if txn.step in STEPS_BEFORE_STOP or (install_dir.is_dir() and not install_dir.is_symlink()):
            # the switch never happened: the old version is where it was; make sure it runs
            ctx.systemd.require_done("start", service, deadline)
        else:
            if not (previous / ".venv/bin/python").exists():
                self._restore_from_backup(ctx, txn, previous)
            ctx.progress("switching back")
            point_install_dir(install_dir, previous)
            # the failed release may have crash-looped into the start limit: a restart would be refused
            ctx.systemd.reset_failed(service)
            ctx.systemd.require_done("restart", service, deadline)
        outcomes = self._recheck(ctx, ctx.from_version)
        if first_failure(outcomes) is None:
            if new_dir is not None and new_dir != previous:
                remove_tree(new_dir)
            remove_tree(self._downloads(ctx))
        return outcomes

    def _downloads(self, ctx: UpdateContext) -> Path:
        return Path(ctx.state_dir) / "downloads" / ctx.component.name

    def _restore_from_backup(self, ctx: UpdateContext, txn: Transaction, previous: Path) -> None:
        """Unpack the tarball backup where the previous release was, then rebuild its venv there (a venv
        is built in place: its scripts name their own path)."""
        backup = Path(txn.backups.get("tarball_backup") or "")
        if not backup.is_file():
            raise UnitsError(f"rolling back: the previous release {previous} and its tarball backup "
                             f"{backup} are both gone")
        ctx.progress("restoring from backup")
        owner = owner_of(previous.parent)
        remove_tree(previous)
        previous.mkdir(mode=0o755)
        extract_archive(backup, previous, ctx.config.update.max_unpacked_bytes, owner)
        build_venv(ctx, previous, Path(DEFAULT_PYTHON))
        chown_tree(previous, owner)
        fsync_dir(previous.parent)
