"""What a person's `check` and `--help` import, without timing anything: a new process as nobody, against the
loopback GitHub, lists its modules at exit. What only an update, the remote or the system bus uses must not be
among them (docs/performance.md: the cold start is what a person waits for, on a Pi)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from kits.devicekit import Device, publish_defaults
from kits.standin import GithubStandin

REPO = Path(__file__).resolve().parents[2]
NOBODY = 65534
LIST_MODULES = ("import atexit, json, sys\n"
                "atexit.register(lambda: sys.stderr.write('MODULES ' + json.dumps(sorted(sys.modules)) + '\\n'))\n"
                "from dunebugger_units.cli import run\n"
                "run()\n")
# what a check never needs: the update's and the remote's modules, the system bus, the compose editor
NOT_FOR_CHECK = ("ruamel", "sdbus", "asyncio", "concurrent.futures", "logging", "requests", "urllib3", "hashlib",
                 "tarfile", "gzip", "difflib", "tempfile",
                 "dunebugger_units.systemd", "dunebugger_units.remote", "dunebugger_units.follow",
                 "dunebugger_units.phases.update", "dunebugger_units.phases.run",
                 # the kinds' update work (kinds/deferred.py), and what only it uses
                 "dunebugger_units.kinds.container_update", "dunebugger_units.kinds.python_app_update",
                 "dunebugger_units.docker", "dunebugger_units.download", "dunebugger_units.archive")
NOT_FOR_CHECK_ALONE = ("shutil",)  # click's help imports it for the terminal's width
NOT_FOR_HELP = (*NOT_FOR_CHECK, "yaml", "http.client", "ssl", "dunebugger_units.kinds", "dunebugger_units.config",
                "packaging")


def modules_of(config: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    out = subprocess.run([sys.executable, "-c", LIST_MODULES, "--config", str(config), *args], capture_output=True,
                         text=True, timeout=60, check=False, cwd="/", user=NOBODY, group=NOBODY, extra_groups=[],
                         env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": "/nonexistent"})
    line = next(line for line in out.stderr.splitlines() if line.startswith("MODULES "))
    return out, set(json.loads(line.removeprefix("MODULES ")))


def loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(f"{n}.") for n in names))


@pytest.fixture
def config(device: Device, standin: GithubStandin) -> Path:
    publish_defaults(standin)
    device.cache_dir.mkdir(parents=True, exist_ok=True)
    shutil.chown(device.cache_dir, NOBODY, NOBODY)
    path = device.root / "updater.yaml"
    path.write_text(yaml.safe_dump(device.config(standin.url)))
    os.chmod(path, 0o644)
    return path


def test_a_persons_check_imports_nothing_only_an_update_or_the_remote_needs(config: Path,
                                                                             standin: GithubStandin) -> None:
    out, modules = modules_of(config, "check")
    assert out.returncode == 0, out.stderr
    assert "update available: 1.2.0" in out.stdout  # it did check: the versions came from the stand-in
    assert standin.requests_to("/releases")
    assert loaded(modules, (*NOT_FOR_CHECK, *NOT_FOR_CHECK_ALONE)) == []
    assert "dunebugger_units.compose_light" in modules  # the device's plain compose file, read without ruamel


def test_help_imports_neither_the_configuration_nor_the_network(config: Path) -> None:
    out, modules = modules_of(config, "--help")
    assert out.returncode == 0, out.stderr
    assert "check" in out.stdout
    assert loaded(modules, NOT_FOR_HELP) == []
