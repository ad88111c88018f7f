"""A release's venv: `python -m venv` and pip, run as child processes with deadlines. Touches the world.

Both run as the owner of the install dir (`pi` on the device), never as root: pip runs the setup code of any
sdist among core's requirements, and that code gets pi's rights, not ours. systemd makes the switch: each
child is a transient service (`systemd-run --wait --pipe`) with that user, so the update units need no
CAP_SETUID of their own, and the child is fenced in further than pi ever is: it may write only the release
dir, never reaches the docker socket (pi is in the docker group on a device: that would be root), gains no
privileges (sudo), and gets a private /tmp as its HOME. The interpreter is the component's `python` from the
configuration, never one named by a file the app's user can edit.

pip: `pip_index_url` is passed as `--index-url`; `pip_find_links` as `--find-links`. Find-links without an
index URL means an offline device: pip then gets `--no-index` and never waits for PyPI.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Callable
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


def as_owner(argv: list[str], owner: tuple[int, int], where: Path, deadline: float) -> list[str]:
    """Pure: `argv` as a fenced transient service of `owner`, started and waited for by systemd."""
    uid, gid = owner
    fence = ["NoNewPrivileges=yes", "PrivateTmp=yes", "PrivateDevices=yes", "ProtectSystem=strict",
             "ProtectHome=yes", f"ReadWritePaths={where}", "RestrictSUIDSGID=yes",
             "InaccessiblePaths=-/run/docker.sock", "InaccessiblePaths=-/run/containerd",
             f"RuntimeMaxSec={max(1, int(deadline))}"]
    return ["systemd-run", "--quiet", "--wait", "--pipe", "--collect", "--service-type=exec",
            f"--uid={uid}", f"--gid={gid}", f"--working-directory={where}",
            "--setenv=HOME=/tmp", f"--setenv=PATH={CHILD_PATH}", "--setenv=LANG=C.UTF-8",
            *(arg for prop in fence for arg in ("-p", prop)), "--", *argv]


def run_child(argv: list[str], doing: str, deadline: float, where: Path, owner: tuple[int, int]) -> None:
    """Run one staging step as `owner`; a failure says why, and says so when that disk is (nearly) full (a
    child such as ensurepip may swallow its own "No space left on device")."""
    try:
        # a little longer than the service's own RuntimeMaxSec=, so that systemd ends it first
        done = subprocess.run(as_owner(argv, owner, where, deadline), capture_output=True, text=True,
                              timeout=deadline + 30, check=False, env={"PATH": CHILD_PATH, "LANG": "C.UTF-8"})
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
    run_child([component.python, "-m", "venv", str(release_dir / ".venv")],
              f"creating the venv of {release_dir.name}", VENV_DEADLINE, release_dir, owner)
    requirements = release_dir / "requirements.txt"
    if requirements.is_file():
        progress("installing requirements")
        argv = pip_argv(release_dir / ".venv/bin/python", requirements, component.pip_index_url,
                        component.pip_find_links)
        run_child(argv, f"installing the requirements of {release_dir.name}", PIP_DEADLINE, release_dir, owner)
