"""The on-disk records, in two areas that are kept apart.

- Root's own state (`state_dir`, default /var/lib/dunebugger-units, owned by root, 0755): what was installed,
  the results, the transaction record (transaction.py), version requests, the update lock, downloads and
  staging. Only root writes here; the remote reads the results (read-only mount).
- The check's cache (`cache_dir`, default <state_dir>/check, owned by the check's user through its
  `StateDirectory=`): the last check's releases, ETags and rate limits. Root reads it as untrusted input: the
  target version may come from it (validated), nothing else does; it never becomes a path, URL or argument.

Every write goes through `files.atomic_write` under one flock per area; the locks are opened without following
links. `component_views` merges both areas for people and the remote (display only).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import stat
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import Refused, StateError
from .files import atomic_write

STATE_FILE = "state.json"
CACHE_FILE = "check.json"
LOCK_FILE = ".state.lock"
SCHEMA = 1
MAX_CACHE_BYTES = 8 * 1024 * 1024
# O_NOFOLLOW: a link planted where we open a file is refused (ELOOP), never followed
NOFOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC

State = dict[str, Any]


def state_file(state_dir: Path) -> Path:
    return state_dir / STATE_FILE


def cache_file(cache_dir: Path) -> Path:
    return cache_dir / CACHE_FILE


def root_dir(path: Path, mode: int = 0o755) -> Path:
    """Make sure `path` is a real directory that only root may write when we run as root: created if missing,
    refused if it is a link or belongs to anyone else (a check user's dir must never steer root)."""
    with contextlib.suppress(FileExistsError):
        path.mkdir(parents=True, mode=mode)
        os.chmod(path, mode)  # the units' UMask=0077 would make it 0700: the remote reads the results
    st = path.lstat()
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise Refused(f"refusing root's state dir {path}: it is not a directory")
    if os.geteuid() == 0 and (st.st_uid != 0 or st.st_mode & 0o022):
        raise Refused(f"refusing root's state dir {path}: it belongs to uid {st.st_uid} with mode "
                      f"{st.st_mode & 0o7777:o}; only root may write it (the package upgrade moves an old "
                      "layout: see the README, Debian package)")
    return path


def read_small(path: Path, cap: int = MAX_CACHE_BYTES) -> str:
    """A regular file's text, never through a link at `path`, at most `cap` bytes (FileNotFoundError passes).

    O_NONBLOCK: a FIFO planted in place of the file opens at once instead of hanging whoever holds the update
    lock; fstat on the open descriptor then refuses anything that is not a regular file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | NOFOLLOW)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise StateError(f"reading {path}: it is a symbolic link, refused") from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise StateError(f"reading {path}: not a regular file, refused")
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(cap + 1)
    if len(data) > cap:
        raise StateError(f"reading {path}: larger than {cap} bytes")
    return data.decode("utf-8", "replace")


def load_state(state_dir: Path) -> State:
    """Root's whole record; a missing file is an empty record, a corrupt one a StateError."""
    return _load_record(state_file(state_dir))


def load_cache(cache_dir: Path) -> State:
    """The check's record (untrusted when root reads it); missing is empty, corrupt a StateError."""
    return _load_record(cache_file(cache_dir))


def _load_record(path: Path) -> State:
    try:
        text = read_small(path)
    except FileNotFoundError:
        return {"schema": SCHEMA, "components": {}}
    except OSError as exc:
        raise StateError(f"reading state {path}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except ValueError:
        raise StateError(f"reading state {path}: not valid JSON (empty or truncated)") from None
    if not isinstance(data, dict) or not isinstance(data.get("components", {}), dict):
        raise StateError(f"reading state {path}: not a state record")
    data.setdefault("components", {})
    return data


def quarantine(path: Path, stamp: str) -> Path:
    """Move a corrupt record aside (kept for a person to read) so that the next write starts afresh."""
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    os.replace(path, aside)
    return aside


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    fd = _open_lock(directory / LOCK_FILE, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _open_lock(path: Path, flags: int) -> int:
    try:
        return os.open(path, flags | os.O_CREAT | NOFOLLOW, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise Refused(f"opening the lock {path}: it is a symbolic link, refused") from None
        raise


def _update_record(directory: Path, path: Path, mutate: Callable[[State], None]) -> State:
    with _locked(directory):
        try:
            data = _load_record(path)
        except StateError:  # kept aside for a person to read; the results themselves are separate files
            quarantine(path, datetime.now().strftime("%Y%m%d_%H%M%S"))
            data = {"schema": SCHEMA, "components": {}}
        mutate(data)
        data["schema"] = SCHEMA
        atomic_write(path, json.dumps(data, indent=2, sort_keys=True).encode() + b"\n", mode=0o644)
        return data


def update_state(state_dir: Path, mutate: Callable[[State], None]) -> State:
    """Read, change and write root's record under its lock; returns what was written."""
    return _update_record(root_dir(state_dir), state_file(state_dir), mutate)


def update_cache(cache_dir: Path, mutate: Callable[[State], None]) -> State:
    """The check's write: read, change and write its own record under its own lock."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    return _update_record(cache_dir, cache_file(cache_dir), mutate)


def record_installed(state_dir: Path, name: str, version: str) -> None:
    """An update or a rollback finished: `version` is what runs now (and since when)."""
    from .github import iso

    def mutate(data: State) -> None:
        data["components"].setdefault(name, {}).update(current=version, installed_at=iso(datetime.now(UTC)))

    update_state(state_dir, mutate)


def merge_view(checked: State, own: State) -> dict[str, dict[str, Any]]:
    """Pure: what people and the remote see of each component: the last check's record, with what root
    installed since then and root's last result. Display only: no decision is made from it."""
    from .versions import is_newer

    views: dict[str, dict[str, Any]] = {}
    for name in {**checked.get("components", {}), **own.get("components", {})}:
        entry = checked["components"].get(name)
        view = dict(entry) if isinstance(entry, dict) else {}  # the cache is the check's: any shape at all
        for key in ("latest", "current", "last_checked"):
            if not isinstance(view.get(key), str):
                view[key] = None
        mine = own["components"].get(name) or {}
        if mine.get("current") and str(mine.get("installed_at") or "") >= (view["last_checked"] or ""):
            view["current"] = mine["current"]
        view["update_available"] = is_newer(view["latest"], view["current"])
        for key in ("last_result", "held"):  # root's own: its last result, and a hold set since the check
            if key in mine:
                view[key] = mine[key]
        view["prepared"] = ready_to_install(mine.get("prepared"), view["current"])
        views[name] = view
    return views


def ready_to_install(prepared: Any, current: str | None) -> str | None:
    """Pure: the version root prepared ahead, while it is newer than what runs (then an update switches to it);
    None otherwise."""
    from .versions import is_newer

    return prepared if isinstance(prepared, str) and is_newer(prepared, current) else None


def root_keys(state_dir: Path, components: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Root's own keys beside each of the check's `components` (name: record with its `current`): the last
    result and the release prepared ahead, as `status` shows them. A record that cannot be read has none."""
    try:
        own = load_state(state_dir)["components"]
    except StateError:
        own = {}
    keys = {}
    for name, record in components.items():
        mine = own.get(name)
        mine = mine if isinstance(mine, dict) else {}
        last = mine.get("last_result")
        keys[name] = {"last_result": last if isinstance(last, dict) else None,
                      "prepared": ready_to_install(mine.get("prepared"), record.get("current"))}
    return keys


def component_views(state_dir: Path, cache_dir: Path) -> dict[str, dict[str, Any]]:
    """Both areas read and merged; a cache that cannot be read shows as "not checked"."""
    try:
        checked = load_cache(cache_dir)
    except StateError:
        checked = {"components": {}}
    return merge_view(checked, load_state(state_dir))
def set_previous(state_dir: Path, name: str, previous: dict[str, Any] | None) -> None:
    """What a rollback on request returns to: recorded by a successful update (the version it replaced and
    that update's backups), dropped once a rollback on request has used it."""

    def mutate(data: State) -> None:
        record = data["components"].setdefault(name, {})
        if previous is None:
            record.pop("previous", None)
        else:
            record["previous"] = previous

    update_state(state_dir, mutate)


def set_prepared(state_dir: Path, name: str, record: dict[str, Any] | None, *, only: str | None = None) -> None:
    """What root prepared ahead of an update (phases/prepare.py): `prepared` is its version, for people and
    the remote; `prepared_release` is root's own detail (where it is staged, the archive's SHA-256). None
    drops both; with `only`, only when that version is the one prepared."""

    def mutate(data: State) -> None:
        entry = data["components"].setdefault(name, {})
        if record is not None:
            entry.update(prepared=record["version"], prepared_release=record)
        elif only is None or entry.get("prepared") == only:
            entry.pop("prepared", None)
            entry.pop("prepared_release", None)

    update_state(state_dir, mutate)


def read_prepared(state_dir: Path, name: str) -> dict[str, Any] | None:
    """Root's own record of what it prepared for `name` (`prepared_release`); None when there is none or the
    state cannot be read."""
    try:
        entry = load_state(state_dir)["components"].get(name)
    except StateError:
        return None
    found = entry.get("prepared_release") if isinstance(entry, dict) else None
    return found if isinstance(found, dict) else None


# ---- results: one JSON file per update, dry run or rollback -----------------------------------------------

RESULTS_DIR = "results"
KEEP_RESULTS = 200


def record_result(state_dir: Path, result: dict[str, Any], *, mirror: bool = True) -> Path:
    """Keep the result (newest KEEP_RESULTS) and mirror its summary into the component's record (not for a
    refused instance that names no component)."""
    results = root_dir(root_dir(state_dir) / RESULTS_DIR)
    stamp = str(result.get("finished_at") or result.get("started_at") or "").replace(":", "")
    # the component may be a refused, hostile instance name ("../x"): never let it shape a path
    safe = re.sub(r"[^a-z0-9-]", "_", str(result["component"]))[:32] or "_"
    name = f"{stamp}-{os.getpid()}-{safe}-{result['action']}.json"
    path = results / name
    atomic_write(path, json.dumps(result, indent=2).encode() + b"\n", mode=0o644)
    for old in sorted(results.glob("*.json"))[:-KEEP_RESULTS]:
        old.unlink(missing_ok=True)
    if mirror:
        summary = {k: result.get(k) for k in ("action", "status", "success", "message", "finished_at")}

        def set_last(data: State) -> None:
            data["components"].setdefault(result["component"], {})["last_result"] = summary

        update_state(state_dir, set_last)
    return path


def read_results(state_dir: Path) -> list[dict[str, Any]]:
    """Every kept result, newest first; a file that cannot be read is skipped, never fatal."""
    out: list[dict[str, Any]] = []
    for path in sorted((state_dir / RESULTS_DIR).glob("*.json"), reverse=True):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            out.append(data)
    return out


# ---- the one update lock, for every trigger ---------------------------------------------------------------

UPDATE_LOCK = "update.lock"


class Busy(Exception):
    def __init__(self, holder: str) -> None:
        super().__init__(holder)
        self.holder = holder


@contextlib.contextmanager
def update_lock(state_dir: Path, what: str) -> Iterator[None]:
    """Non-blocking: a second update, rollback or dry run is told who holds the lock, never queued."""
    fd = _open_lock(root_dir(state_dir) / UPDATE_LOCK, os.O_RDWR)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another component"
            raise Busy(holder) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, what.encode(), 0)
        yield
    finally:
        os.close(fd)


# ---- the package's upgrade guard --------------------------------------------------------------------------

# Set by the package's prerm before dpkg unpacks (or removes) this package's files, and cleared by its postinst
# or postrm: an update started in between would run code that dpkg is replacing. A runtime file, so a dpkg
# killed half-way never outlives the next boot.
PACKAGE_CHANGING = Path("/run/dunebugger-units/package-changing")


def refuse_while_package_changes() -> None:
    if os.path.lexists(PACKAGE_CHANGING):
        raise Refused("the dunebugger-units package is being upgraded or removed (dpkg): nothing is changed "
                      "until it has finished; try again then")


# ---- explicit version requests: written by `update --version` (root), consumed by the update unit ---------

REQUESTS_DIR = "requests"


def write_request(state_dir: Path, component: str, version: str) -> None:
    _write_request(state_dir, f"{component}.json", {"version": version})


def take_request(state_dir: Path, component: str) -> str | None:
    """The requested version, removed as it is read: a request is good for one run."""
    version = _take_request(state_dir, f"{component}.json").get("version")
    return version if isinstance(version, str) else None


def write_forced_rollback(state_dir: Path, component: str) -> None:
    """The operator's `rollback --force`: root's one-shot word to the rollback unit (the remote cannot write
    here, so it can never force one)."""
    _write_request(state_dir, f"{component}.rollback.json", {"force": True})


def take_forced_rollback(state_dir: Path, component: str) -> bool:
    return _take_request(state_dir, f"{component}.rollback.json").get("force") is True


def write_file_request(state_dir: Path, component: str, data: dict[str, str], *, dry_run: bool) -> None:
    """`update --from` and `import` (root): the release file root staged, for the update unit or its dry-run
    twin (fromfile.py)."""
    _write_request(state_dir, _file_request(component, dry_run), data)


def take_file_request(state_dir: Path, component: str, *, dry_run: bool) -> dict[str, Any]:
    return _take_request(state_dir, _file_request(component, dry_run))


def _file_request(component: str, dry_run: bool) -> str:
    return f"{component}.{'dry-run' if dry_run else 'update'}.file.json"


# A request is for the run its writer starts right after writing it. One a killed CLI left behind must not
# steer a later run (an unattended update would install the file or version a person once asked for), so a
# request carries the time since boot (it does not jump when NTP sets a Pi's clock) and expires, and the boot's
# id where the writer may read it (a unit with ProcSubset=pid may not): a request from another boot is stale.
REQUEST_MAX_AGE = 600.0
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def request_is_current(data: Mapping[str, Any], boot_id: str | None, now: float,
                       max_age: float = REQUEST_MAX_AGE) -> bool:
    """Pure: written at most max_age seconds ago by the time since boot, and in this boot when both sides know
    its id."""
    written, written_in = data.get("written_boottime"), data.get("boot_id")
    if not isinstance(written, (int, float)) or isinstance(written, bool) or not 0 <= now - written <= max_age:
        return False
    return written_in is None or boot_id is None or written_in == boot_id


def _this_boot() -> tuple[str | None, float]:
    try:
        boot_id: str | None = BOOT_ID.read_text().strip()
    except OSError:
        boot_id = None
    return boot_id, time.clock_gettime(time.CLOCK_BOOTTIME)


def _write_request(state_dir: Path, name: str, data: dict[str, Any]) -> None:
    directory = root_dir(root_dir(state_dir) / REQUESTS_DIR, mode=0o700)
    boot_id, now = _this_boot()
    stamped = {**data, "boot_id": boot_id, "written_boottime": now}
    atomic_write(directory / name, json.dumps(stamped).encode(), mode=0o600)


def _take_request(state_dir: Path, name: str) -> dict[str, Any]:
    path = state_dir / REQUESTS_DIR / name
    if not path.parent.is_dir():
        return {}
    root_dir(path.parent, mode=0o700)  # a request in a dir someone else could write is never honoured
    try:
        data = json.loads(read_small(path, 4096))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, StateError):
        data = {}
    path.unlink(missing_ok=True)
    if not isinstance(data, dict) or not request_is_current(data, *_this_boot()):
        return {}  # left behind by a writer that never started its run: not for this one
    return {k: v for k, v in data.items() if k not in {"boot_id", "written_boottime"}}
