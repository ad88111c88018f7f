"""The hand-built 0.1.0 package that devices have: built from the commit that last shipped it, by that commit's
own scripts/build-deb.sh (dpkg-deb, with its libraries as wheels from PyPI). tests/system/test_package.py
upgrades from it to the package of this tree.

Built once per machine and kept in a cache dir; parallel test workers wait for one another.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OLD_VERSION = "0.1.0"
OLD_COMMIT = "94eb32da60dde193c9e8d50f2339a21fd5845652"  # the tree whose build-deb.sh made 0.1.0
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dunebugger-units" / "old-package"
BUILD_TIMEOUT = 900


def old_package() -> Path:
    """The 0.1.0 .deb for amd64, built on first use."""
    CACHE.mkdir(parents=True, exist_ok=True)
    deb = CACHE / f"dunebugger-units_{OLD_VERSION}_amd64.{OLD_COMMIT[:12]}.deb"
    with (CACHE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not deb.exists():
            _build(deb)
    return deb


def _build(deb: Path) -> None:
    have = subprocess.run(["git", "-C", str(REPO), "cat-file", "-e", f"{OLD_COMMIT}^{{commit}}"],
                          capture_output=True, check=False, timeout=60)
    assert have.returncode == 0, f"commit {OLD_COMMIT} (the 0.1.0 package's tree) is missing: fetch the full history"
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "src", Path(tmp) / "out"
        src.mkdir()
        archive = subprocess.run(["git", "-C", str(REPO), "archive", OLD_COMMIT], capture_output=True,
                                 check=True, timeout=120)
        subprocess.run(["tar", "-x", "-C", str(src)], input=archive.stdout, check=True, timeout=120)
        # Debian's python3 and pip, as that script expects; its wheel cache lives beside the built package.
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(Path.home()), "DEB_CACHE": str(CACHE / "wheels"),
               **{k: v for k, v in os.environ.items() if k.startswith("PIP_")}}
        result = subprocess.run(["bash", str(src / "scripts" / "build-deb.sh"), "amd64", str(out)], env=env,
                                capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False)
        assert result.returncode == 0, f"building the 0.1.0 package failed:\n{result.stderr[-4000:]}"
        built = Path(result.stdout.strip().splitlines()[-1])
        partial = deb.with_suffix(".part")
        partial.write_bytes(built.read_bytes())
        partial.rename(deb)
