"""The `dunebugger-units` command: parse options, load the configuration, call a phase, render, exit.

Heavy modules (requests, yaml, sdbus) are imported inside the commands: units run on a Raspberry Pi and
`--help` must stay fast.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import click

from . import journal
from . import policy_cli as policy_commands
from .errors import ExitCode, UnitsError


@dataclass
class Context:
    config_option: str | None

    def config(self) -> Any:
        from .config import config_path, load_config

        return load_config(config_path(self.config_option))

    def config_or_exit(self, as_json: bool) -> Any:
        """The configuration, or one line on stderr and exit 3."""
        try:
            return self.config()
        except UnitsError as exc:
            fail(exc, as_json)


def emit(data: Any, as_json: bool, human: Callable[[Any], str]) -> None:
    """The one renderer: JSON for machines, a few lines for people."""
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=False))
    else:
        click.echo(human(data))


def fail(exc: UnitsError, as_json: bool) -> NoReturn:
    message = str(exc)
    click.echo(f"dunebugger-units: {message}", err=True)
    if as_json:
        click.echo(json.dumps({"error": message, "exit_code": int(exc.exit_code)}))
    sys.exit(int(exc.exit_code))


def _policy_marks(record: dict[str, Any]) -> str:
    marks = [m for m in (("held" if record.get("held") else ""),
                         ("auto" if record.get("policy") == "auto" else "")) if m]
    return f"  [{', '.join(marks)}]" if marks else ""


def _version_line(name: str, record: dict[str, Any]) -> str:
    current, latest = record.get("current") or "unknown", record.get("latest")
    if record.get("error"):
        state = f"check failed: {record['error']}"
    elif record.get("update_available"):
        state = f"update available: {latest}"
    elif latest is None:
        state = "no release published"
    else:
        state = "up to date"
    checked = record.get("last_checked") or "never"
    return f"{name:<10} {current:<16} {state}  (checked {checked}){_policy_marks(record)}"


def render_components(data: dict[str, Any]) -> str:
    lines = [_version_line(n, r) for n, r in data["components"].items()]
    for name, record in data["components"].items():
        last = record.get("last_result")
        if last:
            lines.append(f"  last {last.get('action')} of {name}: {last.get('status')}: {last.get('message')}")
    if data.get("unfinished_update"):
        lines.append(f"WARNING: {data['unfinished_update']['message']}")
    return "\n".join(lines)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_option", metavar="PATH", envvar=None,
              help="Configuration file [default: $DUNEBUGGER_UNITS_CONFIG or /etc/dunebugger/updater.yaml].")
@click.pass_context
def main(ctx: click.Context, config_option: str | None) -> None:
    """Keep the Dunebugger components (core, scheduler, remote) up to date."""
    ctx.obj = Context(config_option)


@click.command()
@click.argument("components", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the frontend's update_check_result body.")
@click.pass_obj
def check(ctx: Context, components: tuple[str, ...], as_json: bool) -> None:
    """Look up the latest release of each component and record what is available."""
    from .phases.check import run_check

    journal.set_identifier("dunebugger-check")
    try:
        report = run_check(ctx.config(), components or None)
    except UnitsError as exc:
        fail(exc, as_json)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    emit(report.body(), as_json, render_components)
    if report.failed:
        sys.exit(int(ExitCode.CHECK_INCOMPLETE))


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def status(ctx: Context, as_json: bool) -> None:
    """Show what is installed and what the last check found (no network)."""
    from .phases.status import read_status

    try:
        data = read_status(ctx.config())
    except UnitsError as exc:
        fail(exc, as_json)
    emit(data, as_json, render_components)


def render_result(data: dict[str, Any]) -> str:
    lines = [f"{data['component']}: {data['status']}: {data['message']}"]
    for check in data.get("checks") or []:
        mark = "ok " if check["ok"] else ("FAIL" if check["required"] else "warn")
        lines.append(f"  [{mark}] {check['name']}: {check['detail']}")
    diff = (data.get("plan") or {}).get("compose_diff")
    if diff:
        lines.append(diff.rstrip())
    return "\n".join(lines)


def _finish(result: Any, as_json: bool) -> NoReturn:
    """Render a result of this process and exit with the result's own code."""
    emit(result.to_dict(), as_json, render_result)
    sys.exit(int(result.exit_code()))


@click.command("run-update")
@click.argument("component")
@click.option("--version", "version", metavar="VERSION",
              help="Install this version (maybe older) instead of the latest.")
@click.option("--dry-run", is_flag=True, help="Run every check and show the plan; change nothing.")
@click.option("--force", is_flag=True, help="Update even if held or while a show holds the show lock.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def run_update_command(  # noqa: PLR0913, PLR0917  # one parameter per click option
    ctx: Context, component: str, version: str | None, dry_run: bool, force: bool, as_json: bool
) -> None:
    """Update COMPONENT in this process (what dunebugger-update@COMPONENT.service runs)."""
    from pathlib import Path as _Path

    from . import state
    from .config import COMPONENT_NAME
    from .phases.update import run_update

    journal.set_identifier("dunebugger-update")
    config = ctx.config_or_exit(as_json)
    if version is None and not dry_run and COMPONENT_NAME.match(component):
        version = state.take_request(_Path(config.state_dir), component)
    _finish(run_update(config, component, version=version, dry_run=dry_run, force=force), as_json)


@click.command("run-rollback")
@click.argument("component")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def run_rollback_command(ctx: Context, component: str, as_json: bool) -> None:
    """Roll COMPONENT back in this process (what dunebugger-rollback@COMPONENT.service runs)."""
    from .phases.rollback import run_rollback

    journal.set_identifier("dunebugger-rollback")
    _finish(run_rollback(ctx.config_or_exit(as_json), component), as_json)


@click.command()
@click.option("--component", "component", help="Only this component.")
@click.option("-n", "limit", type=click.IntRange(1, 1000), default=10, show_default=True, help="How many results.")
@click.option("--since", metavar="ISO-TIME", help="Only results finished at or after this UTC time.")
@click.option("--invocation", metavar="ID", help="Only the result of this unit invocation id.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a list, newest first).")
@click.pass_obj
def history(  # noqa: PLR0913, PLR0917  # one parameter per click option
    ctx: Context, component: str | None, limit: int, since: str | None, invocation: str | None, as_json: bool
) -> None:
    """Show the last results of updates, dry runs and rollbacks, newest first."""
    from pathlib import Path as _Path

    from .state import read_results

    config = ctx.config_or_exit(as_json)
    rows = [r for r in read_results(_Path(config.state_dir))
            if (component is None or r.get("component") == component)
            and (since is None or str(r.get("finished_at") or "") >= since)
            and (invocation is None or r.get("invocation_id") == invocation)][:limit]
    emit(rows, as_json, lambda data: "\n".join(f"{r.get('finished_at')}  {render_result(r)}" for r in data)
         or "no results yet")


def progress_line(phase: str, width: int = 30) -> str:
    """Pure: a bar for a phase that carries a percent ("pulling 40%"), else the phase itself."""
    from .progress import PERCENT, percent_of

    percent = percent_of(phase)
    if percent is None:
        return phase
    filled = width * percent // 100
    return f"{PERCENT.sub('', phase).rstrip():<28} [{'#' * filled}{'.' * (width - filled)}] {percent:3d}%"


def show_progress(phase: str, as_json: bool, bar: bool) -> None:
    """On a terminal one line redrawn in place; otherwise (a log, a pipe) plain lines."""
    if bar:
        click.echo(f"\r\033[K{progress_line(phase)}", err=as_json, nl=False)
    else:
        click.echo(f"... {phase}", err=as_json)


def _follow(events: Any, as_json: bool, asked: str) -> None:
    """Show progress as it comes (stderr with --json), then the result; exit with the result's code for
    what was asked (an update answered by the rollback that followed it failed)."""
    from .results import Action, UpdateResult

    bar = (sys.stderr if as_json else sys.stdout).isatty()
    for event in events:
        if event.kind == "progress":
            show_progress(event.data["phase"], as_json, bar)
            continue
        if bar:
            click.echo("", err=as_json)  # end the bar's line
        data = event.data
        emit(data, as_json, render_result)
        sys.exit(int(UpdateResult.from_dict(data).exit_code(Action(asked))) if "status" in data else 1)


@click.command()
@click.argument("component")
@click.option("--version", "version", metavar="VERSION",
              help="Install this version (maybe older) instead of the latest: an explicit request.")
@click.option("--dry-run", is_flag=True, help="Run every check and show the plan; change nothing.")
@click.option("--force", is_flag=True,
              help="Update a held component, or while a show runs (dunebugger-update-force@: a stronger right).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def update(  # noqa: PLR0913, PLR0917  # one parameter per click option
    ctx: Context, component: str, version: str | None, dry_run: bool, force: bool, as_json: bool
) -> None:
    """Start dunebugger-update@COMPONENT over D-Bus, show its progress and its result."""
    from pathlib import Path as _Path

    from . import state
    from .client import UpdaterClient
    from .config import validate_instance

    try:
        config = ctx.config()
        validate_instance(config, component)
        if version is not None:
            if dry_run:
                raise click.UsageError("--version and --dry-run together are not supported")
            state.write_request(_Path(config.state_dir), component, version)
        if force and dry_run:
            raise click.UsageError("--force and --dry-run together are not supported")
        client = UpdaterClient(config.state_dir, cache_dir=config.check_cache_dir)
        events = (client.follow(f"dunebugger-update-force@{component}.service", component, "update") if force
                  else client.update(component, dry_run))
        _follow(events, as_json, "dry-run" if dry_run else "update")
    except UnitsError as exc:
        fail(exc, as_json)


@click.command()
@click.argument("component")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def rollback(ctx: Context, component: str, as_json: bool) -> None:
    """Start dunebugger-rollback@COMPONENT over D-Bus and show its result."""
    from .client import UpdaterClient
    from .config import validate_instance

    try:
        config = ctx.config()
        validate_instance(config, component)
        client = UpdaterClient(config.state_dir, cache_dir=config.check_cache_dir)
        _follow(client.rollback(component), as_json, "rollback")
    except UnitsError as exc:
        fail(exc, as_json)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def recover(ctx: Context, as_json: bool) -> None:
    """Finish or roll back an update that was interrupted (what dunebugger-recover.service runs at boot)."""
    from .phases.recover import run_recovery

    journal.set_identifier("dunebugger-recover")
    try:
        result = run_recovery(ctx.config())
    except UnitsError as exc:
        fail(exc, as_json)
    if result is None:
        emit({"status": "none", "message": "no interrupted update"}, as_json, lambda d: d["message"])
        return
    _finish(result, as_json)


main.add_command(check)
main.add_command(policy_commands.hold)
main.add_command(policy_commands.unhold)
main.add_command(policy_commands.list_versions)
main.add_command(policy_commands.auto_update)
main.add_command(status)
main.add_command(recover)
main.add_command(history)
main.add_command(update)
main.add_command(rollback)
main.add_command(run_update_command)
main.add_command(run_rollback_command)


def run() -> None:  # pragma: no cover - console script shim
    main(prog_name=Path(sys.argv[0]).name)
