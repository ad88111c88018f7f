"""The unattended-update timer follows the configuration, the way apt's timers are tuned with a drop-in.

`dunebugger-units sync-timers` (run by dunebugger-sync-timers.service whenever /etc/dunebugger/updater.yaml
changes, and by the package's postinst) writes one drop-in for dunebugger-auto-update.timer:
- no component has `policy: auto`: a start condition that is never met, so the timer stays stopped and no
  Python starts every 15 minutes only to find nothing to do;
- a maintenance window: `OnCalendar=` is the window's start (plus the boot run the shipped timer has);
- `policy: auto` without a window: the shipped schedule (every 15 minutes) stands.
Then systemd reloads, and an enabled timer is restarted so the new schedule or condition takes effect; a timer
a person disabled stays disabled. docs/packaging.md, "The auto-update timer".
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .cli_context import config_option, json_option, require_root
from .errors import UnitsError
from .files import atomic_write

if TYPE_CHECKING:
    import subprocess

    from .cli_context import Context
    from .config import Config

TIMER = "dunebugger-auto-update.timer"
MAX_ROUNDS = 20
POLL_SECONDS = 0.1
DROPIN = Path(f"/etc/systemd/system/{TIMER}.d/50-policy.conf")
HEADER = ("# Written by `dunebugger-units sync-timers` from /etc/dunebugger/updater.yaml whenever it changes: edit\n"
          "# that file, not this one. To change the schedule yourself, add a drop-in sorting after this one.\n")
SYSTEMCTL_TIMEOUT = 60


def timer_dropin(config: Config) -> str:
    """Pure: the drop-in for the auto-update timer under this configuration."""
    auto = sorted(c.name for c in config.components.values() if c.policy == "auto")
    if not auto:
        return (HEADER + "# No component has `policy: auto`: the timer never starts (`!/` names the root dir,\n"
                "# which always exists, so this condition is never met).\n[Unit]\nConditionPathExists=!/\n")
    window = config.policy.maintenance_window
    if window is None:
        return HEADER + f"# `policy: auto` for {', '.join(auto)}, no maintenance window: the shipped schedule.\n"
    return (HEADER + f"# `policy: auto` for {', '.join(auto)}: when the maintenance window opens "
            f"(it lasts {window.length}).\n[Timer]\nOnCalendar=\nOnCalendar={window.start}\n")


def write_dropin(text: str, path: Path = DROPIN) -> bool:
    """Write the drop-in when it differs; True when it changed."""
    if path.is_file() and path.read_text() == text:
        return False
    path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    atomic_write(path, text.encode(), mode=0o644)
    return True


def file_identity(path: Path) -> tuple[int, ...] | None:
    """What changes when the file is saved: in place (size, times) or by a rename over it (inode)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _systemctl(*args: str) -> subprocess.CompletedProcess[str]:
    import subprocess  # deferred: the command module is loaded for every command, a check included

    return subprocess.run(["systemctl", *args], capture_output=True, text=True, timeout=SYSTEMCTL_TIMEOUT,
                          check=False)


def apply_to_systemd() -> None:
    """Reload, then restart the timer if it is enabled: its condition and schedule are read at start."""
    reload = _systemctl("daemon-reload")
    if reload.returncode != 0:
        raise UnitsError(f"reloading systemd after writing {DROPIN}: {reload.stderr.strip()}")
    if _systemctl("is-enabled", "--quiet", TIMER).returncode == 0:
        restart = _systemctl("restart", TIMER)
        if restart.returncode != 0:
            raise UnitsError(f"restarting {TIMER}: {restart.stderr.strip()}")


@click.command("sync-timers", hidden=True)
@config_option
@click.option("--settle", type=click.FloatRange(0, 60), default=0.0, metavar="SECONDS",
              help="Keep watching the configuration this long after the last change, and follow it again.")
@json_option("Print the drop-in's path and whether it changed, as JSON.")
@click.pass_obj
def sync_timers(ctx: Context, settle: float, as_json: bool) -> None:
    """Write the auto-update timer's drop-in from the configuration (dunebugger-sync-timers.service)."""
    from .config import config_path
    from .render import emit, fail

    require_root("sync-timers writes a drop-in under /etc/systemd/system", as_json)
    # While this runs, the .path unit that started it does not watch: a change saved now fires no new start.
    # So this watches itself until the file has been still for `settle` seconds (and once more at the end).
    path = config_path(ctx.config_option)
    changed = False
    try:
        for _ in range(MAX_ROUNDS):
            seen = file_identity(path)
            if write_dropin(timer_dropin(ctx.config())):
                apply_to_systemd()
                changed = True
            if not _changes_within(path, seen, settle):
                break
    except UnitsError as exc:
        fail(exc, as_json)
    emit({"dropin": str(DROPIN), "changed": changed}, as_json,
         lambda d: f"{d['dropin']}: written; {TIMER} follows it" if d["changed"] else f"{d['dropin']}: unchanged")


def _changes_within(path: Path, seen: tuple[int, ...] | None, seconds: float) -> bool:
    """True as soon as the file differs from `seen`, checking for `seconds` (at least once)."""
    deadline = time.monotonic() + seconds
    while file_identity(path) == seen:
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS)
    return True
