"""The machine: one throw-away systemd booted as PID 1 of private namespaces, and what a test does with it.

Boot, poweroff, kill (a power cut), run commands inside, the journal, paths and files inside, sockets in its
network. Docker and the test images are in `images.py`; cgroups, namespaces and processes in `plumbing.py`.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from . import images
from .errors import INSTALL_HINT, CommandFailed, HarnessError
from .images import DOCKER_DEADLINE
from .plumbing import (
    cgroup2_root,
    comm,
    in_netns,
    only_child,
    own_cgroup2_dir,
    remove_cgroup_tree,
    run_killing_group,
    wait_for,
)

INIT_SCRIPT = Path(__file__).with_name("init.sh")
HARNESS_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
BOOT_DEADLINE = 20.0
POWEROFF_DEADLINE = 20.0
# Longest pause between two polls of `Harness.wait_for`: each poll runs a program inside (nsenter + systemctl,
# curl, docker or the Python CLI), and 20 polls a second over a long wait keep a core busy.
WAIT_MAX_INTERVAL = 0.4

_T = TypeVar("_T")


def missing_dependencies() -> list[str]:
    """What the system tests need from the machine and cannot find; empty when all is there."""
    missing = [] if os.geteuid() == 0 else ["root (the harness mounts and unshares)"]
    for exe in (
        "/lib/systemd/systemd", "/usr/bin/dbus-daemon", "/usr/bin/unshare", "/usr/bin/nsenter",
        "/usr/bin/setsid", "/usr/sbin/ip", "/usr/sbin/dockerd", "/usr/bin/docker", "/usr/bin/containerd",
        "/usr/bin/docker-registry", "/usr/bin/docker-init", "/bin/busybox", "/usr/bin/curl",
        "/usr/local/lib/docker/cli-plugins/docker-compose",
        "/usr/local/lib/dunebugger-units/venv/bin/python",
    ):  # fmt: skip
        if not os.access(exe, os.X_OK):
            missing.append(exe)
    try:
        cgroup2_root()
    except HarnessError as exc:
        missing.append(str(exc))
    return missing


class Harness:
    """One booted throw-away systemd. Create it with `Harness.boot(...)`; use it as a context manager."""

    def __init__(self, name: str, workdir: Path, launcher: subprocess.Popen[bytes], cgroup: Path) -> None:
        self.name = name
        self.workdir = workdir
        self.cgroup = cgroup
        self._launcher = launcher
        self.pid = 0  # host PID of the harness's PID 1, set once it has appeared
        self._sockets: list[socket.socket] = []
        self._servers: list[http.server.HTTPServer] = []
        self.timings: dict[str, float] = {}

    # -- lifecycle -------------------------------------------------------------------------------------

    @classmethod
    def boot(
        cls,
        workdir: Path,
        *,
        binds: Mapping[str, Path] | None = None,
        overlays: Sequence[str] = ("/etc", "/var", "/usr", "/opt"),
        docker: bool = False,
        docker_data: Path | None = None,
        docker_seed: Path | None = None,
        allow_degraded: bool = False,
    ) -> Harness:
        """Boot systemd in fresh namespaces and wait until it is running.

        Overlay upper dirs live under `workdir` on the real disk: booting again on the same workdir (and
        binds) after `kill()` shows what survived a power cut. `binds` maps an absolute path inside to a
        host dir; `docker_data` keeps /var/lib/docker on disk (otherwise it is a tmpfs, which starts as a copy of
        `docker_seed` when given: a data root saved while its dockerd was stopped). A boot that ends
        `degraded` (a unit failed) raises, unless `allow_degraded`: a test may boot a device on purpose
        with a unit that fails at boot.
        """
        missing = missing_dependencies()
        if missing:
            raise HarnessError(f"missing {', '.join(missing)}; {INSTALL_HINT}")
        binds = dict(binds or {})
        if docker_data is not None:
            binds["/var/lib/docker"] = docker_data
        _check_binds(binds, overlays)
        workdir.mkdir(parents=True, exist_ok=True)
        name = f"harness-{uuid.uuid4().hex[:12]}"
        cgroup = cgroup2_root() / name
        cgroup.mkdir()
        started = time.monotonic()
        try:
            launcher = _launch(name, workdir, cgroup, overlays, binds)
        except BaseException:
            cgroup.rmdir()
            raise
        harness = cls(name, workdir, launcher, cgroup)
        try:
            harness._wait_for_pid1()
            harness._wait_until_running(allow_degraded)
            harness.timings["boot"] = time.monotonic() - started
            if docker:
                harness.start_docker(seed=docker_seed)
        except BaseException:
            harness.kill()
            raise
        return harness

    def poweroff(self, deadline: float = POWEROFF_DEADLINE) -> None:
        """Shut down cleanly (`systemctl poweroff` inside); SIGKILL PID 1 if it takes longer than deadline."""
        if self.alive and self.pid:
            started = time.monotonic()
            # The manager goes away under our feet: the call's own result means nothing.
            with contextlib.suppress(CommandFailed):
                self.run(["systemctl", "--no-block", "poweroff"], check=False, timeout=10)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._launcher.wait(timeout=deadline)
                self.timings["poweroff"] = time.monotonic() - started
        self._sigkill_pid1()  # no-op once it is down; otherwise the deadline passed
        self._cleanup()

    def kill(self) -> None:
        """Simulate a power cut: SIGKILL PID 1 now. Overlay upper dirs and bind-mounted dirs stay on disk."""
        self._sigkill_pid1()
        self._cleanup()

    def __enter__(self) -> Harness:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.poweroff()

    @property
    def alive(self) -> bool:
        return self._launcher.poll() is None

    # -- running things inside -------------------------------------------------------------------------

    def nsenter_argv(self) -> list[str]:
        """The argv prefix that enters all of the harness's namespaces and its root."""
        return [
            "nsenter", f"--target={self.pid}", "--mount", "--uts", "--ipc", "--net", "--pid", "--cgroup",
            "--root", "--wd=/",
        ]  # fmt: skip

    def inside_env(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        """The clean environment commands run with inside, plus `extra`."""
        env = {
            "PATH": HARNESS_PATH, "LANG": "C.UTF-8", "HOME": "/root", "TERM": "dumb",
            "SYSTEMD_PAGER": "", "SYSTEMD_COLORS": "0",
        }  # fmt: skip
        env.update(extra or {})
        return env

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float = 60,
        check: bool = True,
        env: Mapping[str, str] | None = None,
        input: str | None = None,  # named as in subprocess.run
        user: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run argv inside the harness (as `user` if given) with a clean environment and a timeout."""
        if isinstance(argv, str):
            raise TypeError("Harness.run takes an argv list, not a shell string")
        full = self.nsenter_argv()
        if user is not None:
            # runuser resets HOME/USER/LOGNAME/SHELL for the user and keeps the rest of our env.
            full += ["runuser", "-u", user, "--"]
        full += list(argv)
        result = run_killing_group(full, timeout=timeout, env=self.inside_env(env), input=input)
        result.args = list(argv)
        if check and result.returncode != 0:
            raise CommandFailed(argv, result.returncode, result.stdout, result.stderr)
        return result

    def systemctl(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return self.run(["systemctl", "--no-pager", *args], check=check, timeout=timeout)

    def journal(self, *matches: str, unit: str | None = None, timeout: float = 30) -> list[dict[str, Any]]:
        """Journal entries (journalctl -o json) matching FIELD=value `matches` and/or `unit`."""
        self.run(["journalctl", "--sync"], timeout=timeout)
        argv = ["journalctl", "-o", "json", "--no-pager"]
        if unit is not None:
            argv += ["--unit", unit]
        result = self.run([*argv, *matches], timeout=timeout, check=False)
        if result.returncode not in (0, 1):  # 1: no entries, on some versions
            raise CommandFailed(argv, result.returncode, result.stdout, result.stderr)
        return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]

    def journal_messages(self, *matches: str, unit: str | None = None) -> list[str]:
        """Just the MESSAGE fields of `journal(...)`, decoded (journald stores some as byte arrays)."""
        return [_message_text(entry.get("MESSAGE")) for entry in self.journal(*matches, unit=unit)]

    def path(self, inside: str) -> Path:
        """The host path that reaches `inside` (through /proc/PID/root: the harness's mounts apply)."""
        if not inside.startswith("/"):
            raise ValueError(f"harness paths are absolute: {inside!r}")
        return Path(f"/proc/{self.pid}/root") / inside.lstrip("/")

    def write_file(self, inside: str, content: str | bytes, mode: int = 0o644) -> Path:
        target = self.path(inside)
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
        target.chmod(mode)
        return target

    def install_units(self, src_dir: Path, names: Sequence[str] | None = None) -> list[str]:
        """Copy unit files (all files in src_dir, or `names`) into /etc/systemd/system and daemon-reload."""
        chosen = list(names) if names is not None else sorted(p.name for p in src_dir.iterdir() if p.is_file())
        for unit in chosen:
            self.write_file(f"/etc/systemd/system/{unit}", (src_dir / unit).read_bytes())
        self.systemctl("daemon-reload")
        return chosen

    def wait_for(self, predicate: Callable[[], _T], timeout: float, what: str) -> _T:
        """Poll `predicate` every 50 ms at first, backing off to every WAIT_MAX_INTERVAL s (it runs programs)."""
        return wait_for(predicate, timeout, what, max_interval=WAIT_MAX_INTERVAL)

    def wait_until_inactive(self, unit: str, timeout: float = 30) -> str:
        """Wait until a unit has finished (inactive or failed); return its final ActiveState."""

        def finished() -> str:
            state = self.systemctl("show", "-P", "ActiveState", unit).stdout.strip()
            return state if state in ("inactive", "failed") else ""

        return self.wait_for(finished, timeout, f"{unit} to finish")

    # -- networking ------------------------------------------------------------------------------------

    def listen_tcp(self, port: int = 0) -> socket.socket:
        """A listening TCP socket on 127.0.0.1 in the harness's network namespace, owned by this process."""

        def make() -> socket.socket:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", port))
            sock.listen(64)
            return sock

        sock = in_netns(self.pid, make)
        self._sockets.append(sock)
        return sock

    def connect_tcp(self, port: int, timeout: float = 5) -> socket.socket:
        """A TCP connection from this process to 127.0.0.1:port inside the harness."""
        sock = in_netns(self.pid, lambda: socket.create_connection(("127.0.0.1", port), timeout=timeout))
        self._sockets.append(sock)
        return sock

    def serve_http(
        self, handler: type[http.server.BaseHTTPRequestHandler], port: int = 0
    ) -> http.server.ThreadingHTTPServer:
        """Serve HTTP from a host thread on 127.0.0.1:port inside the harness; stopped at teardown."""
        sock = self.listen_tcp(port)
        server = http.server.ThreadingHTTPServer(sock.getsockname(), handler, bind_and_activate=False)
        server.socket.close()
        server.socket = sock
        server.server_address = sock.getsockname()
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, name=f"http-{self.name}", daemon=True).start()
        self._servers.append(server)
        return server

    # -- docker (images.py) ----------------------------------------------------------------------------

    def start_docker(self, deadline: float = DOCKER_DEADLINE, seed: Path | None = None) -> None:
        """Start the real dockerd and a no-auth registry on REGISTRY inside; wait until both answer. A `seed`
        (see `boot`) is copied into an empty data root first."""
        images.start_docker(self, deadline, seed)

    def docker(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(["docker", *args], timeout=timeout, check=check)

    def import_image(self, ref: str, rootfs: Path, cmd: Sequence[str], *, push: bool = True) -> str:
        """`tar -C rootfs -c . | docker import -c 'CMD [...]' - ref`, piped here, then push; return the ID."""
        return images.import_image(self, ref, rootfs, cmd, push=push)

    # -- internals -------------------------------------------------------------------------------------

    def _wait_for_pid1(self) -> None:
        def systemd_pid() -> int:
            if self._launcher.poll() is not None:
                raise HarnessError(f"the harness init exited {self._launcher.returncode}:\n{self._console_tail()}")
            child = only_child(self._launcher.pid)
            if child and comm(child) == "systemd":
                return child
            return 0

        self.pid = wait_for(systemd_pid, BOOT_DEADLINE, "systemd to start as PID 1 of the harness", 0.01)
        # cgroup v2 "no internal processes": the launcher (unshare, waiting for its child) must not stay in
        # the cgroup systemd now owns. Back to where we came from.
        with contextlib.suppress(ProcessLookupError, OSError):
            (own_cgroup2_dir() / "cgroup.procs").write_text(str(self._launcher.pid))

    def _wait_until_running(self, allow_degraded: bool) -> None:
        deadline = time.monotonic() + BOOT_DEADLINE
        state = ""
        while time.monotonic() < deadline:
            if self._launcher.poll() is not None:
                raise HarnessError(f"systemd exited {self._launcher.returncode} during boot:\n{self._console_tail()}")
            # --wait answers once the boot is over: one call, where polling took one every 20 ms
            try:
                state = self.run(["systemctl", "is-system-running", "--wait"], check=False,
                                 timeout=max(1.0, deadline - time.monotonic())).stdout.strip()
            except CommandFailed:  # its timeout: still starting at the deadline
                continue
            if state == "running" or (state == "degraded" and allow_degraded):
                return
            if state == "degraded":
                failed = self.systemctl("list-units", "--failed", "--no-legend", "--plain").stdout
                raise HarnessError(f"harness booted degraded; failed units:\n{failed}\n{self._journal_tail()}")
            time.sleep(0.02)
        raise HarnessError(
            f"harness not running after {BOOT_DEADLINE:g} s (state {state!r}); jobs:\n"
            f"{self.systemctl('list-jobs', check=False).stdout}\n{self._journal_tail()}"
        )

    def _journal_tail(self, lines: int = 60) -> str:
        try:
            result = self.run(["journalctl", "--no-pager", "-n", str(lines)], check=False, timeout=10)
            return f"--- journal tail ---\n{result.stdout}{result.stderr}"
        except HarnessError as exc:
            return f"--- journal unavailable: {exc} ---\n{self._console_tail()}"

    def _console_tail(self, chars: int = 4000) -> str:
        console = self.workdir / f"{self.name}.console.log"
        text = console.read_text(errors="replace") if console.exists() else ""
        return f"--- console ---\n{text[-chars:]}"

    def _sigkill_pid1(self) -> None:
        if self._launcher.poll() is None:
            target = self.pid or only_child(self._launcher.pid)
            with contextlib.suppress(ProcessLookupError):
                if target:
                    os.kill(target, signal.SIGKILL)
                else:
                    self._launcher.kill()
            try:
                self._launcher.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._launcher.kill()
                self._launcher.wait(timeout=10)

    def _cleanup(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()
        for sock in self._sockets:
            sock.close()
        self._sockets.clear()
        remove_cgroup_tree(self.cgroup)


def _message_text(message: Any) -> str:
    if isinstance(message, list):
        return bytes(message).decode(errors="replace")
    return "" if message is None else str(message)


def _check_binds(binds: Mapping[str, Path], overlays: Sequence[str]) -> None:
    """A bind target is created if missing: only inside an overlay, never on the host's own disk."""
    for inside, host in binds.items():
        if not inside.startswith("/"):
            raise ValueError(f"bind target must be absolute: {inside!r}")
        if not Path(host).is_dir():
            raise ValueError(f"bind source {host} (for {inside}) is not a directory")
        under_overlay = any(inside == o or inside.startswith(o.rstrip("/") + "/") for o in overlays)
        if not under_overlay and not Path(inside).is_dir():
            raise ValueError(f"bind target {inside} is neither under an overlay {tuple(overlays)} nor an existing dir")


def _launch(
    name: str, workdir: Path, cgroup: Path, overlays: Sequence[str], binds: Mapping[str, Path]
) -> subprocess.Popen[bytes]:
    env = {
        "PATH": HARNESS_PATH,
        "LANG": "C.UTF-8",
        "HARNESS_NAME": name,
        "HARNESS_CGROUP": str(cgroup),
        "HARNESS_WORKDIR": str(workdir.resolve()),
        "HARNESS_OVERLAYS": "\n".join(overlays),
        "HARNESS_BINDS": "\n".join(f"{inside}\t{Path(host).resolve()}" for inside, host in binds.items()),
    }
    console = (workdir / f"{name}.console.log").open("ab")
    with console:
        return subprocess.Popen(
            ["/bin/bash", str(INIT_SCRIPT), "launch"],
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
            env=env,
            close_fds=True,
        )
