"""The commands of issue 15, registered in cli.py with add_command: `hold`, `unhold`, `list` and
`auto-update` (what dunebugger-auto-update.service runs). Heavy modules are imported inside the commands.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from .errors import ExitCode, UnitsError


def _set_hold(ctx: Any, component: str, held: bool, as_json: bool) -> None:
    from pathlib import Path

    from . import state
    from .cli import emit, fail
    from .config import validate_instance
    from .holds import set_hold

    try:
        config = ctx.config()
        validate_instance(config, component)
        state_dir = Path(config.state_dir)
        try:
            changed = set_hold(state_dir, component, held)
            # mirrored into the check's record, so the frontend sees it before the next check
            state.update_state(state_dir, lambda data: data["components"].setdefault(component, {})
                               .__setitem__("held", held))
        except PermissionError as exc:
            raise UnitsError(f"{'holding' if held else 'releasing'} {component}: {exc.filename}: permission "
                             "denied (run as root)") from None
    except UnitsError as exc:
        fail(exc, as_json)
    word = "held" if held else "no longer held"
    note = "" if changed else " (already)"
    emit({"component": component, "held": held, "changed": changed}, as_json,
         lambda _: f"{component} is {word}{note}")


@click.command()
@click.argument("component")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def hold(ctx: Any, component: str, as_json: bool) -> None:
    """Hold COMPONENT, like apt-mark hold: never updated unattended; a person's update needs --force."""
    _set_hold(ctx, component, True, as_json)


@click.command()
@click.argument("component")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def unhold(ctx: Any, component: str, as_json: bool) -> None:
    """Release the hold on COMPONENT."""
    _set_hold(ctx, component, False, as_json)


@click.command("list")
@click.argument("component")
@click.option("--prereleases/--no-prereleases", default=None,
              help="Show prereleases [default: github.include_prerelease].")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: {component, versions: [...]}, newest first.")
@click.pass_obj
def list_versions(ctx: Any, component: str, prereleases: bool | None, as_json: bool) -> None:
    """List the versions of COMPONENT on GitHub: installed, latest, held, and what --version accepts."""
    from .cli import emit, fail
    from .phases.listing import render_list, run_list

    try:
        data = run_list(ctx.config(), component, prereleases)
    except UnitsError as exc:
        fail(exc, as_json)
    emit(data, as_json, render_list)


@click.command("auto-update")
@click.option("--json", "as_json", is_flag=True, help="Print each component's decision as JSON.")
@click.pass_obj
def auto_update(ctx: Any, as_json: bool) -> None:
    """Unattended updates of the components with policy auto (what dunebugger-auto-update.service runs)."""
    from . import journal
    from .cli import emit, fail
    from .phases.auto import run_auto

    journal.set_identifier("dunebugger-auto-update")
    try:
        report = run_auto(ctx.config())
    except UnitsError as exc:
        fail(exc, as_json)
    emit(report.to_dict(), as_json, lambda data: "\n".join(
        f"{name}: {d['action']}: {d['reason']}" + (f" -> {d['result'].get('message')}" if d["result"] else "")
        for name, d in data.items()) or "no component has policy auto")
    if report.failed:
        sys.exit(int(ExitCode.UPDATE_FAILED))
