"""What a person sees: one line for every error (never a traceback), the right exit code, and output without
warts. Through the real CLI (click's runner, or a child process for another user)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from kits.devicekit import Device, publish_defaults
from kits.standin import GithubStandin

from dunebugger_units import state, transaction
from dunebugger_units.cli import main, parse_since
from dunebugger_units.render import render_components, render_result

REPO = Path(__file__).resolve().parents[2]
CheckRun = Callable[..., tuple[int, str, str]]  # the check_as_user fixture (conftest.py)


@pytest.fixture
def config_file(tmp_path: Path, device: Device, standin: GithubStandin) -> Path:
    publish_defaults(standin)
    return device.write_config(tmp_path / "updater.yaml", standin.url)


def cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


def test_version_flag() -> None:
    code, out, _ = cli("--version")
    assert code == 0
    assert out.startswith("dunebugger-units ") and out.split()[1][0].isdigit()


def test_config_is_accepted_before_or_after_the_command(config_file: Path) -> None:
    before = cli("--config", str(config_file), "status", "--json")
    after = cli("status", "--json", "--config", str(config_file))
    assert before[0] == after[0] == 0
    assert json.loads(before[1]) == json.loads(after[1])


@pytest.mark.parametrize("how", ["option", "environment"])
def test_a_config_path_that_was_given_must_exist(tmp_path: Path, how: str) -> None:
    missing = tmp_path / "nope.yaml"
    env = {"DUNEBUGGER_UNITS_CONFIG": str(missing)}
    args, env = (["--config", str(missing)], None) if how == "option" else ([], env)
    code, _, err = cli(*args, "status", env=env)
    assert code == 3
    assert one_line(err) == f"dunebugger-units: reading configuration {missing}: it does not exist"


def test_a_type_only_component_is_told_what_is_missing(tmp_path: Path) -> None:
    path = tmp_path / "updater.yaml"
    path.write_text("components:\n  scheduler: {type: python_app}\n")
    code, _, err = cli("--config", str(path), "status")
    assert code == 3
    line = one_line(err)
    assert line.endswith("components.scheduler.repo: required for a python_app component")
    assert "compose_service" not in line


@pytest.mark.parametrize(("token_file", "words"), [
    pytest.param("absent", "does not exist", id="missing"),
    pytest.param("dir", "Is a directory", id="unreadable"),
])
def test_a_bad_token_file_is_an_error(tmp_path: Path, device: Device, standin: GithubStandin, token_file: str,
                                      words: str, *, check_as_user: CheckRun) -> None:
    target = device.root / token_file
    if token_file == "dir":
        target.mkdir()
    config = device.write_config(tmp_path / "updater.yaml", standin.url, token_file=str(target))
    code, _, err = check_as_user(config)
    assert code == 3
    line = one_line(err)
    assert line.startswith("dunebugger-units: github.token_file: ") and words in line


@pytest.mark.parametrize(("api_url", "words"), [
    pytest.param("http://no-such-host.invalid", "the host name does not resolve (DNS or no network)", id="dns"),
    pytest.param("http://127.0.0.1:9", "connection refused", id="refused"),
])
def test_dns_failure_and_connection_refused_are_told_apart(tmp_path: Path, device: Device, api_url: str,
                                                           words: str, *, check_as_user: CheckRun) -> None:
    config = device.write_config(tmp_path / "updater.yaml", api_url)
    code, out, _ = check_as_user(config, "scheduler", "--json")
    assert code == 5
    error = json.loads(out)["components"]["scheduler"]["error"]
    assert error.endswith(f"failed: {words}"), error


def test_a_wrong_owner_is_an_error_not_no_release(tmp_path: Path, device: Device, standin: GithubStandin,
                                                  check_as_user: CheckRun) -> None:
    publish_defaults(standin)
    standin.owner = "marco-svitol"
    config = device.write_config(tmp_path / "updater.yaml", standin.url, owner="marco-svitoll")
    code, out, _ = check_as_user(config, "remote", "--json")
    assert code == 5
    assert json.loads(out)["components"]["remote"]["error"] == (
        "GitHub has no repository marco-svitoll/dunebugger-remote (HTTP 404): check github.owner and the "
        "component's repo")
    # the right owner with no full release yet is still "no release published", not an error
    right = device.write_config(tmp_path / "right.yaml", standin.url)
    code, out, _ = check_as_user(right, "remote", "--json")
    assert code == 0 and json.loads(out)["components"]["remote"]["error"] is None


def test_update_of_a_name_that_is_no_component_is_a_usage_error(config_file: Path) -> None:
    code, _, err = cli("--config", str(config_file), "update", "foo")
    assert code == 2
    assert "'foo' is not a component (known: core, scheduler, remote)" in err


@pytest.mark.parametrize("version", [pytest.param(None, id="latest"), pytest.param("1.0.0-beta.15", id="requested")])
def test_an_up_to_date_update_is_unchanged_and_exits_0(config_file: Path, device: Device, standin: GithubStandin,
                                                        version: str | None, *, check_as_user: CheckRun) -> None:
    standin.add_release("dunebugger-scheduler", "v1.0.0-beta.15")
    check_as_user(config_file)
    before = device.compose_file.read_bytes()
    code, out, _ = cli("--config", str(config_file), "run-update", "scheduler", "--json",
                       *(["--version", version] if version else []))
    assert code == 0  # as apt and podman: nothing to do is no failure
    result = json.loads(out)
    assert (result["status"], result["success"], result["changed"]) == ("unchanged", True, False)
    assert ("already up to date" if version is None else "is already installed") in result["message"]
    assert device.compose_file.read_bytes() == before
    assert device.state()["components"]["scheduler"]["last_result"]["status"] == "unchanged"


def test_status_never_says_checked_never_or_latest_none(config_file: Path, check_as_user: CheckRun) -> None:
    code, out, _ = cli("--config", str(config_file), "status")
    assert code == 0
    assert "never" not in out and "None" not in out
    assert "scheduler  1.0.0-beta.15    not checked yet (dunebugger-units check)" in out
    check_as_user(config_file)
    code, out, _ = cli("--config", str(config_file), "status")
    assert "None" not in out and "(checked 20" in out


def test_check_marks_have_one_width() -> None:
    text = render_result({"component": "core", "status": "refused", "message": "m", "checks": [
        {"name": "a", "ok": True, "required": True, "detail": "x"},
        {"name": "b", "ok": False, "required": True, "detail": "x"},
        {"name": "c", "ok": False, "required": False, "detail": "x"}]})
    marks = [line.split("]")[0] + "]" for line in text.splitlines()[1:]]
    assert marks == ["  [ok  ]", "  [FAIL]", "  [warn]"]
    assert render_components({"components": {}}) == ""


@pytest.mark.parametrize(("given", "expected"), [
    pytest.param("yesterday", "2026-12-23T00:00:00.000000Z", id="yesterday"),
    pytest.param("today", "2026-12-24T00:00:00.000000Z", id="today"),
    pytest.param("2026-12-20", "2026-12-20T00:00:00.000000Z", id="date"),
    pytest.param("2026-12-20T18:30Z", "2026-12-20T18:30:00.000000Z", id="utc"),
    pytest.param("2026-12-20T18:30+01:00", "2026-12-20T17:30:00.000000Z", id="offset"),
])
def test_since_is_understood(given: str, expected: str) -> None:
    from datetime import UTC, datetime

    assert parse_since(given, now=datetime(2026, 12, 24, 15, 0, tzinfo=UTC)) == expected


def test_since_that_is_no_time_is_a_usage_error(config_file: Path) -> None:
    code, _, err = cli("--config", str(config_file), "history", "--since", "last week")
    assert code == 2
    assert "'last week' is not a time" in err


def test_history_since_yesterday_shows_todays_results(config_file: Path) -> None:
    cli("--config", str(config_file), "run-update", "remote")
    code, out, _ = cli("--config", str(config_file), "history", "--since", "yesterday", "--json")
    assert code == 0 and [r["component"] for r in json.loads(out)] == ["remote"]
    code, out, _ = cli("--config", str(config_file), "history", "--since", "2999-01-01", "--json")
    assert json.loads(out) == []


def test_a_corrupt_transaction_record_is_one_line_and_no_rollback(config_file: Path, device: Device) -> None:
    device.state_dir.mkdir(parents=True, exist_ok=True)
    (device.state_dir / "transaction.json").write_text("{broken")
    code, out, _ = cli("--config", str(config_file), "run-update", "scheduler", "--json")
    assert code == 75  # nothing was changed: OnFailure= must not fire
    assert json.loads(out)["message"].startswith(f"reading transaction record {device.state_dir}/transaction.json")
    code, _, err = cli("--config", str(config_file), "recover")
    assert code == 3
    assert one_line(err).startswith("dunebugger-units: reading transaction record")


def test_a_transaction_for_an_unknown_component_is_one_line(config_file: Path, device: Device) -> None:
    transaction.save(device.state_dir, transaction.Transaction("foo", "container", "1.0.0", "1.2.0",
                                                               step=transaction.Step.RECREATING))
    code, _, err = cli("--config", str(config_file), "recover")
    assert code == 3
    assert "is for 'foo', which the configuration does not know" in one_line(err)


def test_a_version_request_that_did_not_start_is_removed(config_file: Path, device: Device) -> None:
    # no system bus to start the unit on here: the request must not stay for a later plain update
    code, _, err = cli("--config", str(config_file), "update", "scheduler", "--version", "1.2.0",
                       env={"DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/nonexistent/bus"})
    assert code != 0
    assert one_line(err).startswith("dunebugger-units: ")
    assert state.take_request(device.state_dir, "scheduler") is None


def as_nobody(config_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    code = "from dunebugger_units.cli import run; run()"
    return subprocess.run([sys.executable, "-c", code, "--config", str(config_file), *args], capture_output=True,
                          text=True, timeout=60, check=False, cwd="/", user=65534, group=65534,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": "/nonexistent"})


@pytest.mark.parametrize("args", [
    pytest.param(("run-update", "scheduler"), id="run-update"),
    pytest.param(("run-rollback", "scheduler"), id="run-rollback"),
    pytest.param(("update", "scheduler", "--version", "1.2.0"), id="update-version"),
    pytest.param(("recover",), id="recover"),
    pytest.param(("auto-update",), id="auto-update"),
    pytest.param(("hold", "scheduler"), id="hold"),
    pytest.param(("unhold", "scheduler"), id="unhold"),
    pytest.param(("check",), id="check"),
])
def test_a_person_without_root_is_told_it_needs_root(standin: GithubStandin, args: tuple[str, ...]) -> None:
    publish_defaults(standin)
    top = Path(tempfile.mkdtemp(prefix="dunebugger-nobody-"))  # pytest's tmp dirs are root's alone
    try:
        top.chmod(0o755)
        device = Device(top / "device").lay_out()
        device.state_dir.mkdir(parents=True, exist_ok=True)
        config = top / "updater.yaml"
        config.write_text(yaml.safe_dump(device.config(standin.url)))
        out = as_nobody(config, *args)
    finally:
        shutil.rmtree(top)
    assert out.returncode == 77, out.stdout + out.stderr
    line = one_line(out.stderr)
    assert line.startswith("dunebugger-units: needs root: ")
    assert line.endswith("(run it with sudo)")  # the fix, named
