"""Safe extraction of a release tarball: every member is judged before anything is written.

Release archives are flat (no top-level folder: `app/`, `requirements.txt`, `VERSION` at the top). An archive
comes from the network, so it is refused whole when any member is an absolute path, climbs out with `..`,
passes through or is a link that points outside, is a device file or FIFO, carries a setuid/setgid bit, or
when the regular files add up to more than the cap. A member is judged by where it really lands, after
every link that came before it (as the data filter of Python's tarfile does): `l -> .` then
`esc -> l/l/../..` climbs out although it reads as staying inside. `judge_member` and `resolve` are pure;
`inspect_archive` and `extract_archive` read the file. Extraction writes each file itself (no
`tarfile.extract`): modes are masked, owners come from the caller, never from the archive; where the
interpreter has `tarfile.data_filter` (3.12+, later 3.11 builds), it judges every member again against what is
on disk at that moment, and nothing is ever written through a link.
"""

from __future__ import annotations

import os
import posixpath
import stat
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import UnitsError

if TYPE_CHECKING:
    import tarfile

CHUNK = 256 * 1024
MAX_LINK_HOPS = 40  # as the kernel's own limit on links followed in one path
# a core release holds a few hundred members; the cap keeps a hostile one from exhausting inodes or memory
MAX_MEMBERS = 20_000


class ArchiveError(UnitsError):
    """The archive is unreadable or unsafe; nothing was extracted from it."""


@dataclass(frozen=True)
class Member:
    """What the judge needs of one tar member (a plain record, so the rules are table-testable)."""

    name: str
    type: str  # file | dir | symlink | hardlink | device | fifo | other
    size: int = 0
    mode: int = 0o644
    linkname: str = ""


def normalise(name: str) -> str | None:
    """`./app/x` -> `app/x`; `.` and `./` -> "" (the archive root); None when it is absolute or climbs out."""
    if name.startswith("/"):
        return None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        return None
    return "/".join(parts)


def resolve(path: str, links: Mapping[str, str]) -> str | None:
    """Pure: where `path` (relative to the archive root) really is once every link in `links` (name -> its
    target, as written) is followed, component by component as the kernel does; None when it leaves the
    root (or loops)."""
    done: list[str] = []
    todo = [p for p in path.split("/") if p not in ("", ".")]
    hops = 0
    while todo:
        part = todo.pop(0)
        if part == "..":
            if not done:
                return None
            done.pop()
            continue
        here = "/".join([*done, part])
        if here in links:
            hops += 1
            target = links[here]
            if hops > MAX_LINK_HOPS or target.startswith("/"):
                return None
            todo = [p for p in target.split("/") if p not in ("", ".")] + todo  # relative to the link's dir
            continue
        done.append(part)
    return "/".join(done)


def _escaping_link(links: Mapping[str, str]) -> str | None:
    """The first link that, with every link known now, points outside the root (a later link can change
    where an earlier one leads: `a -> b/..` is inside until `b -> .` arrives)."""
    for name, target in links.items():
        if target.startswith("/") or resolve(posixpath.join(posixpath.dirname(name), target), links) is None:
            return name
    return None


def judge_member(member: Member, symlinks: Mapping[str, str]) -> str | None:  # one rule, one return
    """Pure: None when the member is safe to extract, else why not (`symlinks`: links seen so far, name ->
    target)."""
    where = member.name
    name = normalise(member.name)
    if name is None:
        return f"{where!r}: absolute path" if member.name.startswith("/") else f"{where!r}: '..' in path"
    parents = name.split("/")[:-1]
    for i in range(len(parents)):
        if "/".join(parents[: i + 1]) in symlinks:
            return f"{where!r}: path goes through a link"
    if name in symlinks:
        return f"{where!r}: an entry over an earlier link"
    if member.type in ("device", "fifo", "other"):
        return f"{where!r}: {member.type} entries are not allowed"
    if member.mode & (stat.S_ISUID | stat.S_ISGID):
        return f"{where!r}: setuid/setgid bit"
    if member.type == "symlink" and (not name or _escaping_link({**symlinks, name: member.linkname}) is not None):
        return f"{where!r}: link points outside ({member.linkname!r})"
    if member.type == "hardlink":
        target = normalise(member.linkname)
        if not target or resolve(target, symlinks) != target:
            return f"{where!r}: hard link points outside ({member.linkname!r})"
    return None


def _as_member(info: tarfile.TarInfo) -> Member:
    if info.isreg():
        kind = "file"
    elif info.isdir():
        kind = "dir"
    elif info.issym():
        kind = "symlink"
    elif info.islnk():
        kind = "hardlink"
    elif info.ischr() or info.isblk():
        kind = "device"
    elif info.isfifo():
        kind = "fifo"
    else:
        kind = "other"
    return Member(info.name, kind, info.size, info.mode, info.linkname)


@contextmanager
def _reading(path: Path) -> Iterator[tarfile.TarFile]:
    """Open for streaming; a truncated or corrupt archive becomes one ArchiveError line."""
    import tarfile  # deferred: a person's check imports this module, never reads an archive (docs/performance.md)

    try:
        with tarfile.open(path, mode="r|*") as tar:
            yield tar
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        if isinstance(exc, ArchiveError):
            raise
        why = "truncated" if isinstance(exc, EOFError) else f"corrupt ({type(exc).__name__}: {exc})"
        raise ArchiveError(f"reading archive {path.name}: {why}") from None


def inspect_archive(path: Path, max_unpacked: int, max_members: int = MAX_MEMBERS) -> list[Member]:
    """Read the whole archive (a truncated one fails here) and judge every member; raise on the first."""
    members: list[Member] = []
    symlinks: dict[str, str] = {}
    files: set[str] = set()
    seen: set[str] = set()
    total = 0
    with _reading(path) as tar:
        for info in tar:
            if len(members) >= max_members:
                raise ArchiveError(f"unsafe archive {path.name}: more than {max_members} members")
            member = _as_member(info)
            why = judge_member(member, symlinks)
            name = normalise(member.name) or ""
            if why is None and member.type == "hardlink" and normalise(member.linkname) not in files:
                why = f"{member.name!r}: hard link to {member.linkname!r}, which is not an earlier file"
            if why is None and name in seen and member.type != "dir":
                why = f"{member.name!r}: appears twice"
            if why is not None:
                raise ArchiveError(f"unsafe archive {path.name}: {why}")
            if member.type == "file":
                total += member.size
                if total > max_unpacked:
                    raise ArchiveError(f"unsafe archive {path.name}: unpacks to over {max_unpacked} bytes")
                # reading the data proves the stream is whole: a truncated gzip fails here, not half-way out
                _drain(tar, info)
            seen.add(name)
            if member.type in ("file", "hardlink"):
                files.add(name)
            if member.type == "symlink":
                symlinks[name] = member.linkname
            members.append(member)
    return members


def _drain(tar: tarfile.TarFile, info: tarfile.TarInfo) -> None:
    handle = tar.extractfile(info)
    if handle is None:
        return
    while handle.read(CHUNK):
        pass


def extract_archive(path: Path, dest: Path, max_unpacked: int, owner: tuple[int, int] | None = None) -> int:
    """Inspect, then extract into the existing empty dir `dest`; return the number of members written.

    Files get their archive mode masked to 0o755/0o644 bits (never setuid, never group/world-writable);
    `owner` (uid, gid) is applied to everything written, as on the device where core runs as `pi`.
    """
    inspect_archive(path, max_unpacked)
    count = 0
    with _reading(path) as tar:
        for info in tar:
            member = _as_member(info)
            name = normalise(member.name)
            if not name:
                continue  # the archive root itself
            _second_opinion(info, dest)
            target = dest / name
            _write_member(tar, info, member, target, dest)
            count += 1
    if owner is not None:
        chown_tree(dest, owner)
    return count


def chown_tree(top: Path, owner: tuple[int, int]) -> None:
    """lchown everything under `top` and then `top` (links themselves, never what they point at).

    Deepest first: a dir becomes the owner's only once root is done inside it, so the owner can never swap
    a link into a path root is still walking."""
    for root, dirs, names in os.walk(top, topdown=False):
        for entry in (*dirs, *names):
            os.lchown(os.path.join(root, entry), *owner)
    os.lchown(top, *owner)


def _second_opinion(info: tarfile.TarInfo, dest: Path) -> None:
    """Python's own data filter, where the interpreter has it, against the links already on disk."""
    import tarfile

    data_filter = getattr(tarfile, "data_filter", None)
    if data_filter is None:
        return
    try:
        data_filter(info, str(dest))
    except tarfile.FilterError as exc:
        raise ArchiveError(f"unsafe archive: {info.name!r}: {exc}") from None


def _make_parents(target: Path, dest: Path) -> None:
    """The dirs above `target` that the archive does not list, with `dest`'s own mode: the units' UMask=0077
    would otherwise make them 0700, and the check's user could no longer read the release."""
    mode = dest.stat().st_mode & 0o777
    missing = [p for p in target.relative_to(dest).parents if p != Path(".") and not (dest / p).exists()]
    for parent in reversed(missing):
        (dest / parent).mkdir()
        (dest / parent).chmod(mode)


def _write_member(tar: tarfile.TarFile, info: tarfile.TarInfo, member: Member, target: Path,
                  dest: Path) -> None:
    _make_parents(target, dest)
    if target.is_symlink() or target.parent.is_symlink():  # never write or chmod through a link
        raise ArchiveError(f"unsafe archive: {member.name!r} would be written through a link")
    if member.type == "dir":
        target.mkdir(exist_ok=True)
        target.chmod(member.mode & 0o755 | 0o700)
    elif member.type == "symlink":
        target.symlink_to(member.linkname)
    elif member.type == "hardlink":
        os.link(dest / (normalise(member.linkname) or ""), target, follow_symlinks=False)
    else:
        handle = tar.extractfile(info)
        if handle is None:
            raise ArchiveError(f"reading archive: no data for {member.name!r}")
        # O_EXCL|O_NOFOLLOW: never write through a link or over an entry the archive made earlier
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as out:
            while chunk := handle.read(CHUNK):
                out.write(chunk)
        target.chmod(member.mode & 0o755 | 0o600)
