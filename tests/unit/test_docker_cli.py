"""How the docker CLI's refusals are read: the line that says why, and `up` on a compose too old for `--pull`.

The real compose of the system tier knows `--pull never`; a compose that does not is a small script here, as
cobra answers an unknown flag (a line saying so, exit 16, nothing done), because no older compose is installed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dunebugger_units.docker import Docker, DockerError, reason, refused_unknown_flag

USAGE = "unknown flag: --pull\n\nUsage:  docker compose up [OPTIONS] [SERVICE...]\n\nRun 'docker compose up --help'\n"


@pytest.mark.parametrize(("stderr", "said"), [
    pytest.param("Error response from daemon: no such image\n", "Error response from daemon: no such image",
                 id="one-line"),
    pytest.param("pulling\n\n  manifest unknown  \n", "manifest unknown", id="last-line-stripped"),
    pytest.param(USAGE, "unknown flag: --pull", id="unknown-flag-before-usage"),
    pytest.param("", "no output", id="nothing"),
    pytest.param("x" * 400, "x" * 300, id="capped"),
])
def test_reason(stderr: str, said: str) -> None:
    assert reason(stderr) == said


@pytest.mark.parametrize(("message", "refused"), [
    pytest.param("recreating scheduler: docker exited 16: unknown flag: --pull", True, id="refused"),
    pytest.param("recreating scheduler: docker exited 1: unknown flag: --wait", False, id="another-flag"),
    pytest.param("recreating scheduler: docker exited 1: pull access denied", False, id="another-failure"),
])
def test_refused_unknown_flag(message: str, refused: bool) -> None:
    assert refused_unknown_flag(message, "--pull") is refused


def compose_cli(tmp_path: Path, knows_pull: bool, fails: str = "") -> tuple[Docker, Path]:
    """A `docker` whose compose knows `--pull` or not (as cobra refuses it), logging each call's arguments."""
    log = tmp_path / "calls"
    script = tmp_path / "docker"
    refuse = "" if knows_pull else 'case " $* " in *" --pull "*) printf "%s" "$USAGE" >&2; exit 16;; esac\n'
    fail = f'echo "{fails}" >&2; exit 1\n' if fails else ""
    script.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\n{refuse}{fail}exit 0\n')
    script.chmod(0o755)
    compose_file = tmp_path / "docker-compose.yml"
    return Docker(compose_file, executable=str(script)), log


@pytest.fixture(autouse=True)
def usage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USAGE", USAGE)


def calls(log: Path) -> list[str]:
    return [line.split(" up ", 1)[1] for line in log.read_text().splitlines()]


def test_up_asks_never_to_pull_in_one_call(tmp_path: Path) -> None:
    docker, log = compose_cli(tmp_path, knows_pull=True)
    docker.up("scheduler", doing="recreating scheduler")
    assert calls(log) == ["--detach --pull never scheduler"]


def test_up_runs_again_without_the_flag_an_older_compose_refused(tmp_path: Path) -> None:
    docker, log = compose_cli(tmp_path, knows_pull=False)
    docker.up("scheduler", doing="recreating scheduler")
    assert calls(log) == ["--detach --pull never scheduler", "--detach scheduler"]


def test_up_does_not_run_again_after_another_failure(tmp_path: Path) -> None:
    docker, log = compose_cli(tmp_path, knows_pull=True, fails="no such service: scheduler")
    with pytest.raises(DockerError, match="recreating scheduler: docker exited 1: no such service: scheduler"):
        docker.up("scheduler", doing="recreating scheduler")
    assert calls(log) == ["--detach --pull never scheduler"]
