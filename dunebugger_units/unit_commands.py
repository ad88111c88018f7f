"""The commands the units run, hidden from --help: each names itself in the journal, needs root, loads the
configuration, calls its phase in this process, prints the result and exits with its code. A person starts
the units (cli.py's update, rollback), never these.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from . import journal, render
from .cli_context import config_option, json_option, require_root
from .errors import ExitCode, UnitsError

if TYPE_CHECKING:
    from .cli_context import Context
    from .config import Config


def entered(ctx: Context, identifier: str, what: str, as_json: bool) -> Config:
    """What each of these does first: its name in the journal, root, the configuration (or exit 3)."""
    journal.set_identifier(identifier)
    require_root(what, as_json)
    return ctx.config_or_exit(as_json)


@click.command("run-update", hidden=True)
@config_option
@click.argument("component")
@click.option("--version", "version", metavar="VERSION",
              help="Install this version (maybe older) instead of the latest.")
@click.option("--dry-run", is_flag=True, help="Run every check and show the plan; change nothing.")
@click.option("--force", is_flag=True, help="Update even if held or while a show holds the show lock.")
@json_option("Print the result as JSON.")
@click.pass_obj
def run_update_command(  # noqa: PLR0913, PLR0917  # one parameter per click option
    ctx: Context, component: str, version: str | None, dry_run: bool, force: bool, as_json: bool
) -> None:
    """Update COMPONENT in this process (what dunebugger-update@COMPONENT.service runs)."""
    from . import state
    from .config import COMPONENT_NAME
    from .file_import import take_staged
    from .phases.update import run_update

    config = entered(ctx, "dunebugger-update", f"run-update changes {component}", as_json)
    staged = take_staged(config, component, dry_run=dry_run, as_json=as_json)
    if version is None and not dry_run and COMPONENT_NAME.match(component):
        version = state.take_request(Path(config.state_dir), component)
    result = run_update(config, component, version=version, dry_run=dry_run, force=force, staged=staged)
    render.exit_with(result, as_json)


@click.command("run-rollback", hidden=True)
@config_option
@click.argument("component")
@click.option("--force", is_flag=True, help="Roll back on request even if held or while a show holds the show lock.")
@json_option("Print the result as JSON.")
@click.pass_obj
def run_rollback_command(ctx: Context, component: str, force: bool, as_json: bool) -> None:
    """Roll COMPONENT back in this process (what dunebugger-rollback@COMPONENT.service runs)."""
    from . import state
    from .config import COMPONENT_NAME
    from .phases.rollback import run_rollback

    config = entered(ctx, "dunebugger-rollback", f"run-rollback changes {component}", as_json)
    if COMPONENT_NAME.match(component):
        force = state.take_forced_rollback(Path(config.state_dir), component) or force
    render.exit_with(run_rollback(config, component, force=force), as_json)


@click.command(hidden=True)
@config_option
@json_option("Print the result as JSON.")
@click.pass_obj
def recover(ctx: Context, as_json: bool) -> None:
    """Finish or roll back an update that was interrupted (what dunebugger-recover.service runs at boot)."""
    from .phases.recover import run_recovery

    config = entered(ctx, "dunebugger-recover", "recover changes the device", as_json)
    try:
        result = run_recovery(config)
    except UnitsError as exc:
        render.fail(exc, as_json)
    if result is None:
        render.emit({"status": "none", "message": "no interrupted update"}, as_json, render.render_recovery_none)
        return
    render.exit_with(result, as_json)


@click.command("auto-update", hidden=True)
@config_option
@json_option("Print each component's decision as JSON.")
@click.pass_obj
def auto_update(ctx: Context, as_json: bool) -> None:
    """Unattended updates of the components with policy auto (what dunebugger-auto-update.service runs)."""
    from .phases.auto import run_auto

    config = entered(ctx, "dunebugger-auto-update", "auto-update changes the device", as_json)
    try:
        report = run_auto(config)
    except UnitsError as exc:
        render.fail(exc, as_json)
    render.emit(report.to_dict(), as_json, render.render_auto)
    if report.failed:
        sys.exit(int(ExitCode.UPDATE_FAILED))


UNIT_COMMANDS = (run_update_command, run_rollback_command, recover, auto_update)
