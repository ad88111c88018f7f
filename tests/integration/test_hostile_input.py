"""The corpus of hostile and broken input: one clear error each, nothing changed, never a traceback.

Archives are in tests/unit/test_archive*.py and manifests in tests/unit/test_manifest.py (pure tables);
this file drives the whole command against the GitHub stand-in and broken files on disk.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from kits.devicekit import Device, publish_defaults
from kits.standin import GithubStandin

from dunebugger_units.cli import main
from dunebugger_units.net import redirect_allowed

CheckRun = Callable[..., tuple[int, str, str]]  # the check_as_user fixture (conftest.py)


def cli(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--config", str(config), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


GITHUB_ANSWERS = [
    pytest.param("notjson", "malformed JSON", id="html-not-json"),
    pytest.param("truncated", "malformed JSON", id="truncated-json"),
    pytest.param("huge", "over the", id="huge-json"),
    pytest.param("wrongtypes", "'tag_name' is int", id="wrong-types"),
    pytest.param("missingfields", "no 'tag_name'", id="missing-fields"),
    pytest.param("redirect-other-host", "redirect to host other.invalid is refused", id="redirect-other-host"),
    pytest.param("redirect-file", "redirect to a file URL is refused", id="redirect-file-scheme"),
    pytest.param("redirect-loop", "more than 5 redirects", id="redirect-loop"),
    pytest.param("500", "HTTP 500", id="server-error"),
]


@pytest.mark.parametrize(("fault", "reason"), GITHUB_ANSWERS)
def test_hostile_github_answers(tmp_path: Path, device: Device, standin: GithubStandin, fault: str,
                                reason: str, *, check_as_user: CheckRun) -> None:
    publish_defaults(standin)
    config = device.write_config(tmp_path / "updater.yaml", standin.url)
    check_as_user(config)
    before = (device.cache_dir / "check.json").read_bytes()
    standin.faults["dunebugger"] = fault
    code, out, err = check_as_user(config, "--json")
    assert code == 5
    core = json.loads(out)["components"]["core"]
    assert reason in core["error"]
    assert core["latest"] == "1.2.0"  # the last known release is kept
    assert "Traceback" not in err
    after = json.loads((device.cache_dir / "check.json").read_text())
    assert after["components"]["scheduler"] == json.loads(before)["components"]["scheduler"] | {
        "last_checked": after["components"]["scheduler"]["last_checked"]}


def test_release_without_assets_is_a_release(tmp_path: Path, device: Device, standin: GithubStandin,
                                              check_as_user: CheckRun) -> None:
    standin.releases["dunebugger"] = [{"tag_name": "v1.2.0", "draft": False, "prerelease": False}]
    config = device.write_config(tmp_path / "updater.yaml", standin.url)
    code, out, _ = check_as_user(config, "--json", "core")
    assert code == 0
    assert json.loads(out)["components"]["core"]["assets"] == []


@pytest.mark.parametrize(("origin", "target", "allowed"), [
    pytest.param("https://api.github.com/x", "https://api.github.com/y", True, id="same-host"),
    pytest.param("https://github.com/a", "https://objects.githubusercontent.com/b", True, id="asset-host"),
    pytest.param("https://api.github.com/x", "http://api.github.com/y", False, id="https-to-http"),
    pytest.param("https://api.github.com/x", "https://evil.example/y", False, id="other-host"),
    pytest.param("http://127.0.0.1:8/x", "ftp://127.0.0.1/y", False, id="ftp"),
])
def test_redirect_policy(origin: str, target: str, allowed: bool) -> None:
    hosts = ("github.com", "objects.githubusercontent.com")
    assert (redirect_allowed(origin, target, hosts) is None) is allowed


@pytest.mark.parametrize("instance", [pytest.param("../x", id="dotdot"), pytest.param("core;x", id="semicolon"),
                                      pytest.param("", id="empty"), pytest.param("nats", id="unknown")])
def test_hostile_instances(tmp_path: Path, device: Device, standin: GithubStandin, instance: str,
                           check_as_user: CheckRun) -> None:
    publish_defaults(standin)
    config = device.write_config(tmp_path / "updater.yaml", standin.url)
    check_as_user(config)
    before = device.compose_file.read_bytes()
    code, out, err = cli(config, "run-update", instance, "--json")
    assert code == 75
    assert "refusing unit instance" in json.loads(out)["message"]
    assert device.compose_file.read_bytes() == before
    assert "Traceback" not in err


CONFIGS = [
    pytest.param("github: {include_prerelease: maybe}\n", "github.include_prerelease: expected true or false",
                 id="wrong-type"),
    pytest.param("colour: red\n", "colour: unknown key", id="unknown-key"),
    pytest.param("components: {core: {type: flatpak}}\n", "unknown component type 'flatpak'", id="unknown-type"),
    pytest.param("github: [\n", "not valid YAML", id="broken-yaml"),
    pytest.param("!!python/object/apply:os.system ['true']\n", "not valid YAML", id="python-tag"),
    pytest.param("update: {keep_backups: -2}\n", "update.keep_backups: must be above 0", id="negative"),
]


@pytest.mark.parametrize(("text", "message"), CONFIGS)
@pytest.mark.parametrize("command", ["check", "status", "history", "run-update core", "run-rollback core"])
def test_bad_configuration_is_one_line(tmp_path: Path, text: str, message: str, command: str) -> None:
    config = tmp_path / "updater.yaml"
    config.write_text(text)
    code, _, err = cli(config, *command.split())
    assert code == 3
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert message in lines[0]


@pytest.mark.parametrize("content", [pytest.param("", id="empty"), pytest.param("{\"compo", id="truncated"),
                                     pytest.param("[1, 2]", id="not-a-record")])
def test_corrupt_state_file(tmp_path: Path, device: Device, standin: GithubStandin, content: str,
                            check_as_user: CheckRun) -> None:
    publish_defaults(standin)
    config = device.write_config(tmp_path / "updater.yaml", standin.url)
    device.cache_dir.mkdir(parents=True)
    (device.state_dir / "state.json").write_text(content)
    (device.cache_dir / "check.json").write_text(content)
    code, _, err = cli(config, "status")
    assert code == 3
    assert "reading state" in err and "Traceback" not in err
    code, out, err = check_as_user(config, "--json")  # the check moves its own cache aside and starts afresh
    assert code == 0
    assert json.loads(out)["components"]["core"]["latest"] == "1.2.0"
    assert "moved aside" in err
    assert [p.read_text() for p in device.cache_dir.glob("check.json.corrupt-*")] == [content]
    # root's record is root's to mend: the next run keeps it aside and records afresh
    assert (device.state_dir / "state.json").read_text() == content
    cli(config, "run-update", "remote")
    assert [p.read_text() for p in device.state_dir.glob("state.json.corrupt-*")] == [content]
    code, out, _ = cli(config, "status", "--json")
    assert code == 0 and json.loads(out)["components"]["core"]["latest"] == "1.2.0"


def test_refused_instances_leave_no_trace_in_the_state(tmp_path: Path, device: Device, standin: GithubStandin,
                                                      check_as_user: CheckRun) -> None:
    publish_defaults(standin)
    config = device.write_config(tmp_path / "updater.yaml", standin.url)
    check_as_user(config)
    for instance in ("../x", "nats", "core;x"):
        cli(config, "run-update", instance)
    # root's record names no hostile instance (refused runs are not mirrored into it at all)
    assert not (device.state_dir / "state.json").exists()
    assert set(device.cache()["components"]) == {"core", "scheduler", "remote"}
    assert all(p.parent == device.state_dir / "results" for p in device.root.rglob("*-update.json"))
