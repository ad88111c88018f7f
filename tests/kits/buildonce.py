"""What the tests build once per run and copy after: the test images' registry storage, core's venv.

Under pytest-xdist every worker would otherwise build its own. The run's workers share a dir (the parent of
their pytest temp dirs, named by DUNEBUGGER_TEST_SHARED, see tests/conftest.py) and take turns under a lock:
the first to need a thing builds it, the others wait and copy it. Without that variable (a plain pytest run,
scripts/demo.py) the dir is this process's own and goes when it exits.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import functools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

SHARED = "DUNEBUGGER_TEST_SHARED"


@functools.cache
def shared_dir() -> Path:
    named = os.environ.get(SHARED)
    if named:
        return Path(named)
    own = Path(tempfile.mkdtemp(prefix="dunebugger-units-build-"))
    atexit.register(shutil.rmtree, own, True)
    return own


@contextlib.contextmanager
def built(name: str) -> Iterator[tuple[Path, bool]]:
    """Hold the lock of `name`; yield where it is kept and whether it is there already. Whoever finds it
    missing builds it at that path (a dir, made whole or not at all: build into a temp name, then rename)."""
    base = shared_dir()
    base.mkdir(parents=True, exist_ok=True)
    with (base / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = base / name
        yield path, path.exists()


def kept(name: str) -> Path | None:
    """Where `name` is kept if it was built already (it appears whole, by a rename), else None; no waiting."""
    path = shared_dir() / name
    return path if path.exists() else None
