"""The host side of the remote's file protocol: what dunebugger-remote-requests.service runs (as root) when its
.path unit sees a request file. It answers every request, then exits: no daemon runs between requests.

Gather (the requests dir, read without following anything), decide (fileproto.py, pure), act (start our unit
with mode "replace" through systemd.py and follow it to its recorded result), report (status files, journal).

The remote may write in the requests and status dirs, so every access goes through descriptors of those two
dirs: entries are opened with O_NOFOLLOW, status files are written under an O_EXCL|O_NOFOLLOW temp name and
renamed into place, and no path is built from a request_id that fileproto.valid_id did not accept.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import shutil
import stat
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .. import journal, state
from ..config import Config, validate_instance
from ..errors import UnitsError
from ..phases.run import now_iso as results_time  # the results' clock: UTC, microseconds
from ..systemd import Systemd, SystemdError
from ..versions import UNKNOWN
from . import fileproto as fp
from .fileproto import Request, Verdict

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
POLL = 0.2
UPDATE_DEADLINE = 20 * 60.0 + 60  # dunebugger-update@'s TimeoutStartSec=, and a minute to record
ROLLBACK_DEADLINE = 10 * 60.0 + 60  # dunebugger-rollback@'s
HANDOVER_GRACE = 1.0


def now_iso() -> str:
    """The coordinator's timestamp: local time with its offset (`date -Iseconds`)."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


@dataclass
class Dirs:
    """Descriptors of the requests and status dirs, opened once without following a link."""

    root: Path
    requests: int
    status: int

    @classmethod
    def open(cls, root: Path) -> Dirs:
        top = os.open(root, DIR_FLAGS)
        try:
            requests = os.open("requests", DIR_FLAGS, dir_fd=top)
            try:
                status = os.open("status", DIR_FLAGS, dir_fd=top)
            except BaseException:
                os.close(requests)
                raise
        finally:
            os.close(top)
        return cls(root, requests, status)

    def close(self) -> None:
        os.close(self.requests)
        os.close(self.status)


# ---- reading the requests dir -------------------------------------------------------------------------------

ENTRY_TYPES = {stat.S_IFREG: "file", stat.S_IFLNK: "symlink", stat.S_IFIFO: "fifo", stat.S_IFDIR: "directory"}


def judge_entry(dirs: Dirs, name: str) -> Verdict:
    try:
        st = os.stat(name, dir_fd=dirs.requests, follow_symlinks=False)
    except FileNotFoundError:
        return Verdict("gone")
    entry = ENTRY_TYPES.get(stat.S_IFMT(st.st_mode), "special file")
    data = b""
    if entry == "file":
        try:
            data = read_request(dirs, name)
        except FileNotFoundError:
            return Verdict("gone")
        except OSError as exc:  # swapped for a link or a FIFO since the lstat
            entry = "symlink" if exc.errno == errno.ELOOP else f"file that cannot be read ({exc.strerror})"
    return fp.parse_request(name, entry, data, time.time() - st.st_mtime)


def read_request(dirs: Dirs, name: str) -> bytes:
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dirs.requests)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        return handle.read(fp.MAX_REQUEST_BYTES + 1)


def remove_request(dirs: Dirs, name: str) -> None:
    """Whatever the entry is, it goes: a request left in the dir would start the .path unit again and again."""
    try:
        if stat.S_ISDIR(os.stat(name, dir_fd=dirs.requests, follow_symlinks=False).st_mode):
            shutil.rmtree(name, dir_fd=dirs.requests)  # fd-based: never follows a link inside
        else:
            os.unlink(name, dir_fd=dirs.requests)
    except FileNotFoundError:
        pass
    except OSError as exc:  # serve() gives up on it, so the .path unit does not loop on it for long
        journal.event(f"removing request file {fp.short(name)}: {exc.strerror}", journal.Priority.ERR,
                      request_file=fp.short(name))


def scan(dirs: Dirs, skip: str | None = None) -> list[tuple[str, Verdict]]:
    """Every entry but `skip`, the oldest first (the order the remote wrote them)."""
    entries = []
    for name in os.listdir(dirs.requests):
        if name == skip:
            continue
        try:
            mtime = os.stat(name, dir_fd=dirs.requests, follow_symlinks=False).st_mtime_ns
        except FileNotFoundError:
            continue
        entries.append((mtime, name))
    return [(name, judge_entry(dirs, name)) for _mtime, name in sorted(entries)]


# ---- writing status files -------------------------------------------------------------------------------------

def write_status(dirs: Dirs, record: dict[str, Any]) -> None:
    """Atomically: an O_EXCL|O_NOFOLLOW temp file in the status dir, fsynced, renamed over `<request_id>.json`
    (the rename replaces whatever entry is there, a link included, and follows none)."""
    name = f"{record['request_id']}.json"  # the id passed fileproto.valid_id
    data = json.dumps(record, indent=2).encode() + b"\n"
    tmp = f".{name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644,
                 dir_fd=dirs.status)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), 0o644)  # the remote reads it; the unit's UMask= would make it 0600
            os.fsync(handle.fileno())
        os.rename(tmp, name, src_dir_fd=dirs.status, dst_dir_fd=dirs.status)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dirs.status)
        raise
    os.fsync(dirs.status)


@dataclass
class RemoteHandover:
    """The remote's own update. The restarted remote waits at most 10 s for `status/<id>.json`, then takes
    whatever it finds as the outcome, while the verdict needs the stability window (10 s) and more. So the
    in-progress file is removed before the container is recreated, and after it a FIFO takes its place, which
    we hold open: the new remote's plain open() then succeeds and its read waits until the verdict is written
    into it. The verdict is renamed into place as a regular file too, so a remote that looks later reads it
    there (and removes it, as it does)."""

    dirs: Dirs
    request_id: str
    hidden: bool = False
    fifo: int | None = None

    @property
    def name(self) -> str:
        return f"{self.request_id}.json"

    def hide(self) -> None:
        if not self.hidden:
            self.hidden = True
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.name, dir_fd=self.dirs.status)

    def arm(self) -> None:
        if self.fifo is not None:
            return
        self.hide()
        tmp = f".{self.name}.{secrets.token_hex(6)}.fifo"
        umask = os.umask(0o022)  # the remote's user reads it
        try:
            os.mkfifo(tmp, 0o644, dir_fd=self.dirs.status)
        finally:
            os.umask(umask)
        # O_RDWR never blocks on a FIFO, and keeps a writer there for the remote's open() to find
        fd = os.open(tmp, os.O_RDWR | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=self.dirs.status)
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):  # swapped under its temp name: not ours to write into
            os.close(fd)
            return
        self.fifo = fd
        os.rename(tmp, self.name, src_dir_fd=self.dirs.status, dst_dir_fd=self.dirs.status)

    def deliver(self, record: dict[str, Any]) -> None:
        write_status(self.dirs, record)
        if self.fifo is None:
            return
        try:
            with contextlib.suppress(OSError):  # nobody read it and the pipe is full: the file above answers
                os.write(self.fifo, json.dumps(record, indent=2).encode() + b"\n")
            time.sleep(HANDOVER_GRACE)  # a remote that opened the FIFO just as the file replaced it reads it too
        finally:
            os.close(self.fifo)  # its reader sees the end of the verdict
            self.fifo = None


# ---- running one request ---------------------------------------------------------------------------------------

@dataclass
class Reporter:
    """The in-progress status of one request: written again only when its phase changes."""

    dirs: Dirs
    request: Request
    handover: RemoteHandover | None
    phase: str = "starting"
    written: set[str] = field(default_factory=set)

    def progress(self, phase: str) -> None:
        self.phase = phase
        if phase in self.written or (self.handover is not None and self.handover.hidden):
            return
        self.written.add(phase)
        write_status(self.dirs, fp.status_record(self.request.request_id, self.request.component,
                                                 self.request.action, phase=phase, timestamp=now_iso()))

    def watch(self, text: str) -> None:
        """A status text of the unit we follow."""
        phase = fp.phase_of(text, self.phase)
        if self.handover is not None:
            if fp.replaces_remote(text):
                self.handover.arm()
            elif phase in fp.REPLACING_REMOTE:
                self.handover.hide()
        self.progress(phase)

    def rolling_back(self) -> None:
        """The update failed after a change and OnFailure= rolls it back: for the remote, that recreates its
        container once more, so the verdict goes through the FIFO from now on."""
        if self.handover is not None:
            self.handover.arm()
        self.progress("rolling_back")

    def final(self, success: bool, message: str, output: str = "", error: str = "") -> None:
        record = fp.status_record(self.request.request_id, self.request.component, self.request.action,
                                  phase="completed", timestamp=now_iso(), success=success, message=message,
                                  output=output, error=error)
        if self.handover is not None:
            self.handover.deliver(record)
        else:
            write_status(self.dirs, record)


def run_request(config: Config, systemd: Systemd | None, reporter: Reporter) -> tuple[bool, str]:
    """Act on one valid request; returns (success, message) as written in its final status."""
    request = reporter.request
    if request.action == "health":
        success, message, output = health(config, request.component)
        reporter.final(success, message, output, "" if success else "unhealthy")
        return success, message
    if systemd is None:
        reporter.final(False, "The system bus cannot be reached: no update was started", "", "system bus")
        return False, "the system bus cannot be reached"
    unit = f"dunebugger-{request.action}@{request.component}.service"
    if request.action == "update":
        refusal = ask_for_version(config, request)
        if refusal is not None:
            reporter.final(False, refusal, "", fp.VALIDATION_ERROR)
            return False, refusal
    job, result = start_and_follow(config, systemd, unit, reporter)
    success, message, output, error = fp.final_fields(result, job, request.action)
    reporter.final(success, message, output, error)
    return success, message


def ask_for_version(config: Config, request: Request) -> str | None:
    """The wish becomes root's one-shot version request, as `update --version` makes it; or a refusal."""
    from ..device import read_current_version

    installed = read_current_version(config, validate_instance(config, request.component))
    version, refusal = fp.version_wish(request.component, request.version, installed)
    if version is not None:
        state.write_request(Path(config.state_dir), request.component, version)
    return refusal


def start_and_follow(config: Config, systemd: Systemd, unit: str,
                     reporter: Reporter) -> tuple[str, dict[str, Any] | None]:
    """Start `unit` (mode "replace", in systemd.py) and wait for its job; then its recorded result, or the
    rollback's when it failed after a change (OnFailure= starts it)."""
    request, state_dir = reporter.request, Path(config.state_dir)
    asked = results_time()
    deadline = UPDATE_DEADLINE if request.action == "update" else ROLLBACK_DEADLINE
    try:
        job = systemd.run_job("start", unit, deadline, reporter.watch)
    finally:
        if request.action == "update":  # a start merged into someone else's run leaves ours unread
            state.take_request(state_dir, request.component)
    own = wait_for(lambda: fp.own_result(state.read_results(state_dir), request.component, request.action,
                                         asked), 10.0)
    if own is None or job == "done" or not fp.rollback_expected(own):
        return job, own
    reporter.rolling_back()
    rolled = wait_for(lambda: fp.rollback_of(state.read_results(state_dir), own), ROLLBACK_DEADLINE)
    return job, rolled or own


def wait_for(fetch: Callable[[], dict[str, Any] | None], deadline: float) -> dict[str, Any] | None:
    end = time.monotonic() + deadline
    while (found := fetch()) is None and time.monotonic() < end:
        time.sleep(POLL)
    return found


def health(config: Config, component: str) -> tuple[bool, str, str]:
    """What the updater knows of a component: its installed version and its last recorded result."""
    from ..device import read_current_version

    installed = read_current_version(config, validate_instance(config, component))
    record = state.load_state(Path(config.state_dir))["components"].get(component) or {}
    last = record.get("last_result") or {}
    output = f"last: {last.get('action')} {last.get('status')}: {last.get('message')}" if last else "no result yet"
    if installed == UNKNOWN:
        return False, f"{component}: the installed version cannot be read", output
    if last.get("status") == "needs-manual":
        return False, f"{component} {installed}: {last.get('message')}", output
    return True, f"{component} {installed} installed", output


# ---- the service ---------------------------------------------------------------------------------------------

def answer_bad(dirs: Dirs, name: str, verdict: Verdict) -> None:
    if verdict.answer_id is not None:
        write_status(dirs, fp.status_record(verdict.answer_id, verdict.component, verdict.action,
                                            phase="completed", timestamp=now_iso(), success=False,
                                            message=verdict.reason, error=fp.VALIDATION_ERROR))
    remove_request(dirs, name)
    where = f"answered at status/{verdict.answer_id}.json" if verdict.answer_id else "dropped"
    journal.event(f"request file {fp.short(name)} {where}: {verdict.reason}", journal.Priority.WARNING,
                  request_id=verdict.answer_id, component=verdict.component, action=verdict.action,
                  outcome="refused", request_file=fp.short(name))


def answer_busy(dirs: Dirs, name: str, request: Request, running_id: str | None) -> None:
    if request.request_id != running_id:  # a copy of the running request must not overwrite its status
        write_status(dirs, fp.status_record(request.request_id, request.component, request.action,
                                            phase="completed", timestamp=now_iso(), success=False,
                                            message=fp.BUSY, error="Concurrent update rejected"))
    remove_request(dirs, name)
    journal.event(f"request {request.request_id}: {request.action} {request.component}: {fp.BUSY}",
                  journal.Priority.WARNING, request_id=request.request_id, component=request.component,
                  action=request.action, outcome="busy")


def answer_others(dirs: Dirs, running: str | None, running_id: str | None = None) -> bool:
    """Answer every entry but `running`: bad ones as bad, valid ones as busy when a request runs. True when
    entries are left that are still being written."""
    waiting = False
    for name, verdict in scan(dirs, skip=running):
        if verdict.kind == "bad":
            answer_bad(dirs, name, verdict)
        elif verdict.kind == "ready" and running is not None and verdict.request is not None:
            answer_busy(dirs, name, verdict.request, running_id)
        elif verdict.kind == "wait":
            waiting = True
    return waiting


@contextlib.contextmanager
def answering_meanwhile(dirs: Dirs, running: str, running_id: str) -> Iterator[None]:
    """While one request runs, every request that arrives is answered at once (busy, or bad)."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(POLL * 2):
            try:
                answer_others(dirs, running, running_id)
            except (OSError, UnitsError) as exc:
                journal.event(f"answering requests that arrived meanwhile: {exc}", journal.Priority.ERR)

    thread = threading.Thread(target=loop, name="busy-answers", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def handle(config: Config, systemd: Systemd | None, dirs: Dirs, name: str, request: Request) -> None:
    handover = RemoteHandover(dirs, request.request_id) if request.component == "remote" else None
    reporter = Reporter(dirs, request, handover)
    with answering_meanwhile(dirs, name, request.request_id):
        try:
            reporter.progress("starting")
            success, message = run_request(config, systemd, reporter)
        except Exception as exc:  # an expected failure, or a bug (its traceback to the journal): answered
            why = str(exc) if isinstance(exc, OSError | UnitsError) else f"{type(exc).__name__}: {exc}"
            if not isinstance(exc, OSError | UnitsError):
                journal.event(f"request {request.request_id}: {traceback.format_exc()}", journal.Priority.ERR)
            success, message = False, f"{request.action} {request.component}: {why}"
            with contextlib.suppress(OSError):
                reporter.final(False, message, "", "failed")
    remove_request(dirs, name)
    journal.event(f"request {request.request_id}: {request.action} {request.component}: {message}",
                  journal.Priority.INFO if success else journal.Priority.WARNING, request_id=request.request_id,
                  component=request.component, action=request.action,
                  outcome="succeeded" if success else "failed")


def serve(config: Config, root: Path) -> int:
    """Answer every request in `root`/requests until none is left; 0, or 1 when the dirs cannot be used."""
    try:
        dirs = Dirs.open(root)
    except OSError as exc:
        journal.event(f"opening the request dirs under {root}: {exc.strerror}", journal.Priority.ERR)
        return 1
    try:
        systemd: Systemd | None = Systemd.connect()
    except SystemdError as exc:
        journal.event(f"connecting to the system bus: {exc}", journal.Priority.ERR)
        systemd = None
    try:
        while True:
            ready = next(((n, v.request) for n, v in scan(dirs) if v.kind == "ready" and v.request), None)
            if ready is not None:
                handle(config, systemd, dirs, *ready)
            elif answer_others(dirs, None):
                time.sleep(POLL)  # a request still being written
            elif not os.listdir(dirs.requests):
                return 0
            elif not any(v.kind in ("ready", "wait") for _n, v in scan(dirs)):
                time.sleep(POLL)
                if {n for n, v in scan(dirs) if v.kind == "bad"} == set(os.listdir(dirs.requests)):
                    return 1  # answered, yet they stay: removing them failed (in the journal)
    finally:
        if systemd is not None:
            systemd.close()
        dirs.close()
