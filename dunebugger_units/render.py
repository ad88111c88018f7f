"""What the commands print, written once: JSON for machines, a few lines for people, the progress of a
followed unit, and the one line of an error on stderr.

The `render_*` functions are pure (data in, text out); `emit`, `fail`, `stopped_following` and `ProgressView`
write to the terminal.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NoReturn, TextIO, TypeVar

import click

from .errors import UnitsError
from .progress import PERCENT, percent_of

if TYPE_CHECKING:
    from .results import Action, UpdateResult

T = TypeVar("T")

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command stopped with Ctrl-C


def emit(data: Any, as_json: bool, human: Callable[[Any], str]) -> None:
    """JSON for machines, a few lines for people."""
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=False))
    else:
        click.echo(human(data))


def fail(exc: UnitsError, as_json: bool) -> NoReturn:
    """One line on stderr (and the error as JSON on stdout with --json), then the error's exit code."""
    message = str(exc)
    click.echo(f"dunebugger-units: {message}", err=True)
    if as_json:
        click.echo(json.dumps({"error": message, "exit_code": int(exc.exit_code)}))
    sys.exit(int(exc.exit_code))


def stopped_following(unit: str) -> NoReturn:
    """Ctrl-C ends our wait, never the unit: say so, and how to watch or stop it."""
    click.echo(f"\ndunebugger-units: stopped following; {unit} is still running.\n"
               f"  watch it: journalctl -f -u {unit}\n"
               f"  stop it:  systemctl stop {unit}", err=True)
    sys.exit(EXIT_INTERRUPTED)


# ---- components: check and status ---------------------------------------------------------------------------

def _policy_marks(record: Mapping[str, Any]) -> str:
    marks = [m for m in (("held" if record.get("held") else ""),
                         ("auto" if record.get("policy") == "auto" else "")) if m]
    return f"  [{', '.join(marks)}]" if marks else ""


def _version_line(name: str, record: Mapping[str, Any]) -> str:
    current, latest, checked = record.get("current") or "unknown", record.get("latest"), record.get("last_checked")
    if record.get("error"):
        state = f"check failed: {record['error']}"
    elif not checked:
        return f"{name:<10} {current:<16} not checked yet (dunebugger-units check)" + _policy_marks(record)
    elif record.get("update_available"):
        ready = record.get("prepared") == latest
        state = f"update available: {latest}" + (", ready to install" if ready else "")
    elif latest is None:
        state = "no release published"
    else:
        state = "up to date"
    return f"{name:<10} {current:<16} {state}" + (f"  (checked {checked})" if checked else "") + _policy_marks(record)


def render_components(data: Mapping[str, Any]) -> str:
    lines = [_version_line(n, r) for n, r in data["components"].items()]
    for name, record in data["components"].items():
        last = record.get("last_result")
        if last:
            lines.append(f"  last {last.get('action')} of {name}: {last.get('status')}: {last.get('message')}")
    if data.get("unfinished_update"):
        lines.append(f"WARNING: {data['unfinished_update']['message']}")
    return "\n".join(lines)


# ---- results: update, dry run, rollback, recovery, history --------------------------------------------------

def render_result(data: Mapping[str, Any]) -> str:
    lines = [f"{data['component']}: {data['status']}: {data['message']}"]
    for check in data.get("checks") or []:
        mark = "ok" if check["ok"] else ("FAIL" if check["required"] else "warn")
        lines.append(f"  [{mark:<4}] {check['name']}: {check['detail']}")
    diff = (data.get("plan") or {}).get("compose_diff")
    if diff:
        lines.append(diff.rstrip())
    return "\n".join(lines)


def render_all(data: Mapping[str, Any]) -> str:
    """`update --all`: each component's result in the order taken, and the summary as the last line."""
    return "\n".join([*(render_result(r) for r in data["components"]), data["summary"]])


def render_history(rows: list[dict[str, Any]]) -> str:
    return "\n".join(f"{r.get('finished_at')}  {render_result(r)}" for r in rows) or "no results yet"


def render_recovery_none(data: Mapping[str, Any]) -> str:
    return str(data["message"])


# ---- policy: hold, list, auto-update --------------------------------------------------------------------------

def render_hold(data: Mapping[str, Any]) -> str:
    word = "held" if data["held"] else "no longer held"
    return f"{data['component']} is {word}" + ("" if data["changed"] else " (already)")


def render_list(data: Mapping[str, Any]) -> str:
    """`list C` for people: one line per version, then what `--version` accepts."""
    name, rows = data["component"], data["versions"]
    if not rows:
        return f"{name}: no release published"
    lines = []
    for row in rows:
        marks = [m for m in ("installed", "latest", "held", "prerelease") if row[m]]
        lines.append(f"{row['version']:<20} {' '.join(marks)}".rstrip())
    lines.append(f"Install one of these (older ones too, not the installed one): "
                 f"sudo dunebugger-units update {name} --version VERSION")
    return "\n".join(lines)


def render_auto(data: Mapping[str, Any]) -> str:
    return "\n".join(
        f"{name}: {d['action']}: {d['reason']}" + (f" -> {d['result'].get('message')}" if d["result"] else "")
        for name, d in data.items()) or "no component has policy auto"


# ---- configuration ------------------------------------------------------------------------------------------

def render_config_yaml(data: Mapping[str, Any]) -> str:
    import yaml  # deferred: keeps `--help` fast on a Pi

    return str(yaml.safe_dump(dict(data), sort_keys=False, default_flow_style=False)).rstrip()


def render_config_check(data: Mapping[str, Any]) -> str:
    return f"{data['config']}: valid" if data["exists"] else f"{data['config']}: absent; the built-in defaults apply"


# ---- progress of a followed unit ----------------------------------------------------------------------------

BAR_MAX = 30
BAR_MIN = 10
PERCENT_FIELD = 6  # " 100%"


def progress_line(phase: str, columns: int = 80) -> str:
    """Pure: one line shorter than `columns` (a line that fills the terminal wraps, and the bar is redrawn
    below itself): a bar for a phase that carries a percent ("pulling 40%"), else the phase itself."""
    room = max(1, columns - 1)
    percent = percent_of(phase)
    if percent is None:
        return phase[:room]
    label = PERCENT.sub("", phase).rstrip()
    bar = max(BAR_MIN, min(BAR_MAX, room - len(label) - PERCENT_FIELD - 3))
    label = label[:max(0, room - bar - PERCENT_FIELD - 3)]
    filled = bar * percent // 100
    return f"{label} [{'#' * filled}{'.' * (bar - filled)}] {percent:3d}%"[:room]


def redraws(stream: TextIO) -> bool:
    """A bar redrawn in place only on a terminal that can do it; a log, a pipe or TERM=dumb gets lines."""
    return stream.isatty() and os.environ.get("TERM", "") not in ("", "dumb")


class ProgressView:
    """The progress of a followed unit: stdout for people, stderr with --json (stdout is the result)."""

    def __init__(self, as_json: bool) -> None:
        self.err = as_json
        self.bar = redraws(sys.stderr if as_json else sys.stdout)
        self.drawn = False

    def show(self, phase: str) -> None:
        if self.bar:
            import shutil  # deferred: a check draws no bar, and shutil's import costs it (docs/performance.md)

            columns = shutil.get_terminal_size().columns
            click.echo(f"\r\033[K{progress_line(phase, columns)}", err=self.err, nl=False)
            self.drawn = True
        else:
            click.echo(f"... {phase}", err=self.err)

    def end(self) -> None:
        """End the bar's line, so what follows starts on its own."""
        if self.drawn:
            click.echo("", err=self.err)
            self.drawn = False


def followed(start: Callable[[Callable[[str], None]], T], as_json: bool) -> T:
    """What `start` returns, showing the progress it reports as it comes (stderr with --json). A person who
    stops following (Ctrl-C), or an error, ends the command with one line."""
    from .follow import StoppedFollowing

    view = ProgressView(as_json)
    try:
        outcome = start(view.show)
    except StoppedFollowing as stop:
        view.end()
        stopped_following(stop.unit)
    except UnitsError as exc:
        view.end()
        fail(exc, as_json)
    view.end()
    return outcome


def exit_with(result: UpdateResult, as_json: bool, asked: Action | None = None) -> NoReturn:
    """Print a result (of this process, or of a followed unit) and exit with its code for what was asked."""
    emit(result.to_dict(), as_json, render_result)
    sys.exit(int(result.exit_code(asked)))
