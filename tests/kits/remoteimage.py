"""An image for the remote stand-in, built offline: a busybox rootfs plus the host's Debian python3.11 (binary,
the shared libraries `ldd` names, the standard library), sdbus and websockets, and ONLY the client's modules of
dunebugger_units (api, door, client, messages, systemd, errors): no requests, yaml, ruamel, click or packaging. So
the kit test also proves that the remote's image needs no more than "Connecting the remote" says.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from kits.buildonce import built
from kits.harness import busybox_rootfs
from kits.productkit import REPO, VENV

PYTHON = Path("/usr/bin/python3.11")
STDLIB = Path("/usr/lib/python3.11")
DIST = "usr/lib/python3/dist-packages"
# what the remote's image needs of this project (README, "Connecting the remote")
CLIENT_MODULES = ("__init__.py", "remote/__init__.py", "remote/api.py", "remote/door.py", "remote/client.py",
                  "remote/messages.py", "systemd.py", "errors.py")
THIRD_PARTY = ("sdbus", "websockets")
SKIP_STDLIB = {"test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "pydoc_data",
               "config-3.11-x86_64-linux-gnu", "distutils", "unittest"}
STANDIN = "/app/remote_standin.py"


def _site_packages() -> Path:
    return next((VENV / "lib").glob("python3.*/site-packages"))


def _libraries(binaries: list[Path]) -> set[Path]:
    found: set[Path] = set()
    for binary in binaries:
        out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=False).stdout
        found |= {Path(m) for m in re.findall(r"(/\S+\.so[.\d]*)", out)}
    return found


def _copy(src: Path, root: Path) -> None:
    dest = root / str(src).lstrip("/")
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src.resolve(), dest)


def python_rootfs() -> Path:
    """Built once per run (about 50 MB, kits/buildonce.py), for the image sets that start from it."""
    with built("python-rootfs") as (root, there):
        if not there:
            partial = root.with_name("python-rootfs.partial")
            shutil.rmtree(partial, ignore_errors=True)
            _lay_out(busybox_rootfs(partial))
            partial.rename(root)
    return root


def _lay_out(root: Path) -> None:
    shutil.copytree(STDLIB, root / str(STDLIB).lstrip("/"), symlinks=True,
                    ignore=lambda d, names: [n for n in names if n in SKIP_STDLIB and Path(d) == STDLIB])
    site = root / DIST
    for package in THIRD_PARTY:
        shutil.copytree(_site_packages() / package, site / package, ignore=shutil.ignore_patterns("__pycache__"))
    (site / "dunebugger_units/remote").mkdir(parents=True)
    for module in CLIENT_MODULES:
        shutil.copy2(REPO / "dunebugger_units" / module, site / "dunebugger_units" / module)
    _copy(PYTHON, root)
    (root / "usr/bin/python3").symlink_to("python3.11")
    binaries = [PYTHON, *STDLIB.glob("lib-dynload/*.so"), *site.rglob("*.so")]
    for library in _libraries(binaries):
        _copy(library, root)
    (root / "app").mkdir()
    shutil.copy2(REPO / "tests/kits/remote_standin.py", root / STANDIN.lstrip("/"))
    # the image's own user, as in the dunebugger-remote app's image (useradd -r): uid 999, unknown to the host
    with (root / "etc/passwd").open("a") as passwd:
        passwd.write("appuser:x:999:999::/app:/bin/sh\n")


def rootfs_size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())
