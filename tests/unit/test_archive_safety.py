"""The archive safety corpus: real tar files built here, each judged before anything is written."""

from __future__ import annotations

import gzip
import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from dunebugger_units.archive import (
    ArchiveError,
    Member,
    extract_archive,
    inspect_archive,
    judge_member,
    normalise,
    resolve,
)

CAP = 1024 * 1024


def _file(name: str, data: bytes = b"x", mode: int = 0o644) -> tuple[tarfile.TarInfo, bytes | None]:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    return info, data


def _special(name: str, kind: bytes, linkname: str = "", mode: int = 0o644) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, linkname, mode
    return info, None


def build(path: Path, entries: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


GOOD = [_special(".", tarfile.DIRTYPE, mode=0o755), _file("./VERSION", b'{"full_version": "1.2.0"}'),
        _special("./app", tarfile.DIRTYPE, mode=0o755), _file("./app/main.py", b"print(1)\n", 0o755),
        _file("requirements.txt", b""), _special("app/link", tarfile.SYMTYPE, "main.py"),
        _special("app/hard", tarfile.LNKTYPE, "app/main.py")]

UNSAFE: list[object] = [
    pytest.param([_file("../evil", b"x")], "'..' in path", id="dot-dot"),
    pytest.param([_file("app/../../evil")], "'..' in path", id="dot-dot-inside"),
    pytest.param([_file("/etc/evil")], "absolute path", id="absolute"),
    pytest.param([_special("out", tarfile.SYMTYPE, "/etc/passwd")], "link points outside",
                 id="symlink-absolute"),
    pytest.param([_special("app/out", tarfile.SYMTYPE, "../../x")], "link points outside", id="symlink-up"),
    pytest.param([_special("dir", tarfile.SYMTYPE, "."), _file("dir/x")], "through a link",
                 id="path-via-link"),
    pytest.param([_special("h", tarfile.LNKTYPE, "/etc/shadow")], "hard link points outside",
                 id="hardlink-abs"),
    pytest.param([_special("h", tarfile.LNKTYPE, "../x")], "hard link points outside", id="hardlink-up"),
    pytest.param([_special("h", tarfile.LNKTYPE, "nothing")], "not an earlier file", id="hardlink-dangling"),
    pytest.param([_special("dev", tarfile.CHRTYPE)], "device entries", id="char-device"),
    pytest.param([_special("blk", tarfile.BLKTYPE)], "device entries", id="block-device"),
    pytest.param([_special("fifo", tarfile.FIFOTYPE)], "fifo entries", id="fifo"),
    pytest.param([_file("suid", b"x", 0o4755)], "setuid/setgid", id="setuid"),
    pytest.param([_file("sgid", b"x", 0o2755)], "setuid/setgid", id="setgid"),
    pytest.param([_file("a", b"1"), _file("a", b"2")], "appears twice", id="duplicate"),
    pytest.param([_file("big", b"x" * (CAP // 2)), _file("big2", b"x" * (CAP // 2 + 1))], "unpacks to over",
                 id="huge-unpacked"),
    # reads as inside, lands outside; then a dir entry would chmod what the link points at
    pytest.param([_special("l", tarfile.SYMTYPE, "."),
                  _special("esc", tarfile.SYMTYPE, "l/l/l/l/l/l/l/../../../../../../.."),
                  _special("esc", tarfile.DIRTYPE, mode=0o700)], "link points outside", id="link-chain-escape"),
    pytest.param([_special("l", tarfile.SYMTYPE, "."), _special("l", tarfile.DIRTYPE, mode=0o700)],
                 "over an earlier link", id="dir-over-link"),
    pytest.param([_special("l", tarfile.SYMTYPE, "."), _file("l", b"x")], "over an earlier link",
                 id="file-over-link"),
    # an earlier link that a later one redirects: `a -> b/..` is the root until `b -> .` makes it the parent
    pytest.param([_special("a", tarfile.SYMTYPE, "b/.."), _special("b", tarfile.SYMTYPE, ".")],
                 "link points outside", id="later-link-redirects-earlier"),
    pytest.param([_special("app", tarfile.DIRTYPE, mode=0o755), _special("app/up", tarfile.SYMTYPE, ".."),
                  _special("esc", tarfile.SYMTYPE, "app/up/..")], "link points outside", id="link-through-link-up"),
    pytest.param([_special("loop1", tarfile.SYMTYPE, "loop2"), _special("loop2", tarfile.SYMTYPE, "loop1")],
                 "link points outside", id="link-loop"),
    pytest.param([_special("l", tarfile.SYMTYPE, "."), _file("x"), _special("h", tarfile.LNKTYPE, "l/x")],
                 "hard link points outside", id="hardlink-through-link"),
]


def test_link_chain_escape_changes_nothing_outside(tmp_path: Path) -> None:
    """A link chain that escapes, end to end: the mode of the dir above the destination stays as it was."""
    outside = tmp_path / "outside"
    dest = outside / "a/b/c/d/e/f/dest"
    dest.mkdir(parents=True)
    outside.chmod(0o755)
    archive = build(tmp_path / "bad.tar.gz", [
        _special("l", tarfile.SYMTYPE, "."), _special("esc", tarfile.SYMTYPE, "l/l/l/l/l/l/l/../../../../../../.."),
        _special("esc", tarfile.DIRTYPE, mode=0o700)])
    with pytest.raises(ArchiveError):
        extract_archive(archive, dest, CAP)
    assert stat.S_IMODE(outside.stat().st_mode) == 0o755
    assert list(dest.iterdir()) == []


RESOLVED: list[object] = [
    pytest.param("a/b", {}, "a/b", id="no-links"),
    pytest.param("l/x", {"l": "."}, "x", id="link-to-root"),
    pytest.param("l/l/..", {"l": "."}, None, id="up-through-link"),
    pytest.param("app/up/x", {"app/up": ".."}, "x", id="link-up-inside"),
    pytest.param("app/up/..", {"app/up": ".."}, None, id="link-up-then-up"),
    pytest.param("x", {"x": "y", "y": "x"}, None, id="loop"),
    pytest.param("abs", {"abs": "/etc"}, None, id="absolute-target"),
]


@pytest.mark.parametrize(("path", "links", "expected"), RESOLVED)
def test_resolve(path: str, links: dict[str, str], expected: str | None) -> None:
    assert resolve(path, links) == expected


@pytest.mark.parametrize(("entries", "why"), UNSAFE)
def test_unsafe_archive_is_refused_and_nothing_written(tmp_path: Path, entries: list, why: str) -> None:  # type: ignore[type-arg]
    archive = build(tmp_path / "bad.tar.gz", entries)
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(ArchiveError, match=why.replace("(", r"\(")):
        extract_archive(archive, dest, CAP)
    assert list(dest.iterdir()) == []


def test_flat_archive_extracts_with_owner_and_masked_modes(tmp_path: Path) -> None:
    archive = build(tmp_path / "good.tar.gz", GOOD)
    dest = tmp_path / "dest"
    dest.mkdir()
    extract_archive(archive, dest, CAP, owner=(4321, 4321))
    assert (dest / "app/main.py").read_bytes() == b"print(1)\n"
    assert (dest / "app/link").is_symlink() and (dest / "app/link").read_bytes() == b"print(1)\n"
    assert (dest / "app/hard").stat().st_ino == (dest / "app/main.py").stat().st_ino
    assert stat.S_IMODE((dest / "app/main.py").stat().st_mode) == 0o755
    assert all(p.lstat().st_uid == 4321 for p in [dest, *dest.rglob("*")])


def test_writable_bits_for_group_and_world_are_dropped(tmp_path: Path) -> None:
    archive = build(tmp_path / "a.tar.gz", [_file("w", b"x", 0o777)])
    dest = tmp_path / "dest"
    dest.mkdir()
    extract_archive(archive, dest, CAP)
    assert stat.S_IMODE((dest / "w").stat().st_mode) == 0o755


@pytest.mark.parametrize("cut", [0.5, 0.9], ids=["half", "most"])
def test_truncated_gzip_is_a_clean_error(tmp_path: Path, cut: float) -> None:
    whole = build(tmp_path / "whole.tar.gz", [_file("data", bytes(range(256)) * 4000)]).read_bytes()
    archive = tmp_path / "cut.tar.gz"
    archive.write_bytes(whole[: int(len(whole) * cut)])
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(ArchiveError, match=r"cut\.tar\.gz: (truncated|corrupt)"):
        extract_archive(archive, dest, CAP)
    assert list(dest.iterdir()) == []


def test_not_an_archive_is_a_clean_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(gzip.compress(b"not a tar at all" * 100)[:40])
    with pytest.raises(ArchiveError, match=r"junk\.tar\.gz"):
        inspect_archive(junk, CAP)


NAMES = [
    pytest.param("./app/x", "app/x", id="dot-slash"),
    pytest.param(".", "", id="root"),
    pytest.param("a//b/./c", "a/b/c", id="doubled"),
    pytest.param("/abs", None, id="absolute"),
    pytest.param("a/../b", None, id="dot-dot"),
]


@pytest.mark.parametrize(("name", "expected"), NAMES)
def test_normalise(name: str, expected: str | None) -> None:
    assert normalise(name) == expected


JUDGED: list[object] = [
    pytest.param(Member("app/l", "symlink", linkname="../VERSION"), {}, None, id="link-up-but-inside"),
    pytest.param(Member("l", "symlink", linkname=".."), {}, "outside", id="link-to-parent"),
    pytest.param(Member("a/b", "file"), {"a": "."}, "through a link", id="under-a-link"),
    pytest.param(Member("x", "other"), {}, "other entries", id="unknown-type"),
    pytest.param(Member("esc", "symlink", linkname="l/l/../.."), {"l": "."}, "outside", id="bypass"),
    pytest.param(Member("esc", "dir"), {"esc": "."}, "over an earlier link", id="dir-over-link"),
]


@pytest.mark.parametrize(("member", "links", "why"), JUDGED)
def test_judge_member(member: Member, links: dict[str, str], why: str | None) -> None:
    verdict = judge_member(member, links)
    assert (verdict is None) if why is None else (verdict is not None and why in verdict)




def test_member_count_is_capped_and_nothing_written(tmp_path: Path) -> None:
    """Many empty files cost no bytes but an inode each: the member cap refuses them before extraction."""
    archive = build(tmp_path / "many.tar.gz", [_file(f"f{i}", b"") for i in range(50)])
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(ArchiveError, match="more than 49 members"):
        inspect_archive(archive, CAP, max_members=49)
    assert len(inspect_archive(archive, CAP, max_members=50)) == 50
    with pytest.raises(ArchiveError, match="members"):
        extract_archive(build(tmp_path / "huge.tar.gz", [_file(f"f{i}", b"") for i in range(20_001)]), dest, CAP)
    assert list(dest.iterdir()) == []


def test_unlisted_parent_dirs_take_the_release_dirs_mode_whatever_the_umask(tmp_path: Path) -> None:
    """Under the units' UMask=0077 a dir the archive does not list must still be traversable by the check's
    user: it takes the mode of the dir it is extracted into."""
    archive = build(tmp_path / "r.tar.gz", [_file("app/config/deep/x.conf", b"k=v\n"),
                                            _special("listed", tarfile.DIRTYPE, mode=0o750)])
    dest = tmp_path / "release"
    dest.mkdir()
    dest.chmod(0o755)
    old = os.umask(0o077)
    try:
        extract_archive(archive, dest, CAP)
    finally:
        os.umask(old)
    for unlisted in ("app", "app/config", "app/config/deep"):
        assert stat.S_IMODE((dest / unlisted).stat().st_mode) == 0o755, unlisted
    assert stat.S_IMODE((dest / "listed").stat().st_mode) == 0o750
    assert stat.S_IMODE((dest / "app/config/deep/x.conf").stat().st_mode) == 0o644
