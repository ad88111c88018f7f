"""A release's venv: `python -m venv` and pip, run as child processes with deadlines. Touches the world.

Both run as the component's owner (`pi` on the device: kinds/owner.py), never as root: pip runs the setup code
of any sdist among core's requirements, and that code gets pi's rights, not ours; so does every copy into a
tree pi can change (kinds/owner_child.py). Every interpreter runs with `-I` from root's working directory
`/`: `python -m venv` run from a release dir would import a `venv.py` the release ships. systemd makes the switch: each
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
import contextvars
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from ..config import ComponentConfig
from ..errors import UnitsError
from ..files import read_nofollow
from ..redact import redact_credentials

PIP_DEADLINE = 900.0
VENV_DEADLINE = 300.0
CHILD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LOW_SPACE_BYTES = 64 * 1024 * 1024
MAX_REQUIREMENTS = 1024 * 1024
BACKUP_DEADLINE = 600.0
OWNER_CHILD = Path(__file__).with_name("owner_child.py")
# The priority of a preparation ahead (units/dunebugger-prepare.service): each child is a transient service of
# its own, outside the preparing unit's cgroup, so it is given the same settings; and it is stopped with that
# unit, or ends when it dies (an update stops the preparation: no pip may go on writing into a release dir).
LOW_PRIORITY = ("Nice=19", "CPUWeight=1", "IOWeight=1", "IOSchedulingClass=idle",
                "BindsTo=dunebugger-prepare.service")
_child_priority: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("child_priority", default=())


@contextlib.contextmanager
def low_priority_children() -> Iterator[None]:
    """Every child started within runs at the priority of a preparation ahead."""
    token = _child_priority.set(LOW_PRIORITY)
    try:
        yield
    finally:
        _child_priority.reset(token)


def pip_argv(python: Path, requirements: Path, index_url: str | None,
             find_links: tuple[str, ...]) -> list[str]:
    """Pure: pip's command line for a release's requirements."""
    argv = [str(python), "-I", "-m", "pip", "install", "--no-input", "--disable-pip-version-check",
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
    a traceback's last line, beats the first line."""
    traceback_end = lines[-1:] if "Traceback (most recent call last):" in lines else []
    for found in ([ln for ln in lines if "No space left on device" in ln or "[Errno" in ln],
                  [ln for ln in lines if ln.startswith("ERROR")], traceback_end, lines):
        if found:
            return found[0]
    return "no output"


def as_owner(argv: list[str], owner: tuple[int, int], where: Path, deadline: float) -> list[str]:
    """Pure: `argv` as a fenced transient service of `owner`, started and waited for by systemd, that may
    write only `where`; its working directory is root's `/`, never a dir the owner can fill."""
    uid, gid = owner
    fence = ["NoNewPrivileges=yes", "PrivateTmp=yes", "PrivateDevices=yes", "ProtectSystem=strict",
             "ProtectHome=yes", f"ReadWritePaths={where}", "RestrictSUIDSGID=yes",
             "InaccessiblePaths=-/run/docker.sock", "InaccessiblePaths=-/run/containerd",
             f"RuntimeMaxSec={max(1, int(deadline))}", *_child_priority.get()]
    return ["systemd-run", "--quiet", "--wait", "--pipe", "--collect", "--service-type=exec",
            f"--uid={uid}", f"--gid={gid}", "--working-directory=/",
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
        why = redact_credentials(why_failed(lines))[:300]
        with contextlib.suppress(OSError):
            st = os.statvfs(where)
            if st.f_bavail * st.f_frsize < LOW_SPACE_BYTES:
                why += f" (No space left on device: {st.f_bavail * st.f_frsize // 1024} KB free on {where})"
        raise UnitsError(f"{doing}: exited {done.returncode}: {why}")


def stream_as_owner(  # noqa: PLR0913, PLR0917  # run_child's arguments, and where the output goes
    args: list[str], doing: str, deadline: float, where: Path, owner: tuple[int, int], out: BinaryIO,
) -> None:
    """owner_child.py `args` as `owner`, its standard output written to `out` (root reads only the pipe)."""
    argv = as_owner([sys.executable, "-I", str(OWNER_CHILD), *args], owner, where, deadline)
    try:
        done = subprocess.run(argv, stdout=out, stderr=subprocess.PIPE, timeout=deadline + 30, check=False,
                              env={"PATH": CHILD_PATH, "LANG": "C.UTF-8"})
    except subprocess.TimeoutExpired:
        raise UnitsError(f"{doing}: no result within {deadline:g} s") from None
    if done.returncode != 0:
        lines = [ln.strip() for ln in done.stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
        raise UnitsError(f"{doing}: exited {done.returncode}: {why_failed(lines)[:300]}")


def build_venv(component: ComponentConfig, release_dir: Path, owner: tuple[int, int],
               progress: Callable[[str], None]) -> None:
    """A fresh `.venv` in the release dir (built in place: its scripts name their own path), then pip; both
    as `owner`, who owns the release dir already."""
    progress("creating venv")
    run_child([component.python, "-I", "-m", "venv", str(release_dir / ".venv")],
              f"creating the venv of {release_dir.name}", VENV_DEADLINE, release_dir, owner)
    requirements = release_dir / "requirements.txt"
    if requirements.is_file():
        progress("installing requirements")
        argv = pip_argv(release_dir / ".venv/bin/python", requirements, component.pip_index_url,
                        component.pip_find_links)
        # pip writes its log in the release dir: the only place its fenced service may write
        with pip_progress(requirements, release_dir / ".pip-progress.log", progress) as log:
            run_child([*argv, "--log", str(log)], f"installing the requirements of {release_dir.name}",
                      PIP_DEADLINE, release_dir, owner)


@contextlib.contextmanager
def pip_progress(requirements: Path, log: Path, progress: Callable[[str], None]) -> Iterator[Path]:
    """A log file for pip's `--log` (pip makes it), read while pip runs: its lines become "installing
    requirements NN%"."""
    from ..progress import every_tenth, pip_percent

    count = sum(1 for line in requirements.read_text(encoding="utf-8", errors="replace").splitlines()
                if line.strip() and not line.lstrip().startswith(("#", "-")))
    on_percent = every_tenth(progress, "installing requirements")
    log.unlink(missing_ok=True)
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.5):
            with contextlib.suppress(OSError):
                lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
                if (percent := pip_percent(lines, count)) is not None:
                    on_percent(percent)

    watcher = threading.Thread(target=watch, name="pip-progress", daemon=True)
    watcher.start()
    try:
        yield log
    finally:
        done.set()
        watcher.join()
        log.unlink(missing_ok=True)


# ---- cheap updates: requirements unchanged -> the previous release's installed packages, no pip -------------

LOCAL_REQUIREMENT = ("-e", "--editable", ".", "/", "file:", "-r", "--requirement", "-c", "--constraint")


def can_reuse_venv(old_requirements: bytes | None, new_requirements: bytes | None, old_site: Path | None,
                   new_site_name: str) -> bool:
    """Pure: the previous release's packages serve the new one when its requirements are byte-identical, name
    nothing local (an editable or path install points into the old release; an included file may differ), and
    the new venv's Python is the same (its site-packages dir has the same `lib/pythonX.Y` name)."""
    if old_requirements is None or new_requirements is None or old_site is None:
        return False
    if old_requirements != new_requirements or old_site.parent.name != new_site_name:
        return False
    for raw in new_requirements.decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if line and not line.startswith("#") and (line.startswith(LOCAL_REQUIREMENT) or "@ file:" in line):
            return False
    return True


def site_packages(venv: Path) -> Path | None:
    found = sorted(venv.glob("lib/python3*/site-packages"))
    return found[0] if found else None


def reuse_venv(  # noqa: PLR0913, PLR0917  # the two releases, the interpreter, who builds, how to say so
    old_dir: Path, new_dir: Path, python: Path, owner: tuple[int, int], progress: Callable[[str], None],
    old_version: str,
) -> bool:
    """Build the new release's own `.venv` from the old release's installed packages when `can_reuse_venv`
    says it may; returns False (and builds nothing) when it may not. Root only reads the two requirements
    files (through no link) and decides; the owner's fenced child makes the venv and copies into it, and may
    write both releases' parent so that its copies can be hard links."""
    old_venv, new_venv = old_dir / ".venv", new_dir / ".venv"
    old_site = site_packages(old_venv)
    if not can_reuse_venv(_read(old_dir / "requirements.txt"), _read(new_dir / "requirements.txt"), old_site,
                          (_python_dir_name(python) or "") if old_site is not None else ""):
        return False
    assert old_site is not None  # can_reuse_venv checked it, for mypy
    progress(f"reusing the venv of {old_version} (requirements unchanged)")
    run_child([str(python), "-I", "-m", "venv", "--without-pip", str(new_venv)],
              f"creating the venv of {new_dir.name}", VENV_DEADLINE, new_dir, owner)
    shared = Path(os.path.commonpath([old_dir, new_dir]))
    run_child([str(python), "-I", str(OWNER_CHILD), "venv", str(old_venv), str(new_venv),
               f"lib/{old_site.parent.name}/site-packages"], f"copying the packages of {old_version}",
              VENV_DEADLINE, shared if shared != Path("/") else new_dir, owner)
    return True


def carry_settings(running: Path, new: Path, config_paths: tuple[str, ...], owner: tuple[int, int]) -> None:
    """The device's settings over the new release's defaults, copied by the owner's fenced child (see
    owner_child.copy_settings). Run again just before the switch, so that an edit made while the release was
    staging is not lost."""
    run_child([sys.executable, "-I", str(OWNER_CHILD), "settings", str(running), str(new), *config_paths],
              f"copying the settings of {running.name} into {new.name}", VENV_DEADLINE, new, owner)


def _read(path: Path) -> bytes | None:
    try:
        return read_nofollow(path, MAX_REQUIREMENTS)
    except OSError:
        return None


def _python_dir_name(python: Path) -> str | None:
    """`pythonX.Y` of an interpreter, asked once (a child: the updater's own Python may differ)."""
    try:
        done = subprocess.run([str(python), "-I", "-c", "import sys; print('python%d.%d' % sys.version_info[:2])"],
                              capture_output=True, text=True, timeout=30, check=False, cwd="/",
                              env={"PATH": CHILD_PATH, "LANG": "C.UTF-8"})
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None
