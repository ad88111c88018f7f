"""The Linux plumbing under the harness: cgroup v2, namespaces (setns), processes and polling.

Nothing here knows about systemd or Docker; `machine.py` builds the throw-away systemd from these parts.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from .errors import CommandFailed, HarnessError

CLONE_NEWNET = 0x40000000

_T = TypeVar("_T")


# ---------------------------------------------------------------------------------------------------------
# cgroup v2


def cgroup2_root() -> Path:
    """Where the host mounts cgroup v2: /sys/fs/cgroup/unified on hybrid hosts, /sys/fs/cgroup on unified."""
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        fstype = fields[fields.index("-") + 1]
        if fstype == "cgroup2":
            return Path(fields[4])
    raise HarnessError("no cgroup2 mount on the host; the harness needs one (hybrid or unified)")


def own_cgroup2_dir() -> Path:
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        if line.startswith("0::"):
            return cgroup2_root() / line[3:].lstrip("/")
    raise HarnessError("this process has no cgroup v2 membership")


def _cgroup_dirs_bottom_up(top: Path) -> Iterator[Path]:
    for root, dirs, _files in os.walk(top, topdown=False):
        for d in dirs:
            yield Path(root) / d
    yield top


def remove_cgroup_tree(top: Path, deadline: float = 10.0) -> None:
    """rmdir the harness's cgroup tree; processes of the dead pid namespace may need a moment to go."""
    if not top.exists():
        return
    end = time.monotonic() + deadline
    while True:
        busy = []
        for cg in _cgroup_dirs_bottom_up(top):
            try:
                cg.rmdir()
            except FileNotFoundError:
                pass
            except OSError as exc:
                if exc.errno != errno.EBUSY:
                    raise
                busy.append(cg)
        if not top.exists():
            return
        if time.monotonic() > end:
            raise HarnessError(f"could not remove cgroup {top}: still busy {busy}")
        kill_file = top / "cgroup.kill"
        if kill_file.exists():
            with contextlib.suppress(OSError):
                kill_file.write_text("1")
        time.sleep(0.05)


# ---------------------------------------------------------------------------------------------------------
# namespaces


def _libc_setns(fd: int, nstype: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, nstype) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


def in_netns(pid: int, action: Callable[[], _T]) -> _T:
    """Run action() in a short-lived thread that has joined the network namespace of `pid`.

    setns(CLONE_NEWNET) changes only the calling thread (Python 3.11 has no os.setns), and a socket keeps
    the namespace it was created in: so sockets made here live in the harness's network after the thread ends.
    """
    box: dict[str, Any] = {}

    def body() -> None:
        try:
            fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
            try:
                _libc_setns(fd, CLONE_NEWNET)
            finally:
                os.close(fd)
            box["result"] = action()
        except BaseException as exc:  # re-raised in the caller's thread below
            box["error"] = exc

    thread = threading.Thread(target=body, name=f"netns-{pid}", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["result"]  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------------------------
# processes


def run_killing_group(
    argv: Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None,
    input: str | bytes | None = None,  # named as in subprocess.run
    stdin: Any = None,
    text: bool = True,
) -> subprocess.CompletedProcess[Any]:
    """subprocess.run, but a timeout kills the whole process group.

    nsenter --pid forks, so killing nsenter alone would leave its child running inside the harness.
    """
    with subprocess.Popen(
        list(argv),
        stdin=subprocess.PIPE if input is not None else (stdin if stdin is not None else subprocess.DEVNULL),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(env) if env is not None else None,
        text=text,
        start_new_session=True,
    ) as proc:
        try:
            out, err = proc.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            raise CommandFailed(argv, None, as_text(out), as_text(err)) from None
        return subprocess.CompletedProcess(list(argv), proc.returncode, out, err)


def as_text(data: str | bytes | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode(errors="replace")


def only_child(pid: int) -> int:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0
    return int(children[0]) if children else 0


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def wait_for(
    predicate: Callable[[], _T], timeout: float, what: str, interval: float = 0.05, max_interval: float | None = None
) -> _T:
    """Poll until predicate() returns something truthy and return it; raise TimeoutError naming `what`.

    The pause starts at `interval` and grows by half after each miss up to `max_interval` (default: it stays
    at `interval`): a predicate that runs a program inside a harness costs CPU, and a long wait for one would
    otherwise keep a core busy.
    """
    deadline = time.monotonic() + timeout
    pause, longest = interval, interval if max_interval is None else max_interval
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(pause)
        pause = min(pause * 1.5, longest)
