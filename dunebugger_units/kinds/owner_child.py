"""What the fenced child does inside the owner's trees (kinds/venv.py starts it): copy the device's settings
into a new release, give a new venv the previous release's installed packages, and archive the running
release for its tarball backup.

Root never copies, links or writes in a tree the app's user can change: a link planted there would lead
root's copy out of the tree (to /etc/shadow, a copy of which would become pi's) or its writes into root's
state dir, and a backup root made of such a tree would give pi whatever a swapped link led to. This file
runs instead as the owner (`python -I owner_child.py ...`, from root's working directory), so that
everything it reads and writes is what the owner could read and write anyway. It is run by the component's
interpreter or the updater's, with `-I` (its own dir is not on `sys.path`), so it imports only the standard
library; the backup goes to its standard output, for root to write.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

USAGE = ("usage: owner_child.py settings RUNNING NEW CONFIG_PATH... | venv OLD_VENV NEW_VENV SITE_REL"
         " | backup RUNNING")


def config_dirs(root: Path, config_paths: Sequence[str]) -> list[str]:
    """Every directory of the settings under root, relative to it, parents first (empty ones included)."""
    found: list[str] = []
    for rel in config_paths:
        base = root / rel
        if base.is_dir() and not base.is_symlink():
            found.append(rel)
            found += sorted(str(p.relative_to(root)) for p in base.rglob("*") if p.is_dir() and not p.is_symlink())
    return found


def config_files(root: Path, config_paths: Sequence[str]) -> set[str]:
    """Settings files under root, relative to it (a config path may name a dir or a single file)."""
    found: set[str] = set()
    for rel in config_paths:
        base = root / rel
        if base.is_file():
            found.add(rel)
        elif base.is_dir():
            found.update(str(p.relative_to(root)) for p in base.rglob("*") if p.is_file() or p.is_symlink())
    return found


def copy_settings(running: Path, new: Path, config_paths: Sequence[str]) -> None:
    """The device's settings over the tarball's defaults, byte for byte, each file and dir with its own mode
    (and owner, where the one copying may give it)."""
    for rel in config_dirs(running, config_paths):
        _copy_dir_meta(running / rel, new / rel)
    for rel in sorted(config_files(running, config_paths)):
        source, target = running / rel, new / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.is_dir():
            shutil.rmtree(target)
        shutil.copy2(source, target, follow_symlinks=False)
        st = source.lstat()
        with contextlib.suppress(PermissionError):
            os.lchown(target, st.st_uid, st.st_gid)


def _copy_dir_meta(source: Path, target: Path) -> None:
    if target.is_symlink() or target.is_file():
        target.unlink()
    target.mkdir(parents=True, exist_ok=True)
    st = source.stat()
    with contextlib.suppress(PermissionError):
        os.chown(target, st.st_uid, st.st_gid)
    try:
        os.chmod(target, st.st_mode & 0o7777)
    except PermissionError:
        # the fence's RestrictSUIDSGID= refuses a setgid bit even on a directory: the rest of the mode is kept
        os.chmod(target, st.st_mode & 0o1777)


def rewrite_shebang(data: bytes, new_venv: Path) -> bytes:
    """Pure: a console script of the old venv (`#!/any/path/.venv/bin/python3`) runs the new venv's python."""
    first, sep, rest = data.partition(b"\n")
    if not first.startswith(b"#!"):
        return data
    interpreter = Path(first[2:].decode("utf-8", "replace").strip().split(" ")[0])
    if interpreter.parent.name != "bin" or interpreter.parent.parent.name != ".venv":
        return data
    return b"#!" + str(new_venv / "bin" / interpreter.name).encode() + sep + rest


def _link_or_copy(src: str, dst: str) -> None:
    """Hard links where the old release is on the same filesystem (no extra space on the SD card, no copy
    time); nothing rewrites an installed file in place (pip replaces files), so the two venvs stay apart."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def copy_venv(old_venv: Path, new_venv: Path, site_rel: str) -> None:
    """The old venv's installed packages and console scripts into the new venv (made by `venv` already)."""
    shutil.copytree(old_venv / site_rel, new_venv / site_rel, symlinks=True, dirs_exist_ok=True,
                    copy_function=_link_or_copy, ignore=shutil.ignore_patterns("__pycache__"))
    for script in sorted((old_venv / "bin").iterdir()):
        target = new_venv / "bin" / script.name
        if target.exists() or target.is_symlink() or script.is_symlink() or not script.is_file():
            continue  # python links and activate scripts: the new venv made its own
        target.write_bytes(rewrite_shebang(script.read_bytes(), new_venv))
        target.chmod(script.stat().st_mode & 0o7777)


def write_backup(running: Path, out: BinaryIO) -> None:
    """A .tar.gz of the running release without its venv (a restore rebuilds it), streamed to `out`."""

    import gzip
    import tarfile  # deferred: a person's check imports this module, never writes a backup (docs/performance.md)

    def skip_venv(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        return None if info.name == ".venv" or info.name.startswith(".venv/") else info

    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=6) as packed, \
            tarfile.open(fileobj=packed, mode="w|") as tar:
        for entry in sorted(running.iterdir()):
            tar.add(entry, arcname=entry.name, filter=skip_venv)


def main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[0] == "settings":
        copy_settings(Path(argv[1]), Path(argv[2]), argv[3:])
        return 0
    if len(argv) == 4 and argv[0] == "venv":
        copy_venv(Path(argv[1]), Path(argv[2]), argv[3])
        return 0
    if len(argv) == 2 and argv[0] == "backup":
        write_backup(Path(argv[1]), sys.stdout.buffer)
        sys.stdout.flush()
        return 0
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
