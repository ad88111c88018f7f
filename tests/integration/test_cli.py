"""The CLI with no surprises: `--config` after every verb, the internal verbs hidden but working,
`python -m dunebugger_units`, and the `config` verb (the effective configuration, and `--check`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from kits.devicekit import Device
from kits.standin import GithubStandin

from dunebugger_units.cli import main
from dunebugger_units.config import effective, load_config, parse_config

REPO = Path(__file__).resolve().parents[2]
INTERNAL = {"run-update", "run-rollback", "recover", "auto-update", "sync-timers"}
# every verb, with the arguments it needs to reach its configuration
VERBS = {"check": (), "status": (), "history": (), "list": ("core",), "config": (), "update": ("core",),
         "rollback": ("core",), "hold": ("core",), "unhold": ("core",), "run-update": ("core",),
         "run-rollback": ("core",), "recover": (), "auto-update": (), "sync-timers": (), "import": ("/media/usb",)}


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_the_table_names_every_verb() -> None:
    assert set(VERBS) == set(main.commands)


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_config_is_accepted_after_every_verb(tmp_path: Path, verb: str) -> None:
    missing = tmp_path / "absent.yaml"
    code, _, err = cli(verb, *VERBS[verb], "--config", str(missing))
    assert code == 3, err  # the option was taken, and the file it names was read (and is missing)
    assert err.strip() == f"dunebugger-units: reading configuration {missing}: it does not exist"


def test_internal_verbs_are_hidden_from_help_but_work(tmp_path: Path, device: Device,
                                                     standin: GithubStandin) -> None:
    code, out, _ = cli("--help")
    assert code == 0
    listed = {line.split()[0] for line in out.split("Commands:", 1)[1].splitlines() if line.strip()}
    assert listed == set(VERBS) - INTERNAL
    config = device.write_config(tmp_path / "updater.yaml", standin.url)
    code, out, _ = cli("--config", str(config), "recover", "--json")
    assert (code, json.loads(out)["status"]) == (0, "none")
    for verb in INTERNAL:
        assert cli(verb, "--help")[0] == 0


def test_python_dash_m_is_the_command() -> None:
    out = subprocess.run([sys.executable, "-m", "dunebugger_units", "--help"], capture_output=True, text=True,
                         timeout=60, check=False, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Usage: dunebugger-units [OPTIONS] COMMAND [ARGS]...")


def test_config_prints_the_effective_configuration(tmp_path: Path, device: Device, standin: GithubStandin) -> None:
    config_file = device.write_config(tmp_path / "updater.yaml", standin.url)
    code, out, _ = cli("config", "--config", str(config_file))
    assert code == 0
    shown = yaml.safe_load(out)
    config = load_config(config_file)
    assert shown == effective(config)
    assert shown["update"]["keep_backups"] == 3  # a default the file does not set
    assert shown["components"]["core"]["install_dir"] == str(device.core_dir)  # what the file sets
    assert parse_config(shown, source=str(config_file)) == config
    code, out, _ = cli("--config", str(config_file), "config", "--json")
    assert code == 0 and json.loads(out) == shown


def test_config_without_a_file_is_the_built_in_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DUNEBUGGER_UNITS_CONFIG", raising=False)
    monkeypatch.setattr("dunebugger_units.config.DEFAULT_CONFIG_PATH", tmp_path / "absent.yaml")
    code, out, _ = cli("config", "--json")
    assert code == 0 and json.loads(out) == effective(parse_config({}))


@pytest.mark.parametrize(("text", "code", "words"), [
    pytest.param("update: {keep_backups: 5}\n", 0, "valid", id="valid"),
    pytest.param("policy: {show_lock: /run/a}\ngithub: {}\npolicy: {remote_first: running}\n", 3,
                 "not valid YAML: line 3, column 1: duplicate key 'policy' (first at line 1)", id="duplicate"),
    pytest.param("update: {keep_backups: many}\n", 3, "update.keep_backups: expected an integer", id="bad-type"),
])
def test_config_check_validates_a_file(tmp_path: Path, text: str, code: int, words: str) -> None:
    path = tmp_path / "candidate.yaml"
    path.write_text(text)
    result = cli("config", "--check", str(path))
    assert result[0] == code
    line = (result[1] if code == 0 else result[2]).strip()
    assert len(line.splitlines()) == 1 and words in line
    # without FILE: the configuration in use, which --config names
    assert cli("--config", str(path), "config", "--check")[0] == code
    assert cli("config", "--check", "--config", str(path))[0] == code


def test_config_check_of_a_missing_file_exits_3(tmp_path: Path) -> None:
    code, _, err = cli("config", "--check", str(tmp_path / "absent.yaml"))
    assert code == 3 and "it does not exist" in err


@pytest.mark.parametrize(("args", "words"), [
    pytest.param(("update",), "name a COMPONENT, or give --all", id="neither"),
    pytest.param(("update", "--all", "core"), "--all takes no COMPONENT and no --version", id="all-and-a-component"),
    pytest.param(("update", "--all", "--version", "1.2.0"), "--all takes no COMPONENT and no --version",
                 id="all-and-a-version"),
])
def test_update_takes_a_component_or_all(args: tuple[str, ...], words: str) -> None:
    code, _, err = cli(*args)
    assert code == 2, err
    assert words in err
