"""Crash-safe file writes: a power cut leaves the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

TEMP_ATTEMPTS = 100  # names tried before giving up (os.urandom: 48 bits each)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, *, mode: int | None = None, like: Path | None = None) -> None:
    """Write a temp file beside `path`, fsync it, rename it over `path`, fsync the directory.

    `like` copies the mode and owner of an existing file (the compose file belongs to `pi`); `mode`, when
    given too, wins over its mode (a backup of it is 0600). The temp file is made with O_EXCL (as mkstemp
    does) and its mode and owner are set through its descriptor: in a dir someone else may write (pi's backup
    dir), a file swapped in under the temp name is never chowned or chmodded by root.
    """
    directory = path.parent
    fd, tmp = create_temp(directory, f".{path.name}.", ".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            set_mode_owner(handle.fileno(), mode, like)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(directory)


def create_temp(directory: Path, prefix: str, suffix: str) -> tuple[int, Path]:
    """A new file `<prefix><random><suffix>` in `directory`, mode 0600, never an existing file or a link.

    mkstemp's contract without tempfile, whose import (random, shutil) costs a person's `check` more than its
    write does (docs/performance.md)."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    for _ in range(TEMP_ATTEMPTS):
        name = directory / f"{prefix}{os.urandom(6).hex()}{suffix}"
        try:
            return os.open(name, flags, 0o600), name
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, f"no free temp file name in {directory}")


def set_mode_owner(fd: int, mode: int | None, like: Path | None) -> None:
    """Through the descriptor: the owner (and mode) of `like` if it exists, `mode` if given."""
    if like is not None and like.exists():
        st = like.stat()
        os.fchmod(fd, st.st_mode & 0o7777 if mode is None else mode)
        with contextlib.suppress(PermissionError):  # only root may give a file away
            os.fchown(fd, st.st_uid, st.st_gid)
    elif mode is not None:
        os.fchmod(fd, mode)


def open_nofollow(path: Path, flags: int = os.O_RDONLY) -> int:
    """A descriptor of `path` (absolute) opened one component at a time, none of them followed if it is a
    link: root reads a tree another user can change only this way (a link planted anywhere on the way makes
    this fail with ELOOP or ENOTDIR instead of leading root elsewhere)."""
    if not path.is_absolute():
        raise ValueError(f"opening {path}: not an absolute path")
    parts = [p for p in path.parts[1:] if p not in ("", ".")]
    if ".." in parts:
        raise ValueError(f"opening {path}: '..' in the path")
    fd = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            next_fd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = next_fd
        if not parts:
            return fd
        last = os.open(parts[-1], flags | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fd)
    finally:
        if parts:
            os.close(fd)
    return last


def read_nofollow(path: Path, limit: int) -> bytes:
    """The bytes of the regular file `path` (at most `limit`), reached through no link (open_nofollow)."""
    return read_with_stat(path, limit)[0]


def read_with_stat(path: Path, limit: int) -> tuple[bytes, os.stat_result]:
    """read_nofollow, and the stat of the very file read (its identity: st_dev, st_ino)."""
    fd = open_nofollow(path)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, f"{path} is not a regular file")
        data = b""
        while len(data) <= limit and (chunk := os.read(fd, limit + 1 - len(data))):
            data += chunk
    finally:
        os.close(fd)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"{path} is over {limit} bytes")
    return data, st


def replace_in_place(path: Path, data: bytes, *, mode: int, owner: tuple[int, int],
                     same_as: os.stat_result | None = None) -> None:
    """atomic_write for a file in a tree another user can change: its dir is reached through no link and
    every step is relative to that dir's descriptor, so nothing is written through a link, and a name
    swapped for a link is replaced, never followed. With `same_as`, the file there must still be that
    file (same st_dev and st_ino, no link) or nothing is written."""
    dir_fd = open_nofollow(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    tmp = f".{path.name}.{os.urandom(6).hex()}.tmp"
    try:
        if same_as is not None:
            now = os.stat(path.name, dir_fd=dir_fd, follow_symlinks=False)
            if (now.st_dev, now.st_ino) != (same_as.st_dev, same_as.st_ino) or not stat.S_ISREG(now.st_mode):
                raise OSError(errno.ESTALE, f"{path} is no longer the file that was read")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=dir_fd)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
                os.fchmod(handle.fileno(), mode)
                with contextlib.suppress(PermissionError):  # only root may give a file away
                    os.fchown(handle.fileno(), *owner)
            os.replace(tmp, path.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=dir_fd)
            raise
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
