"""A release's venv: `python -m venv` and pip, run as child processes with deadlines. Touches the world.

Both run as the owner of the install dir (`pi` on the device), never as root: pip runs the setup code of any
sdist among core's requirements, and that code gets pi's rights, not ours. The child gets no supplementary
groups and a fresh private HOME of its own (the unit's /tmp is private). The interpreter is the component's
`python` from the configuration, never one named by a file the app's user can edit.

pip: `pip_index_url` is passed as `--index-url`; `pip_find_links` as `--find-links`. Find-links without an
index URL means an offline device: pip then gets `--no-index` and never waits for PyPI.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..config import ComponentConfig
from ..errors import UnitsError

PIP_DEADLINE = 900.0
VENV_DEADLINE = 300.0
CHILD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LOW_SPACE_BYTES = 64 * 1024 * 1024


def pip_argv(python: Path, requirements: Path, index_url: str | None,
             find_links: tuple[str, ...]) -> list[str]:
    """Pure: pip's command line for a release's requirements."""
    argv = [str(python), "-m", "pip", "install", "--no-input", "--disable-pip-version-check",
            "--no-cache-dir", "--retries", "1", "--timeout", "30", "-r", str(requirements)]
    if index_url:
        argv += ["--index-url", index_url]
    elif find_links:
        argv.append("--no-index")
    for link in find_links:
        argv += ["--find-links", link]
    return argv


def why_failed(lines: list[str]) -> str:
    """Pure: the line that says why a child failed: an OS error (a full disk, say) beats pip's ERROR, beats
    the first line."""
    for found in ([ln for ln in lines if "No space left on device" in ln or "[Errno" in ln],
                  [ln for ln in lines if ln.startswith("ERROR")], lines):
        if found:
            return found[0]
    return "no output"


@dataclass(frozen=True)
class AsOwner:
    """Who a child runs as: the install dir's owner (uid, gid), with a HOME of its own."""

    uid: int
    gid: int
    home: Path


@contextlib.contextmanager
def as_owner(owner: tuple[int, int]) -> Iterator[AsOwner]:
    """A fresh, empty HOME that belongs to `owner`, removed afterwards (pip and venv write caches there)."""
    home = Path(tempfile.mkdtemp(prefix="dunebugger-units-home."))
    try:
        os.chown(home, *owner)
        yield AsOwner(owner[0], owner[1], home)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def run_child(argv: list[str], doing: str, deadline: float, where: Path, who: AsOwner) -> None:
    """Run one staging step as `who`; a failure says why, and says so when that disk is (nearly) full (a
    child such as ensurepip may swallow its own "No space left on device")."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=deadline, check=False,
                              cwd=where, user=who.uid, group=who.gid, extra_groups=[],
                              env={"PATH": CHILD_PATH, "LANG": "C.UTF-8", "HOME": str(who.home)})
    except subprocess.TimeoutExpired:
        raise UnitsError(f"{doing}: no result within {deadline:g} s") from None
    if done.returncode != 0:
        lines = [line.strip() for line in f"{done.stderr}\n{done.stdout}".splitlines() if line.strip()]
        why = why_failed(lines)[:300]
        with contextlib.suppress(OSError):
            st = os.statvfs(where)
            if st.f_bavail * st.f_frsize < LOW_SPACE_BYTES:
                why += f" (No space left on device: {st.f_bavail * st.f_frsize // 1024} KB free on {where})"
        raise UnitsError(f"{doing}: exited {done.returncode}: {why}")


def build_venv(component: ComponentConfig, release_dir: Path, owner: tuple[int, int],
               progress: Callable[[str], None]) -> None:
    """A fresh `.venv` in the release dir (built in place: its scripts name their own path), then pip; both
    as `owner`, who owns the release dir already."""
    progress("creating venv")
    with as_owner(owner) as who:
        run_child([component.python, "-m", "venv", str(release_dir / ".venv")],
                  f"creating the venv of {release_dir.name}", VENV_DEADLINE, release_dir, who)
        requirements = release_dir / "requirements.txt"
        if requirements.is_file():
            progress("installing requirements")
            argv = pip_argv(release_dir / ".venv/bin/python", requirements, component.pip_index_url,
                            component.pip_find_links)
            run_child(argv, f"installing the requirements of {release_dir.name}", PIP_DEADLINE, release_dir,
                      who)
