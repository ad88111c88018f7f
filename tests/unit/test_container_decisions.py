"""The container kind's pure decisions: disk-space wording, backup retention, container and image checks."""

from __future__ import annotations

from typing import Any

import pytest

from dunebugger_units.docker import Container, container_from_inspect
from dunebugger_units.kinds.container_update import (
    MB,
    backup_name,
    backups_to_remove,
    disk_space_outcome,
    images_to_prune,
    judge_container,
    judge_running_image,
)


@pytest.mark.parametrize(
    ("paths", "free", "needed", "ok", "detail"),
    [
        pytest.param(
            ["/var/lib/docker"],
            312 * MB + 5,
            500,
            False,
            "312 MB free on /var/lib/docker, 500 MB needed",
            id="too-little",
        ),
        pytest.param(
            ["/var/lib/docker"],
            500 * MB,
            500,
            True,
            "500 MB free on /var/lib/docker, 500 MB needed",
            id="exactly-enough",
        ),
        pytest.param(
            ["/var/lib/docker", "/opt/dunebugger/backups"],
            2048 * MB,
            500,
            True,
            "2048 MB free on /var/lib/docker and /opt/dunebugger/backups, 500 MB needed",
            id="one-filesystem-two-paths",
        ),
        pytest.param(
            ["/opt/dunebugger/backups"],
            MB - 1,
            1,
            False,
            "0 MB free on /opt/dunebugger/backups, 1 MB needed",
            id="rounds-down",
        ),
    ],
)
def test_disk_space_outcome(paths: list[str], free: int, needed: int, ok: bool, detail: str) -> None:
    outcome = disk_space_outcome(paths, free, needed)
    assert (outcome.name, outcome.ok, outcome.detail) == ("disk space", ok, detail)
    assert outcome.line() == f"disk space: {detail}"


B = "docker-compose.{}.yml".format


@pytest.mark.parametrize(
    ("names", "keep", "protect", "removed"),
    [
        pytest.param(
            [B("20260101_000000"), B("20260102_000000"), B("20260103_000000"), B("20260104_000000")],
            3,
            set(),
            [B("20260101_000000")],
            id="oldest-beyond-three",
        ),
        pytest.param(
            [B("20260101_000000"), B("20260102_000000"), B("20260103_000000"), B("20260104_000000")],
            1,
            {B("20260101_000000")},
            [B("20260103_000000"), B("20260102_000000")],
            id="protected-backup-survives",
        ),
        pytest.param(
            [B("20260101_000000"), B("20260101_000000-2"), B("20260101_000000-10")],
            1,
            set(),
            [B("20260101_000000-2"), B("20260101_000000")],
            id="same-second-suffixes-order",
        ),
        pytest.param(
            [B("20260101_000000"), "core.20250101_000000.tar.gz", "notes.txt", "docker-compose.yml"],
            0,
            set(),
            [B("20260101_000000")],
            id="other-files-are-not-ours",
        ),
        pytest.param([B("20260101_000000")], 3, set(), [], id="fewer-than-keep"),
    ],
)
def test_backups_to_remove(names: list[str], keep: int, protect: set[str], removed: list[str]) -> None:
    assert backups_to_remove(names, keep, protect) == removed


@pytest.mark.parametrize(
    ("taken", "name"),
    [
        pytest.param(set(), B("20260102_030405"), id="free"),
        pytest.param({B("20260102_030405")}, B("20260102_030405-2"), id="second-in-same-second"),
        pytest.param({B("20260102_030405"), B("20260102_030405-2")}, B("20260102_030405-3"), id="third"),
    ],
)
def test_backup_name(taken: set[str], name: str) -> None:
    assert backup_name("20260102_030405", taken) == name


def inspect_data(**state: Any) -> dict[str, Any]:
    base = {
        "Status": "running",
        "Running": True,
        "Restarting": False,
        "StartedAt": "2026-01-01T00:00:00Z",
        "ExitCode": 0,
    }
    return {
        "Id": "abcdef0123456789" * 4,
        "Name": "/dunebugger-scheduler",
        "RestartCount": 2,
        "Image": "sha256:" + "1" * 64,
        "Config": {"Image": "127.0.0.1:5000/s:1.0.0"},
        "State": {**base, **state},
    }


def test_container_from_inspect() -> None:
    c = container_from_inspect(inspect_data(Health={"Status": "starting"}))
    assert (c.name, c.running, c.restart_count, c.health, c.image_ref) == (
        "dunebugger-scheduler",
        True,
        2,
        "starting",
        "127.0.0.1:5000/s:1.0.0",
    )
    assert c.describe() == "dunebugger-scheduler abcdef012345 running, health starting, 2 restart(s)"


@pytest.mark.parametrize(
    ("state", "must_run", "names_ok"),
    [
        pytest.param({}, False, [("container", True)], id="running"),
        pytest.param(
            {"Status": "exited", "Running": False, "ExitCode": 3},
            False,
            [("container", True), ("container running", False)],
            id="exited-is-wanted-only",
        ),
        pytest.param(
            {"Status": "restarting", "Running": True, "Restarting": True},
            True,
            [("container", True), ("container running", False)],
            id="restarting-is-not-running",
        ),
    ],
)
def test_judge_container(state: dict[str, Any], must_run: bool, names_ok: list[tuple[str, bool]]) -> None:
    outcomes = judge_container(container_from_inspect(inspect_data(**state)), "scheduler", must_run)
    assert [(o.name, o.ok) for o in outcomes] == names_ok
    assert all(o.required == must_run for o in outcomes if o.name == "container running")


def test_judge_container_missing() -> None:
    [outcome] = judge_container(None, "scheduler", must_run=False)
    assert not outcome.ok and outcome.required
    assert outcome.detail == "service scheduler has no container (docker compose ps)"


RUNNING: Container = container_from_inspect(inspect_data())


@pytest.mark.parametrize(
    ("image", "image_id", "ok"),
    [
        pytest.param("127.0.0.1:5000/s:1.0.0", "sha256:" + "1" * 64, True, id="same-ref-same-id"),
        pytest.param("127.0.0.1:5000/s:1.2.0", "sha256:" + "1" * 64, False, id="other-ref"),
        pytest.param("127.0.0.1:5000/s:1.0.0", "sha256:" + "2" * 64, False, id="tag-moved-to-another-image"),
        pytest.param("127.0.0.1:5000/s:1.0.0", None, True, id="image-not-local-ref-decides"),
    ],
)
def test_judge_running_image(image: str, image_id: str | None, ok: bool) -> None:
    assert judge_running_image(RUNNING, image, image_id).ok is ok


@pytest.mark.parametrize(("local", "keep", "pruned"), [
    pytest.param(["r:1.0.0", "r:1.2.0", "r:1.3.0"], {"r:1.3.0", "r:1.2.0"}, ["r:1.0.0"], id="older-than-previous"),
    pytest.param(["r:1.2.0"], {"r:1.2.0"}, [], id="only-the-running-one"),
    pytest.param([], {"r:1.2.0"}, [], id="none-listed"),
])
def test_images_to_prune(local: list[str], keep: set[str], pruned: list[str]) -> None:
    assert images_to_prune(local, keep) == pruned
