"""Release-directory work for a Python app: the layout, staging, settings, backups, the link switch and
retention. Touches the filesystem; the `*_to_prune` and `plan_settings` rules are pure. Copying the settings
is done by the owner's child (owner_child.py, through venv.carry_settings).

Layout: every release lives in its own dir under `releases_dir` (default `<install_dir>.releases`) with its
own `.venv`; `install_dir` is a symlink to the running one, replaced with `rename`. A plain install dir as
the installer leaves it is moved into `releases_dir/<version>` on the first update.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import ComponentConfig
from ..errors import UnitsError
from ..files import fsync_dir
from ..versions import parse_version
from .venv import BACKUP_DEADLINE, stream_as_owner

# In a release dir while it is being staged; removed once it is complete. A dir that still has it was cut
# short (a kill, a stop, a power cut): it is never counted by retention and the next run, the rollback and
# the recovery remove it.
STAGING_MARK = ".dunebugger-staging"
LINK_TRIES = 5
BACKUP_NAME = re.compile(r"^\d{8}_\d{6}\.tar\.gz$")


# ---- pure rules -------------------------------------------------------------------------------------


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


# ---- the layout -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    install_dir: Path
    releases_dir: Path
    running_dir: Path  # what install_dir points at; install_dir itself when plain
    plain: bool  # the installer's layout: a directory, migrated on the first update


def read_layout(component: ComponentConfig) -> Layout:
    """The layout as it is; a link anywhere but to a release dir directly in the releases dir is refused:
    the app's user can change the link, and root then would stage, back up or restore wherever it points."""
    install_dir = Path(component.install_dir or "")
    releases_dir = Path(component.releases_dir or f"{install_dir}.releases")
    if install_dir.is_symlink():
        running = install_dir.resolve()
        if releases_dir.is_symlink() or not is_release_dir(running, releases_dir):
            raise UnitsError(f"reading the install dir {install_dir}: it points at {running}, not at a release "
                             f"dir in {releases_dir}")
        return Layout(install_dir, releases_dir, running, plain=False)
    if install_dir.is_dir():
        return Layout(install_dir, releases_dir, install_dir, plain=True)
    raise UnitsError(f"reading the install dir {install_dir}: it is neither a directory nor a link to one")


def is_release_dir(path: Path, releases_dir: Path) -> bool:
    """`path` is a dir directly in `releases_dir`, itself no link and no hidden name."""
    return in_releases_dir(path, releases_dir) and path.is_dir()


def in_releases_dir(path: Path, releases_dir: Path) -> bool:
    """`path` is (or would be) directly in `releases_dir` (no link itself), is no link and has no hidden
    name."""
    return (not releases_dir.is_symlink() and path.parent == releases_dir.resolve()
            and not path.name.startswith(".") and path.name not in {"", ".."} and not path.is_symlink())


def recorded_paths(component: ComponentConfig, backup_dir: Path,
                   backups: Mapping[str, Any]) -> tuple[Path, Path, Path | None]:
    """The install dir, previous release and new release of root's record, each checked against the
    configured dirs before a rollback acts on it: they were found through the app's user's link once, so a
    record never sends root anywhere but this component's own release dirs and backup dir."""
    install_dir = Path(component.install_dir or "")
    releases_dir = Path(component.releases_dir or f"{install_dir}.releases")
    recorded = Path(backups.get("install_dir") or install_dir)
    previous = Path(backups["previous_release"]) if backups.get("previous_release") else None
    new_dir = Path(backups["release_dir"]) if backups.get("release_dir") else None
    tarball = backups.get("tarball_backup")
    wrong = [f"install_dir {recorded}"] if recorded != install_dir else []
    wrong += [f"{key} {path}" for key, path in (("previous_release", previous), ("release_dir", new_dir))
              if path is not None and not in_releases_dir(path, releases_dir)]
    if tarball and Path(tarball).parent != backup_dir:
        wrong.append(f"tarball_backup {tarball}")
    if wrong:
        raise UnitsError(f"rolling back {component.name}: the record names {', '.join(wrong)}, outside "
                         f"{install_dir}, {releases_dir} and {backup_dir}")
    return install_dir, previous or Path(), new_dir  # no previous release yet: the switch never happened


def migrated_dir(layout: Layout, version: str, stamp: str) -> Path:
    """Where a plain install dir goes: releases_dir/<version>, never over something already there."""
    name = version if parse_version(version) else f"previous-{stamp}"
    target = layout.releases_dir / name
    return target if not target.exists() else layout.releases_dir / f"{name}-{stamp}"


def make_release_dir(path: Path, like: Path, owner: tuple[int, int]) -> None:
    """A new, empty release dir with the mode of `like` (the install dir as it is: the units' UMask=0077
    would make it 0700, and the check's user could no longer read the release), given to the owner."""
    path.mkdir()
    os.chmod(path, like.stat().st_mode & 0o755 | 0o700)
    os.lchown(path, *owner)


def existing_ancestor(path: Path) -> Path:
    while not path.exists():
        path = path.parent
    return path


def is_complete(release: Path) -> bool:
    """A release dir that finished staging: its venv exists and the staging mark is gone."""
    return (release / ".venv/bin/python").exists() and not (release / STAGING_MARK).exists()


def unfinished_releases(releases_dir: Path, keep: set[Path]) -> list[Path]:
    """Release dirs a run left half-staged, never one in `keep` (the running and the previous release)."""
    if not releases_dir.is_dir():
        return []
    return sorted(p for p in releases_dir.iterdir()
                  if p.is_dir() and not p.is_symlink() and (p / STAGING_MARK).exists() and p not in keep)


# ---- staging, backup, switch ------------------------------------------------------------------------


def make_backup(running: Path, backup: Path, owner: tuple[int, int]) -> Path:
    """backup_dir/core.<stamp>.tar.gz of the running release (without its venv: a restore rebuilds it).

    The owner's fenced child reads the release and streams the archive (owner_child.write_backup): root
    only writes what comes down the pipe. Mode 0600 (it holds the device's settings), owned by `owner`;
    written to a mkstemp file (O_EXCL, an unpredictable name) through its descriptor, so nothing planted in
    the backup dir is followed.
    """
    backup.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{backup.name}.", suffix=".tmp", dir=backup.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            stream_as_owner(["backup", str(running)], f"backing up {running}", BACKUP_DEADLINE, running, owner,
                            handle)
            os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), 0o600)
            with contextlib.suppress(PermissionError):
                os.fchown(handle.fileno(), *owner)
        os.replace(tmp, backup)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(backup.parent)
    return backup


def point_install_dir(install_dir: Path, release: Path, sync: bool = True) -> None:
    """Atomically make install_dir a (relative) symlink to release: a temp link renamed over it.

    The temp link's name is random and never taken over: the owner of the install dir's parent can write
    there, and a name they could guess would let them make the switch fail.
    """
    target = os.path.relpath(release, install_dir.parent)
    _remove_stale_links(install_dir)
    for _ in range(LINK_TRIES):
        tmp = install_dir.with_name(f".{install_dir.name}.link-{os.urandom(8).hex()}")
        try:
            tmp.symlink_to(target)
            break
        except FileExistsError:
            continue
    else:
        raise UnitsError(f"could not make a temporary link beside {install_dir}: every name tried exists")
    try:
        os.replace(tmp, install_dir)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if sync:
        fsync_dir(install_dir.parent)


def _remove_stale_links(install_dir: Path) -> None:
    """Temp links a power cut left between their making and their rename (links only, never followed)."""
    stale = re.compile(rf"^\.{re.escape(install_dir.name)}\.link-[0-9a-f]{{16}}$")
    with contextlib.suppress(OSError), os.scandir(install_dir.parent) as entries:
        for entry in entries:
            if stale.match(entry.name) and entry.is_symlink():
                Path(entry.path).unlink(missing_ok=True)


def remove_tree(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)


