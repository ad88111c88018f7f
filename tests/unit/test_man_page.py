"""The man page renders cleanly (mandoc's linter, groff's warnings, man itself), is the one reference for
every command, option, exit code and configuration key (a test fails when one is missing) and keeps each
command's synopsis on its tag line; the journal catalog's rollback entry names the version restored."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import click
import pytest

from dunebugger_units.cli import main
from dunebugger_units.config import config_keys
from dunebugger_units.errors import ExitCode
from dunebugger_units.render import EXIT_INTERRUPTED

PACKAGING = Path(__file__).resolve().parents[2] / "packaging"
MAN = PACKAGING / "man/dunebugger-units.1"
COMMANDS = sorted(main.commands)


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "MANWIDTH": "200", "LC_ALL": "C.UTF-8"})


def test_mandoc_lint_finds_no_warning() -> None:
    out = run("mandoc", "-T", "lint", "-W", "warning", str(MAN))
    assert out.returncode == 0 and out.stdout + out.stderr == "", out.stdout + out.stderr


def test_groff_warns_about_nothing() -> None:
    out = run("groff", "-man", "-ww", "-z", str(MAN))
    assert out.returncode == 0 and out.stderr == "", out.stderr


def rendered() -> str:
    page = run("man", "-l", str(MAN)).stdout
    return re.sub(r".\x08", "", page)  # overstrike bold and underline


def section(name: str) -> str:
    """The text of one section: from its heading to the next (a heading is a line that is not indented)."""
    text = rendered().split(f"\n{name}\n", 1)[1]
    return re.split(r"\n(?=\S)", text, maxsplit=1)[0]


def tag_line(command: str) -> str:
    [tag] = [line.strip() for line in rendered().splitlines() if re.match(rf"^\s+{re.escape(command)}( |$)", line)]
    return tag


def named(word: str, text: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_tag_is_one_whole_synopsis_line(command: str) -> None:
    assert tag_line(command).endswith("[--json]"), tag_line(command)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_of_a_command_is_on_its_tag_line(command: str) -> None:
    tag = tag_line(command)
    options = [p for p in main.commands[command].params if isinstance(p, click.Option) and p.name != "help"]
    assert options
    missing = [opt for p in options for opt in (*p.opts, *p.secondary_opts) if not named(opt, tag)]
    assert not missing, f"{command}: {missing} missing from the man page's {tag!r}"


def test_every_option_of_the_command_itself_is_in_options() -> None:
    text = section("OPTIONS")
    opts = [opt for p in main.params if isinstance(p, click.Option) for opt in (*p.opts, *p.secondary_opts)]
    assert [opt for opt in [*opts, "-h", "--help"] if not named(opt, text)] == []


def test_every_exit_code_is_explained() -> None:
    text = section("EXIT STATUS")
    listed = {int(line.split()[0]) for line in text.splitlines() if line.strip() and line.split()[0].isdigit()}
    assert listed == {int(code) for code in ExitCode} | {EXIT_INTERRUPTED}


def test_every_configuration_key_is_explained() -> None:
    text = section("CONFIGURATION")
    tags = {line.strip() for line in text.splitlines()}
    assert [key for key in config_keys() if key not in tags] == []


def test_the_catalog_rollback_entry_names_the_version_restored() -> None:
    from dunebugger_units.journal import ROLLBACK_SUCCEEDED

    catalog = (PACKAGING / "catalog/dunebugger-units.catalog").read_text()
    entry = catalog.split(f"-- {ROLLBACK_SUCCEEDED}\n", 1)[1].split("\n-- ", 1)[0]
    # a rollback's result runs from the failed version to the restored one: TO_VERSION is what runs again
    assert entry.splitlines()[0] == "Subject: @COMPONENT@ rolled back to @TO_VERSION@"
    assert "@COMPONENT@ runs @TO_VERSION@ again" in entry
