"""Installing from files, the person's side: `update COMPONENT --from FILE` and `import DIR` (a USB stick).

Root stages each file (fromfile.py), leaves the update unit a one-shot request naming the copy, starts
dunebugger-update@C (or its dry-run or force twin) and follows it to its recorded result, as a download's
update is followed; the request is taken back and the copy removed afterwards. `import` takes a flat directory
and installs what it holds in the order of `update --all`: remote, scheduler, then core, stopping at the first
failure. docs/design.md, "Install from a file".
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from . import render
from .cli_context import config_option, json_option, known_component, require_root
from .errors import Refused, UnitsError

if TYPE_CHECKING:
    from .cli_context import Context
    from .config import Config
    from .follow import AllResult
    from .fromfile import Staged
    from .results import UpdateResult


def install_staged(config: Config, staged: Staged, *, dry_run: bool, force: bool,
                   on_progress: Callable[[str], None] | None = None) -> UpdateResult:
    """Hand the staged file to the update unit and follow it; then take the request back (a unit that joined
    a run already going never read it) and remove the copy. Not when following stopped: the unit reads them."""
    from . import state
    from .follow import follow_unit, taken_back_after, update_unit
    from .fromfile import discard, request_of
    from .results import Action

    state_dir, name = Path(config.state_dir), staged.component
    state.write_file_request(state_dir, name, request_of(staged), dry_run=dry_run)

    def take_back() -> None:
        state.take_file_request(state_dir, name, dry_run=dry_run)
        discard(staged.dir)

    unit, action = update_unit(name, dry_run=dry_run, force=force), Action.DRY_RUN if dry_run else Action.UPDATE
    return taken_back_after(lambda: follow_unit(state_dir, unit, name, action, on_progress=on_progress), take_back)


def take_staged(config: Config, component: str, *, dry_run: bool, as_json: bool) -> Staged | None:
    """In the update unit: the staged file root's request names, or None without one. A request that does
    not hold up ends the run with its reason: it never falls back to a download."""
    from . import state
    from .config import COMPONENT_NAME
    from .fromfile import staged_from_request

    known = config.components.get(component)
    if known is None or not COMPONENT_NAME.match(component):
        return None
    request = state.take_file_request(Path(config.state_dir), component, dry_run=dry_run)
    try:
        return staged_from_request(config, known, request)
    except UnitsError as exc:
        render.fail(exc, as_json)


def update_from(ctx: Context, component: str | None, given: str, other_target: bool, dry_run: bool,  # noqa: PLR0913, PLR0917  # the options of update
                force: bool, as_json: bool) -> NoReturn:
    """`update COMPONENT --from FILE`; `other_target`: --all or --version was given too."""
    from .fromfile import stage
    from .results import Action

    if component is None or other_target:
        raise click.UsageError("--from takes one COMPONENT, without --all or --version (the file names its version)")
    if force and dry_run:
        raise click.UsageError("--force and --dry-run together are not supported")
    require_root(f"update --from copies {given} into root's staging area", as_json)
    config = ctx.config_or_exit(as_json)
    known_component(config, component)
    try:
        staged = stage(config, config.component(component), Path(given))
    except UnitsError as exc:
        render.fail(exc, as_json)
    result = render.followed(
        lambda show: install_staged(config, staged, dry_run=dry_run, force=force, on_progress=show), as_json)
    render.exit_with(result, as_json, Action.DRY_RUN if dry_run else Action.UPDATE)


@click.command("import")
@config_option
@click.argument("directory", metavar="DIR")
@click.option("--dry-run", is_flag=True, help="Run every check of each file and show the plans; change nothing.")
@click.option("--force", is_flag=True, help="Install into a held component, or while a show runs.")
@json_option("Print the results as JSON, like update --all.")
@click.pass_obj
def import_releases(ctx: Context, directory: str, dry_run: bool, force: bool, as_json: bool) -> None:
    """Install the release files in DIR (a USB stick): remote, scheduler, then core."""
    require_root(f"import copies the files of {directory} into root's staging area", as_json)
    config = ctx.config_or_exit(as_json)
    outcome = render.followed(
        lambda show: import_dir(config, Path(directory), dry_run=dry_run, force=force, on_progress=show), as_json)
    data = {**outcome.to_dict(), "directory": str(Path(directory).absolute())}
    data["summary"] = "import: " + str(data["summary"]).removeprefix("update --all: ")
    render.emit(data, as_json, render.render_all)
    sys.exit(int(outcome.exit_code()))


def import_dir(config: Config, directory: Path, *, dry_run: bool, force: bool,
               on_progress: Callable[[str], None] | None = None) -> AllResult:
    """Each component's file in `directory`, one update unit after another; the first failure stops the rest
    (what was done stays done: each finished update was verified by its unit)."""
    from .follow import AllResult, not_run, update_order
    from .fromfile import plan_import
    from .results import Action, Status

    try:
        names = [entry.name for entry in os.scandir(directory) if not entry.name.startswith(".")]
    except OSError as exc:
        raise Refused(f"importing from {directory}: {exc.strerror}") from None
    plan = plan_import([config.component(n) for n in update_order(config.components)], names)
    if all(file is None for _, file in plan):
        raise Refused(f"importing from {directory}: no release file of any component in it (named like "
                         "dunebugger-1.3.0.tar.gz or scheduler-1.3.0.tar)")
    outcome = AllResult(action=Action.DRY_RUN if dry_run else Action.UPDATE)
    for name, file in plan:
        if outcome.stopped_at is not None and not dry_run:  # a dry run changes nothing: every plan is shown
            outcome.results.append(not_run(name, outcome.action, Status.SKIPPED,
                                           f"not started: {outcome.stopped_at.component} did not update"))
        elif file is None:
            outcome.results.append(not_run(name, outcome.action, Status.UNCHANGED, f"no release file in {directory}"))
        else:
            outcome.results.append(_install_one(config, name, directory / file, dry_run, force, on_progress))
    return outcome


def _install_one(config: Config, name: str, file: Path, dry_run: bool, force: bool,  # noqa: PLR0913, PLR0917  # one component of import_dir
                 on_progress: Callable[[str], None] | None) -> UpdateResult:
    from .follow import not_run
    from .fromfile import stage
    from .results import Action, Status

    try:
        staged = stage(config, config.component(name), file)
    except UnitsError as exc:  # nothing was started: refused, like a unit's refusal before any change
        return not_run(name, Action.DRY_RUN if dry_run else Action.UPDATE, Status.REFUSED, str(exc))
    show = None if on_progress is None else (lambda phase: on_progress(f"{name}: {phase}"))
    return install_staged(config, staged, dry_run=dry_run, force=force, on_progress=show)

