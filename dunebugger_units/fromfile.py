"""Releases installed from a file (`update C --from FILE`, `import DIR`): a USB stick, no network needed.

A file is named as its release names it: core's asset (`asset_pattern`, dunebugger-1.3.0.tar.gz) and a
container's `docker save` as `<component>-<version>.tar`; the version comes from that name. Its checksums sit
beside it, under the rules of a download: `<file>.sha256`, or SHA256SUMS with SHA256SUMS.gpg; with
`trusted_keys` set, the signed SHA256SUMS is required and must list the file (docs/design.md, "Install from a
file").

Root (the CLI, as root) copies the file and those beside it, each opened through no link and capped, into its
own staging area <state_dir>/imports/<component>/, and leaves the update unit a one-shot request naming the
copy; the unit checks and uses only that copy, so nobody can swap the file afterwards. Nothing here talks to
GitHub. `version_from_name` and `plan_import` are pure.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from .errors import Refused
from .files import fsync_dir
from .signatures import SIGNATURE, SUMS
from .state import root_dir
from .versions import plain_version

if TYPE_CHECKING:
    from .config import ComponentConfig, Config

IMPORTS_DIR = "imports"
SMALL_FILE_BYTES = 64 * 1024  # a .sha256, SHA256SUMS or its signature
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Staged:
    """A release file in root's staging area, as the update unit takes it."""

    component: str
    version: str
    file: Path  # <state_dir>/imports/<component>/<name>: root's copy
    source: str  # the file a person named, absolute: what the result's `source` says

    @property
    def dir(self) -> Path:
        return self.file.parent

    @property
    def name(self) -> str:
        return self.file.name


# ---- pure: names --------------------------------------------------------------------------------------------

def file_pattern(component: ComponentConfig) -> str:
    """The name a release file of `component` carries, with `{version}` in it."""
    if component.type == "python_app":
        return component.asset_pattern
    return f"{component.name}-{{version}}.tar"


def version_from_name(component: ComponentConfig, name: str) -> str | None:
    """Pure: the version a file name gives for `component` (without `v`), or None when it does not match."""
    before, _, after = file_pattern(component).partition("{version}")
    if len(name) <= len(before) + len(after) or not (name.startswith(before) and name.endswith(after)):
        return None
    return plain_version(name[len(before):len(name) - len(after)])


def file_version(component: ComponentConfig, name: str) -> str:
    version = version_from_name(component, name)
    if version is None:
        expected = file_pattern(component).format(version="<version>")
        raise Refused(f"installing {component.name} from {name}: the name gives no version (expected "
                         f"{expected})")
    return version


def plan_import(components: Iterable[ComponentConfig], names: Iterable[str]) -> list[tuple[str, str | None]]:
    """Pure: for each component, in the order given, the release file among `names` (None when there is none).
    Two versions of one component in the directory are refused: which one would be meant?"""
    listed = sorted(names)
    plan: list[tuple[str, str | None]] = []
    for component in components:
        found = [name for name in listed if version_from_name(component, name) is not None]
        if len(found) > 1:
            raise Refused(f"importing {component.name}: more than one release file ({', '.join(found)}); "
                             "leave only the one to install")
        plan.append((component.name, found[0] if found else None))
    return plan


# ---- staging: root's copy ----------------------------------------------------------------------------------

def imports_dir(state_dir: Path, component: str) -> Path:
    return root_dir(root_dir(root_dir(state_dir) / IMPORTS_DIR, mode=0o700) / component, mode=0o700)


def stage(config: Config, component: ComponentConfig, given: Path) -> Staged:
    """Copy the release file named `given`, and the checksum files beside it, into root's staging area."""
    version = file_version(component, given.name)
    # a link in the directory part is the person's own path; the file itself is never reached through one
    source = Path(os.path.realpath(given.parent)) / given.name
    into = imports_dir(Path(config.state_dir), component.name)
    discard(into)
    try:
        dir_fd = os.open(source.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise Refused(f"reading {source.parent}: {exc.strerror}") from None
    try:
        copy_file(dir_fd, source, into, config.update.max_download_bytes, required=True)
        for extra in (f"{source.name}.sha256", SUMS, SIGNATURE):
            copy_file(dir_fd, source.parent / extra, into, SMALL_FILE_BYTES, required=False)
    finally:
        os.close(dir_fd)
    fsync_dir(into)
    return Staged(component.name, version, into / source.name, str(source))


def copy_file(dir_fd: int, source: Path, into: Path, cap: int, *, required: bool) -> None:
    """Stream `source` (a name in `dir_fd`, never followed if a link) into `into`, at most `cap` bytes."""
    try:
        fd = os.open(source.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except FileNotFoundError:
        if required:
            raise Refused(f"reading {source}: no such file") from None
        return
    except OSError as exc:
        why = "it is a symbolic link, refused" if exc.errno == errno.ELOOP else exc.strerror
        raise Refused(f"reading {source}: {why}") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise Refused(f"reading {source}: not a regular file, refused")
        _copy_capped(handle, source, into / source.name, cap)


def _copy_capped(handle: BinaryIO, source: Path, dest: Path, cap: int) -> None:
    tmp = dest.with_name(f".{dest.name}.part")
    tmp.unlink(missing_ok=True)
    out_fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    done = 0
    try:
        with os.fdopen(out_fd, "wb") as out:
            while chunk := handle.read(CHUNK):
                done += len(chunk)
                if done > cap:
                    raise Refused(f"copying {source}: over the {cap}-byte cap (update.max_download_bytes)")
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dest)
    except OSError as exc:  # the disk filled, say: one line, nothing kept
        tmp.unlink(missing_ok=True)
        raise Refused(f"copying {source} to {dest}: {exc.strerror or exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def discard(directory: Path) -> None:
    """Empty a component's staging dir (only plain files are ever put there)."""
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(directory):
            with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                os.unlink(entry.path)


# ---- the one-shot request to the update unit --------------------------------------------------------------

def request_of(staged: Staged) -> dict[str, str]:
    return {"version": staged.version, "file": staged.name, "source": staged.source}


def staged_from_request(config: Config, component: ComponentConfig, request: dict[str, object]) -> Staged | None:
    """The staged file a request names, checked again: a plain name in the component's staging dir, whose
    name gives the version the request says. None for an empty request."""
    if not request:
        return None
    name, version, source = request.get("file"), request.get("version"), request.get("source")
    if not (isinstance(name, str) and isinstance(source, str) and name == os.path.basename(name)
            and name not in ("", ".", "..") and version_from_name(component, name) == version):
        raise Refused(f"installing {component.name} from a file: the request names {str(name)[:80]!r}, "
                         "not a release file")
    return Staged(component.name, str(version), imports_dir(Path(config.state_dir), component.name) / name,
                  source)
