"""The `dunebugger-units` command: parse options, load the configuration, call a phase, hand what it returns
to render.py, exit. The commands are registered at the end with add_command; the internal ones, which the
units run, are hidden from --help. The reference is the man page, dunebugger-units(1).

Heavy modules (requests, yaml, sdbus) are imported inside the commands: units run on a Raspberry Pi and
`--help` must stay fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from . import journal, render
from .cli_context import Context, Main, config_option, json_option, known_component, require_root
from .errors import ExitCode, UnitsError
from .file_import import import_releases, update_from
from .timer_sync import sync_timers
from .unit_commands import UNIT_COMMANDS

if TYPE_CHECKING:
    from .config import Config
    from .phases.check import CheckReport
    from .results import Action, UpdateResult

def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dunebugger-units")
    except PackageNotFoundError:
        return "unknown"


def _print_version(ctx: click.Context) -> None:
    if not ctx.resilient_parsing:
        click.echo(f"dunebugger-units {package_version()}")
        ctx.exit()


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


def follow_and_exit(start: Callable[[Callable[[str], None]], UpdateResult], as_json: bool,
                    asked: Action) -> NoReturn:
    """Show a followed unit's progress as it comes (stderr with --json), then its result."""
    render.exit_with(render.followed(start, as_json), as_json, asked)


@click.group(cls=Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_option", metavar="PATH", envvar=None,
              help="Configuration file [default: $DUNEBUGGER_UNITS_CONFIG or /etc/dunebugger/updater.yaml].")
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=lambda ctx, _p, value:
              _print_version(ctx) if value else None, help="Print the version and exit.")
@click.pass_context
def main(ctx: click.Context, config_option: str | None) -> None:
    """Keep the Dunebugger components (core, scheduler, remote) up to date."""
    ctx.obj = Context(config_option)


# ---- looking: check, status, history, list, config -----------------------------------------------------------

def checked(config: Config, components: tuple[str, ...]) -> CheckReport:
    """Root never parses GitHub's answer: the check's unit does the work as the check's user. The modules
    of the other side are not imported (a person's check must start fast: docs/performance.md)."""
    if os.geteuid() == 0:
        from .follow import StoppedFollowing, check_as_the_unit

        try:
            return check_as_the_unit(config, components)
        except StoppedFollowing as stop:
            render.stopped_following(stop.unit)
    from .phases.check import run_check

    return run_check(config, components or None)


@click.command()
@config_option
@click.argument("components", nargs=-1)
@json_option("Print the frontend's update_check_result body.")
@click.pass_obj
def check(ctx: Context, components: tuple[str, ...], as_json: bool) -> None:
    """Look up the latest release of each component and record what is available."""
    journal.set_identifier("dunebugger-check")
    config = ctx.config_or_exit(as_json)
    try:
        report = checked(config, components)
    except UnitsError as exc:
        render.fail(exc, as_json)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    render.emit(report.body(), as_json, render.render_components)
    if report.failed:
        sys.exit(int(ExitCode.CHECK_INCOMPLETE))


@click.command()
@config_option
@json_option()
@click.pass_obj
def status(ctx: Context, as_json: bool) -> None:
    """Show what is installed and what the last check found (no network)."""
    from .phases.status import read_status

    try:
        data = read_status(ctx.config())
    except UnitsError as exc:
        render.fail(exc, as_json)
    render.emit(data, as_json, render.render_components)


@click.command()
@config_option
@click.option("--component", "component", help="Only this component.")
@click.option("-n", "limit", type=click.IntRange(1, 1000), default=10, show_default=True, help="How many results.")
@click.option("--since", metavar="TIME", callback=lambda _c, _p, value: parse_since(value),
              help="Only results finished at or after this time: ISO 8601 (UTC unless it says), today, yesterday.")
@click.option("--invocation", metavar="ID", help="Only the result of this unit invocation id.")
@json_option("Print JSON (a list, newest first).")
@click.pass_obj
def history(  # noqa: PLR0913, PLR0917  # one parameter per click option
    ctx: Context, component: str | None, limit: int, since: str | None, invocation: str | None, as_json: bool
) -> None:
    """Show the last results of updates, dry runs and rollbacks, newest first."""
    from .state import read_results

    config = ctx.config_or_exit(as_json)
    rows = [r for r in read_results(Path(config.state_dir))
            if (component is None or r.get("component") == component)
            and (since is None or str(r.get("finished_at") or "") >= since)
            and (invocation is None or r.get("invocation_id") == invocation)][:limit]
    render.emit(rows, as_json, render.render_history)


@click.command("list")
@config_option
@click.argument("component")
@click.option("--prereleases/--no-prereleases", default=None,
              help="Show prereleases [default: github.include_prerelease].")
@json_option("Print JSON: {component, versions: [...]}, newest first.")
@click.pass_obj
def list_versions(ctx: Context, component: str, prereleases: bool | None, as_json: bool) -> None:
    """List the versions of COMPONENT on GitHub: installed, latest, held, and what --version accepts."""
    from .phases.listing import run_list

    try:
        data = run_list(ctx.config(), component, prereleases)
    except UnitsError as exc:
        render.fail(exc, as_json)
    render.emit(data, as_json, render.render_list)


@click.command("config")
@config_option
@click.option("--check", "check_file", metavar="[FILE]", is_flag=False, flag_value="", default=None,
              help="Validate FILE (default: the configuration in use) and exit 0, or 3 with the error.")
@json_option("Print the effective configuration as JSON instead of YAML.")
@click.pass_obj
def show_config(ctx: Context, check_file: str | None, as_json: bool) -> None:
    """Print the effective configuration, defaults included, like apt-config dump."""
    from .config import config_path, effective, load_config

    if check_file is None:
        render.emit(effective(ctx.config_or_exit(as_json)), as_json, render.render_config_yaml)
        return
    path = Path(check_file) if check_file else config_path(ctx.config_option)
    try:
        config = load_config(path, explicit=bool(check_file) or ctx.explicit)
    except UnitsError as exc:
        render.fail(exc, as_json)
    render.emit({"config": str(path), "exists": config.source == str(path), "valid": True}, as_json,
                render.render_config_check)


# ---- changing: update, rollback, hold, unhold ---------------------------------------------------------------

@click.command()
@config_option
@click.argument("component", required=False)
@click.option("--all", "every", is_flag=True,
              help="Every component with an update, one after another: remote, scheduler, then core.")
@click.option("--version", "version", metavar="VERSION",
              help="Install this version (maybe older) instead of the latest: an explicit request.")
@click.option("--from", "from_file", metavar="FILE", help="Install this release file (no network); root only.")
@click.option("--dry-run", is_flag=True, help="Run every check and show the plan; change nothing.")
@click.option("--force", is_flag=True,
              help="Update a held component, or while a show runs (dunebugger-update-force@: a stronger right).")
@json_option("Print the result as JSON.")
@click.pass_obj
def update(  # noqa: PLR0913, PLR0917  # one parameter per click option
    ctx: Context, component: str | None, every: bool, version: str | None, from_file: str | None, dry_run: bool,
    force: bool, as_json: bool
) -> None:
    """Start dunebugger-update@COMPONENT over D-Bus, show its progress and its result."""
    from .follow import request_update
    from .results import Action

    if from_file is not None:
        update_from(ctx, component, from_file, every or version is not None, dry_run, force, as_json)
    if every:
        update_every(ctx, component, version, dry_run=dry_run, force=force, as_json=as_json)
    if component is None:
        raise click.UsageError("name a COMPONENT, or give --all")
    if version is not None and dry_run:
        raise click.UsageError("--version and --dry-run together are not supported")
    if force and dry_run:
        raise click.UsageError("--force and --dry-run together are not supported")
    if version is not None:
        require_root(f"update --version writes a request for {component}", as_json)
    config = ctx.config_or_exit(as_json)
    known_component(config, component)
    follow_and_exit(lambda show: request_update(config, component, version, dry_run=dry_run, force=force,
                                                on_progress=show), as_json,
                    Action.DRY_RUN if dry_run else Action.UPDATE)


def update_every(ctx: Context, component: str | None, version: str | None, *, dry_run: bool, force: bool,  # noqa: PLR0913  # the options of update
                 as_json: bool) -> NoReturn:
    """`update --all`: each component's result as it comes, then the summary as the last line."""
    from .follow import update_all

    if component is not None or version is not None:
        raise click.UsageError("--all takes no COMPONENT and no --version")
    config = ctx.config_or_exit(as_json)
    outcome = render.followed(lambda show: update_all(config, dry_run=dry_run, force=force, on_progress=show),
                              as_json)
    render.emit(outcome.to_dict(), as_json, render.render_all)
    sys.exit(int(outcome.exit_code()))


@click.command()
@config_option
@click.argument("component")
@click.option("--force", is_flag=True,
              help="Roll back a held component, or while a show runs (root only: the remote cannot).")
@json_option("Print the result as JSON.")
@click.pass_obj
def rollback(ctx: Context, component: str, force: bool, as_json: bool) -> None:
    """Start dunebugger-rollback@COMPONENT over D-Bus and show its result."""
    from .follow import start_rollback
    from .results import Action

    if force:
        require_root(f"rollback --force writes a request for {component}", as_json)
    config = ctx.config_or_exit(as_json)
    known_component(config, component)
    follow_and_exit(lambda show: start_rollback(config, component, force=force, on_progress=show), as_json,
                    Action.ROLLBACK)


def set_hold(ctx: Context, component: str, held: bool, as_json: bool) -> None:
    from . import state
    from .config import validate_instance
    from .holds import set_hold as write_hold

    require_root(f"{'hold' if held else 'unhold'} changes the holds of {component}", as_json)
    try:
        config = ctx.config()
        validate_instance(config, component)
        state_dir = Path(config.state_dir)
        changed = write_hold(state_dir, component, held)
        # mirrored into the check's record, so the frontend sees it before the next check
        state.update_state(state_dir, lambda data: data["components"].setdefault(component, {})
                           .__setitem__("held", held))
    except UnitsError as exc:
        render.fail(exc, as_json)
    render.emit({"component": component, "held": held, "changed": changed}, as_json, render.render_hold)


@click.command()
@config_option
@click.argument("component")
@json_option()
@click.pass_obj
def hold(ctx: Context, component: str, as_json: bool) -> None:
    """Hold COMPONENT, like apt-mark hold: never updated unattended; a person's update needs --force."""
    set_hold(ctx, component, True, as_json)


@click.command()
@config_option
@click.argument("component")
@json_option()
@click.pass_obj
def unhold(ctx: Context, component: str, as_json: bool) -> None:
    """Release the hold on COMPONENT."""
    set_hold(ctx, component, False, as_json)


# ---- internal: what the units run ---------------------------------------------------------------------------

main.add_command(check)
main.add_command(status)
main.add_command(history)
main.add_command(list_versions)
main.add_command(show_config)
main.add_command(update)
main.add_command(rollback)
main.add_command(hold)
main.add_command(unhold)
for command in UNIT_COMMANDS:
    main.add_command(command)
main.add_command(sync_timers)
main.add_command(import_releases)


def run() -> None:  # pragma: no cover - console script shim
    name = Path(sys.argv[0]).name
    main(prog_name="dunebugger-units" if name in ("__main__.py", "-c") else name)
