"""The `dunebugger-units` command: parse options, load the configuration, call a phase, render, exit.

Heavy modules (requests, yaml, sdbus) are imported inside the commands: units run on a Raspberry Pi and
`--help` must stay fast.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from . import journal
from . import policy_cli as policy_commands
from .errors import ExitCode, NeedsRoot, UnitsError

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Context:
    config_option: str | None

    def config(self) -> Any:
        from .config import config_path, load_config

        return load_config(config_path(self.config_option), explicit=self.explicit)

    @property
    def explicit(self) -> bool:
        """A path a person gave (`--config` or $DUNEBUGGER_UNITS_CONFIG) must exist; only the default may not."""
        from .config import CONFIG_ENV

        return bool(self.config_option or os.environ.get(CONFIG_ENV))

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
    current, latest, checked = record.get("current") or "unknown", record.get("latest"), record.get("last_checked")
    if record.get("error"):
        state = f"check failed: {record['error']}"
    elif not checked:
        return f"{name:<10} {current:<16} not checked yet (dunebugger-units check)" + _policy_marks(record)
    elif record.get("update_available"):
        state = f"update available: {latest}"
    elif latest is None:
        state = "no release published"
    else:
        state = "up to date"
    return f"{name:<10} {current:<16} {state}" + (f"  (checked {checked})" if checked else "") + _policy_marks(record)


def render_components(data: dict[str, Any]) -> str:
    lines = [_version_line(n, r) for n, r in data["components"].items()]
    for name, record in data["components"].items():
        last = record.get("last_result")
        if last:
            lines.append(f"  last {last.get('action')} of {name}: {last.get('status')}: {last.get('message')}")
    if data.get("unfinished_update"):
        lines.append(f"WARNING: {data['unfinished_update']['message']}")
    return "\n".join(lines)


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dunebugger-units")
    except PackageNotFoundError:
        return "unknown"


class Main(click.Group):
    """The command group: a permission refused anywhere is one line that says root is needed."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PermissionError as exc:
            what = f"{exc.filename}: {exc.strerror}" if exc.filename else str(exc.strerror or exc)
            fail(NeedsRoot(f"needs root: {what}"), as_json=False)


def _remember_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """`--config` after the subcommand means the same as before it."""
    if value is not None:
        ctx.ensure_object(Context).config_option = value
    return value


def config_option(command: F) -> F:
    return click.option("--config", "sub_config", metavar="PATH", expose_value=False, is_eager=True,
                        callback=_remember_config, help="Configuration file (also accepted before the command).")(
        command)


def _print_version(ctx: click.Context) -> None:
    if not ctx.resilient_parsing:
        click.echo(f"dunebugger-units {package_version()}")
        ctx.exit()


def require_root(what: str) -> None:
    if os.geteuid() != 0:
        raise NeedsRoot(f"needs root: {what} (run it with sudo)")


@click.group(cls=Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_option", metavar="PATH", envvar=None,
              help="Configuration file [default: $DUNEBUGGER_UNITS_CONFIG or /etc/dunebugger/updater.yaml].")
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=lambda ctx, _p, value:
              _print_version(ctx) if value else None, help="Print the version and exit.")
@click.pass_context
def main(ctx: click.Context, config_option: str | None) -> None:
    """Keep the Dunebugger components (core, scheduler, remote) up to date."""
    ctx.obj = Context(config_option)


@click.command()
@config_option
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
@config_option
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
        mark = "ok" if check["ok"] else ("FAIL" if check["required"] else "warn")
        lines.append(f"  [{mark:<4}] {check['name']}: {check['detail']}")
    diff = (data.get("plan") or {}).get("compose_diff")
    if diff:
        lines.append(diff.rstrip())
    return "\n".join(lines)


def _require_root_or_exit(what: str, as_json: bool) -> None:
    try:
        require_root(what)
    except NeedsRoot as exc:
        fail(exc, as_json)


def known_component(config: Any, component: str) -> None:
    """For a person's command, a name that is not a component is a usage error (exit 2), not a refusal."""
    if component not in config.components:
        raise click.BadParameter(f"{component!r} is not a component (known: {', '.join(config.components)})",
                                 param_hint="COMPONENT")


def parse_since(value: str | None, now: datetime | None = None) -> str | None:
    """`--since` as the UTC time the results are compared with; "yesterday" and "today" are midnight UTC."""
    if value is None:
        return None
    now = now or datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    words = {"today": midnight, "yesterday": midnight - timedelta(days=1)}
    try:
        when = words.get(value.strip().lower()) or datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a time: give ISO 8601 (2026-12-24 or 2026-12-24T18:00Z), "
                                 "today or yesterday", param_hint="--since") from None
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return when.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _finish(result: Any, as_json: bool) -> NoReturn:
    """Render a result of this process and exit with the result's own code."""
    emit(result.to_dict(), as_json, render_result)
    sys.exit(int(result.exit_code()))


@click.command("run-update")
@config_option
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
    _require_root_or_exit(f"run-update changes {component}", as_json)
    config = ctx.config_or_exit(as_json)
    if version is None and not dry_run and COMPONENT_NAME.match(component):
        version = state.take_request(_Path(config.state_dir), component)
    _finish(run_update(config, component, version=version, dry_run=dry_run, force=force), as_json)


@click.command("run-rollback")
@config_option
@click.argument("component")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def run_rollback_command(ctx: Context, component: str, as_json: bool) -> None:
    """Roll COMPONENT back in this process (what dunebugger-rollback@COMPONENT.service runs)."""
    from .phases.rollback import run_rollback

    journal.set_identifier("dunebugger-rollback")
    _require_root_or_exit(f"run-rollback changes {component}", as_json)
    _finish(run_rollback(ctx.config_or_exit(as_json), component), as_json)


@click.command()
@config_option
@click.option("--component", "component", help="Only this component.")
@click.option("-n", "limit", type=click.IntRange(1, 1000), default=10, show_default=True, help="How many results.")
@click.option("--since", metavar="TIME", callback=lambda _c, _p, value: parse_since(value),
              help="Only results finished at or after this time: ISO 8601 (UTC unless it says), today, yesterday.")
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


def _forced_update(state_dir: str, component: str) -> Any:
    """--force: root starts dunebugger-update-force@ itself (Updater1 offers no force: an administrator's right)."""
    from . import state
    from .remote.client import Event, now_iso
    from .systemd import Systemd

    unit, asked = f"dunebugger-update-force@{component}.service", now_iso()
    with Systemd.connect() as systemd:
        job = systemd.run_job("start", unit, 1800)
    runs = [r for r in state.read_results(Path(state_dir)) if r.get("component") == component
            and r.get("action") == "update" and str(r.get("finished_at") or "") >= asked]
    yield Event("result", runs[-1] if runs else {"component": component, "status": "failed", "success": False,
                                                 "message": f"{unit} ended with job result {job!r}, no result"})


@click.command()
@config_option
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
    from .remote.client import UpdaterClient

    if version is not None and dry_run:
        raise click.UsageError("--version and --dry-run together are not supported")
    requested = version is not None
    if requested:
        _require_root_or_exit(f"update --version writes a request for {component}", as_json)
    config = ctx.config_or_exit(as_json)
    known_component(config, component)
    try:
        if force and dry_run:
            raise click.UsageError("--force and --dry-run together are not supported")
        if requested and force:
            state.write_request(_Path(config.state_dir), component, str(version))
        client = UpdaterClient(config.state_dir, cache_dir=config.check_cache_dir)
        events = (_forced_update(config.state_dir, component) if force
                  else client.update(component, dry_run, version=version or ""))
        _follow(events, as_json, "dry-run" if dry_run else "update")
    except UnitsError as exc:
        if requested:  # the unit did not run: a later plain update must not install this version
            state.take_request(_Path(config.state_dir), component)
        fail(exc, as_json)


@click.command()
@config_option
@click.argument("component")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def rollback(ctx: Context, component: str, as_json: bool) -> None:
    """Start dunebugger-rollback@COMPONENT over D-Bus and show its result."""
    from .remote.client import UpdaterClient

    config = ctx.config_or_exit(as_json)
    known_component(config, component)
    try:
        client = UpdaterClient(config.state_dir, cache_dir=config.check_cache_dir)
        _follow(client.rollback(component), as_json, "rollback")
    except UnitsError as exc:
        fail(exc, as_json)


@click.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def recover(ctx: Context, as_json: bool) -> None:
    """Finish or roll back an update that was interrupted (what dunebugger-recover.service runs at boot)."""
    from .phases.recover import run_recovery

    journal.set_identifier("dunebugger-recover")
    _require_root_or_exit("recover changes the device", as_json)
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
