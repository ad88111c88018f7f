"""The man page renders cleanly (mandoc's linter, groff's warnings, man itself) and keeps each command's
synopsis on its tag line; the journal catalog's rollback entry names the version restored."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

PACKAGING = Path(__file__).resolve().parents[2] / "packaging"
MAN = PACKAGING / "man/dunebugger-units.1"
COMMANDS = ["check", "status", "history", "update", "rollback", "run-update", "run-rollback", "recover"]


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "MANWIDTH": "200", "LC_ALL": "C.UTF-8"})


def test_mandoc_lint_finds_no_warning() -> None:
    out = run("mandoc", "-T", "lint", "-W", "warning", str(MAN))
    assert out.returncode == 0 and out.stdout + out.stderr == "", out.stdout + out.stderr


def test_groff_warns_about_nothing() -> None:
    out = run("groff", "-man", "-ww", "-z", str(MAN))
    assert out.returncode == 0 and out.stderr == "", out.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_tag_is_one_whole_synopsis_line(command: str) -> None:
    page = run("man", "-l", str(MAN)).stdout
    page = re.sub(r".\x08", "", page)  # overstrike bold and underline
    [tag] = [line.strip() for line in page.splitlines() if re.match(rf"^\s+{re.escape(command)}( |$)", line)]
    options = {"history": "[--json]", "update": "[--json]", "run-update": "[--json]", "check": "[--json]"}
    assert tag.endswith(options.get(command, "")), tag


def test_the_catalog_rollback_entry_names_the_version_restored() -> None:
    from dunebugger_units.journal import ROLLBACK_SUCCEEDED

    catalog = (PACKAGING / "catalog/dunebugger-units.catalog").read_text()
    entry = catalog.split(f"-- {ROLLBACK_SUCCEEDED}\n", 1)[1].split("\n-- ", 1)[0]
    # a rollback's result runs from the failed version to the restored one: TO_VERSION is what runs again
    assert entry.splitlines()[0] == "Subject: @COMPONENT@ rolled back to @TO_VERSION@"
    assert "@COMPONENT@ runs @TO_VERSION@ again" in entry
