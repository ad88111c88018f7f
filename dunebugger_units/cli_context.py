"""What every command of `dunebugger-units` shares: the Context that carries `--config`, the shared options,
and the root check. Commands live in cli.py (and timer_sync.py); they import these."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import click

from . import render
from .errors import NeedsRoot, UnitsError

if TYPE_CHECKING:
    from .config import Config

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Context:
    config_option: str | None

    def config(self) -> Config:
        from .config import config_path, load_config

        return load_config(config_path(self.config_option), explicit=self.explicit)

    @property
    def explicit(self) -> bool:
        """A path a person gave (`--config` or $DUNEBUGGER_UNITS_CONFIG) must exist; only the default may not."""
        from .config import CONFIG_ENV

        return bool(self.config_option or os.environ.get(CONFIG_ENV))

    def config_or_exit(self, as_json: bool) -> Config:
        """The configuration, or one line on stderr and exit 3."""
        try:
            return self.config()
        except UnitsError as exc:
            render.fail(exc, as_json)


class Main(click.Group):
    """The command group: a permission refused anywhere is one line that says root is needed."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PermissionError as exc:
            what = f"{exc.filename}: {exc.strerror}" if exc.filename else str(exc.strerror or exc)
            render.fail(NeedsRoot(f"needs root: {what} (run it with sudo)"), as_json=False)


def _remember_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """`--config` after the subcommand means the same as before it."""
    if value is not None:
        ctx.ensure_object(Context).config_option = value
    return value


def config_option(command: F) -> F:
    return click.option("--config", "sub_config", metavar="PATH", expose_value=False, is_eager=True,
                        callback=_remember_config, help="Configuration file (also accepted before the command).")(
        command)


def json_option(text: str = "Print JSON.") -> Callable[[F], F]:
    return click.option("--json", "as_json", is_flag=True, help=text)


def require_root(what: str, as_json: bool) -> None:
    """Exit 77 (EX_NOPERM), naming what needs root and the fix, before anything is read or written."""
    if os.geteuid() != 0:
        render.fail(NeedsRoot(f"needs root: {what} (run it with sudo)"), as_json)


def known_component(config: Config, component: str) -> None:
    """For a person's command, a name that is not a component is a usage error (exit 2), not a refusal."""
    if component not in config.components:
        raise click.BadParameter(f"{component!r} is not a component (known: {', '.join(config.components)})",
                                 param_hint="COMPONENT")
