"""dunebugger-update@scheduler / @remote in a real systemd with the real Docker engine, compose v2 and a registry.

Test images are built from busybox and pushed to the loopback registry: 1.0.0 (installed), 1.2.0 (healthy),
1.3.0 (exits at start), 1.4.0 (runs, but its HTTP health answers 404), 1.5.0 (its manifest needs a newer
remote). Each test asserts the JSON result first, then the state on disk and in docker/systemd, then the
journal.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from kits.containerkit import (
    COMPOSE,
    INSIDE,
    publish,
    ref,
    wait_health,
)
from kits.devicekit import Device
from kits.harness import Harness
from kits.productkit import CONFIG, history, write_config
from kits.standin import GithubStandin

from dunebugger_units import journal

# ---- fixtures ---------------------------------------------------------------------------------------------


def installed_core(gh: GithubStandin) -> None:
    gh.add_release("dunebugger", "v1.0.0")


pytestmark = [pytest.mark.containers, pytest.mark.releases.with_args(installed_core),
              pytest.mark.updater(keep_backups=2)]


# ---- helpers ----------------------------------------------------------------------------------------------


def check(h: Harness) -> None:
    h.run(["dunebugger-units", "check"], check=False, timeout=60)


def start_update(h: Harness, component: str) -> str:
    """Start the unit and wait; when it failed, wait for the rollback that OnFailure= starts as well.

    Returns the unit's Result and, for a failure, its exit status ("exit-code 1"): systemd forgets the status
    of a oneshot that ended successfully, so a 75 (SuccessExitStatus=) reads as "success".
    """
    unit = f"dunebugger-update@{component}.service"
    h.systemctl("start", unit, check=False, timeout=240)
    status = h.systemctl("show", "-P", "Result", unit).stdout.strip()
    if status != "success":
        status += " " + h.systemctl("show", "-P", "ExecMainStatus", unit).stdout.strip()
        rollback = f"dunebugger-rollback@{component}.service"
        h.wait_for(lambda: ran(h, rollback), 30, "OnFailure= to start the rollback")
        h.wait_until_inactive(rollback, timeout=240)
    return status


def ran(h: Harness, unit: str) -> bool:
    return h.systemctl("show", "-P", "InvocationID", unit).stdout.strip() != ""



def container(h: Harness, component: str) -> dict[str, Any]:
    out = h.docker("container", "inspect", f"dunebugger-{component}").stdout
    return json.loads(out)[0]  # type: ignore[no-any-return]


def image_is_local(h: Harness, image: str) -> bool:
    return h.docker("image", "inspect", image, check=False).returncode == 0


def state(h: Harness) -> dict[str, Any]:
    return json.loads(h.path("/var/lib/dunebugger-units/state.json").read_text())  # type: ignore[no-any-return]


def backups(device: Device) -> list[Path]:
    return sorted(device.backup_dir.glob("docker-compose.*.yml"))


def journal_of(h: Harness, message_id: str, component: str) -> list[dict[str, Any]]:
    return h.journal(f"MESSAGE_ID={message_id}", f"COMPONENT={component}")


# ---- success ----------------------------------------------------------------------------------------------


def test_update_to_a_healthy_release(product: Harness, gh: GithubStandin, device: Device) -> None:
    h = product
    publish(gh, "scheduler", "1.2.0")
    check(h)
    old_id = container(h, "scheduler")["Id"]
    remote_id = container(h, "remote")["Id"]

    assert start_update(h, "scheduler") == "success"

    [result, *_] = history(h)
    assert (result["component"], result["action"], result["status"], result["success"]) == (
        "scheduler",
        "update",
        "updated",
        True,
    )
    assert result["message"] == "Updated scheduler to 1.2.0"
    assert (result["from_version"], result["to_version"]) == ("1.0.0", "1.2.0")
    by_name = {c["name"]: c for c in result["checks"]}
    for name in (
        "compose file",
        "image reference",
        "permissions",
        "docker",
        "container",
        "disk space",
        "running image",
        "container running",
        "docker healthcheck",
        "health endpoint",
    ):
        assert by_name[name]["ok"], (name, by_name[name])
    disk = [c["detail"] for c in result["checks"] if c["name"] == "disk space"]
    assert any(d.endswith("MB free on /var/lib/docker, 500 MB needed") for d in disk), disk
    assert any("/opt/dunebugger/backups" in d for d in disk), disk
    # on disk: state, compose file (one line changed), one backup equal to the file before, no transaction
    assert state(h)["components"]["scheduler"]["current"] == "1.2.0"
    shown = json.loads(h.run(["dunebugger-units", "status", "--json"]).stdout)["components"]["scheduler"]
    assert (shown["current"], shown["update_available"]) == ("1.2.0", False)
    assert device.compose_file.read_text() == COMPOSE.replace(
        f'"{ref("scheduler", "1.0.0")}"', f'"{ref("scheduler", "1.2.0")}"'
    )
    [backup] = backups(device)
    assert backup.read_text() == COMPOSE
    assert not h.path("/var/lib/dunebugger-units/transaction.json").exists()
    # in docker: a new container on the new image, remote untouched, the 1.0.0 image kept for a rollback
    new = container(h, "scheduler")
    assert new["Id"] != old_id and new["Config"]["Image"] == ref("scheduler", "1.2.0") and new["State"]["Running"]
    assert container(h, "remote")["Id"] == remote_id
    assert image_is_local(h, ref("scheduler", "1.0.0"))
    wait_health(h, "scheduler", "1.2.0", timeout=5)
    # the journal
    assert [e["TO_VERSION"] for e in journal_of(h, journal.UPDATE_STARTED, "scheduler")] == ["1.2.0"]
    [done] = journal_of(h, journal.UPDATE_SUCCEEDED, "scheduler")
    assert done["MESSAGE"] == "Updated scheduler to 1.2.0"
    assert done["SYSLOG_IDENTIFIER"] == "dunebugger-update"
    phases = {e.get("PHASE") for e in h.journal("COMPONENT=scheduler", "SYSLOG_IDENTIFIER=dunebugger-update")}
    assert {"pulling", "backing up the compose file", "recreating the container"} <= phases


# ---- failure after the change: automatic rollback -------------------------------------------------------


REGISTRY_DOWN = "[Service]\nExecStartPre=/bin/systemctl stop docker-registry.service\n"


@pytest.mark.parametrize(
    ("version", "registry_down", "failed_check"),
    [
        pytest.param("1.3.0", False, "container running", id="exits-at-start"),
        pytest.param("1.4.0", True, "health endpoint", id="fails-http-health-registry-stopped"),
    ],
)
def test_failed_post_checks_roll_back(
    product: Harness, gh: GithubStandin, device: Device, version: str, registry_down: bool, failed_check: str
) -> None:
    h = product
    if registry_down:
        # the registry goes away between the failed update and its rollback: the rollback must not pull
        h.write_file("/etc/systemd/system/dunebugger-rollback@.service.d/registry-down.conf", REGISTRY_DOWN)
        h.systemctl("daemon-reload")
    publish(gh, "scheduler", version)
    check(h)

    assert start_update(h, "scheduler") == "exit-code 1"

    rollback, update, *_ = history(h)
    assert (update["action"], update["status"], update["success"]) == ("update", "failed", False)
    assert update["message"].startswith("Post-update checks failed")
    failed = [c for c in update["checks"] if not c["ok"]]
    assert [c["name"] for c in failed] == [failed_check]
    assert (rollback["action"], rollback["status"]) == ("rollback", "rolled-back")
    assert rollback["message"] == "Post-update checks failed, rolled back to v1.0.0"
    assert all(c["ok"] for c in rollback["checks"])
    # the rollback unit exits 1 for "rolled back" (pipeline's exit_code_for); never 4, which means "manual"
    assert h.systemctl("show", "-P", "ExecMainStatus", "dunebugger-rollback@scheduler.service").stdout.strip() != "4"
    # on disk: the compose file is byte-identical to the original again, the state says 1.0.0
    assert device.compose_file.read_text() == COMPOSE
    assert state(h)["components"]["scheduler"]["current"] == "1.0.0"
    assert not h.path("/var/lib/dunebugger-units/transaction.json").exists()
    # in docker: the 1.0.0 image runs and answers
    now = container(h, "scheduler")
    assert now["Config"]["Image"] == ref("scheduler", "1.0.0") and now["State"]["Running"]
    wait_health(h, "scheduler", "1.0.0", timeout=5)
    if registry_down:
        assert h.systemctl("is-active", "docker-registry.service", check=False).stdout.strip() == "inactive"
    # the journal
    assert journal_of(h, journal.UPDATE_FAILED, "scheduler")
    [rolled] = journal_of(h, journal.ROLLBACK_SUCCEEDED, "scheduler")
    assert rolled["MESSAGE"] == "Post-update checks failed, rolled back to v1.0.0"
    assert not journal_of(h, journal.ROLLBACK_FAILED, "scheduler")


def test_rollback_without_the_previous_image_needs_a_person(product: Harness, gh: GithubStandin,
                                                            device: Device) -> None:
    h = product
    # the 1.0.0 image vanishes while the broken one is tried: nothing can bring it back without the registry
    h.write_file(
        "/etc/systemd/system/dunebugger-rollback@.service.d/previous-image-gone.conf",
        REGISTRY_DOWN + f"ExecStartPre=/usr/bin/docker rmi --force {ref('scheduler', '1.0.0')}\n",
    )
    h.systemctl("daemon-reload")
    publish(gh, "scheduler", "1.3.0")
    check(h)

    assert start_update(h, "scheduler") == "exit-code 1"

    [rollback, *_] = history(h)
    assert (rollback["status"], rollback["success"]) == ("needs-manual", False)
    assert rollback["message"].endswith("manual intervention required")
    assert "no longer on this machine" in rollback["message"]
    assert h.systemctl("show", "-P", "Result", "dunebugger-rollback@scheduler.service").stdout.strip() == "exit-code"
    assert h.systemctl("show", "-P", "ExecMainStatus", "dunebugger-rollback@scheduler.service").stdout.strip() == "4"
    # the compose file is restored even so, and the record is kept for the person
    assert device.compose_file.read_text() == COMPOSE
    assert json.loads(h.path("/var/lib/dunebugger-units/transaction.json").read_text())["status"] == "needs-manual"
    assert journal_of(h, journal.ROLLBACK_FAILED, "scheduler")


# ---- failure before any change: refused, nothing touched ------------------------------------------------


def make_compose_read_only(h: Harness) -> None:
    path = str(INSIDE.compose_file)
    h.run(["mount", "--bind", path, path])
    h.run(["mount", "-o", "remount,bind,ro", path])


@pytest.mark.parametrize(
    ("version", "manifest", "before", "message"),
    [
        pytest.param(
            "1.5.0",
            {"min_remote_version": "v2.0.0"},
            None,
            "remote version: Remote too old: 1.0.0 installed, 2.0.0 needed",
            id="remote-too-old",
        ),
        pytest.param(
            "1.2.0",
            {"pre_update_checks": {"disk_space": {"minimum_mb": 50_000_000}}},
            None,
            "MB free on /var/lib/docker",
            id="disk-space",
        ),
        pytest.param("1.2.0", None, make_compose_read_only, "permissions: compose file", id="compose-read-only"),
        pytest.param(
            "1.2.0",
            None,
            lambda h: h.systemctl("stop", "docker.socket", "docker.service"),
            "docker: asking the docker daemon for its data root",
            id="docker-unreachable",
        ),
    ],
)
def test_failed_pre_check_changes_nothing(
    product: Harness,
    gh: GithubStandin,
    device: Device,
    version: str,
    manifest: dict[str, Any] | None,
    before: Any,
    message: str,
) -> None:
    h = product
    publish(gh, "scheduler", version, manifest)
    check(h)
    old = container(h, "scheduler")
    if before is not None:
        before(h)

    # exit 75 is in SuccessExitStatus=: the unit succeeds, and OnFailure= never starts a rollback
    assert start_update(h, "scheduler") == "success"

    [result, *_] = history(h)
    assert (result["status"], result["success"]) == ("refused", False)
    assert message in result["message"]
    assert result["message"].startswith("pre-update check failed: ")
    assert h.systemctl("show", "-P", "Result", "dunebugger-update@scheduler.service").stdout.strip() == "success"
    assert not ran(h, "dunebugger-rollback@scheduler.service")
    assert device.compose_file.read_text() == COMPOSE
    assert backups(device) == []
    assert not h.path("/var/lib/dunebugger-units/transaction.json").exists()
    docker_was_stopped = h.systemctl("is-active", "docker.service", check=False).stdout.strip() != "active"
    if docker_was_stopped:
        h.systemctl("start", "docker.service", timeout=60)
    now = container(h, "scheduler")
    assert now["Id"] == old["Id"]  # never recreated
    if not docker_was_stopped:  # (a stopped daemon stops its containers, and restarts them when it starts)
        assert now["State"]["StartedAt"] == old["State"]["StartedAt"]
    assert not image_is_local(h, ref("scheduler", version))
    assert not journal_of(h, journal.UPDATE_STARTED, "scheduler")


# ---- dry run ----------------------------------------------------------------------------------------------


def test_dry_run_shows_checks_and_plan_and_changes_nothing(product: Harness, gh: GithubStandin, device: Device) -> None:
    h = product
    publish(gh, "scheduler", "1.2.0")
    check(h)
    old = container(h, "scheduler")

    h.systemctl("start", "dunebugger-update-dry-run@scheduler.service", timeout=120)

    [result, *_] = history(h)
    assert (result["action"], result["status"], result["success"]) == ("dry-run", "dry-run", True)
    assert all(c["ok"] for c in result["checks"] if c["required"])
    plan = result["plan"]
    assert plan["pull"] == ref("scheduler", "1.2.0")
    assert (plan["image_from"], plan["image_to"]) == (ref("scheduler", "1.0.0"), ref("scheduler", "1.2.0"))
    changed = [
        line for line in plan["compose_diff"].splitlines() if line[:1] in "+-" and line[:3] not in ("---", "+++")
    ]
    assert changed == [f'-    image: "{ref("scheduler", "1.0.0")}"', f'+    image: "{ref("scheduler", "1.2.0")}"']
    assert device.compose_file.read_text() == COMPOSE
    assert backups(device) == []
    now = container(h, "scheduler")
    assert (now["Id"], now["State"]["StartedAt"]) == (old["Id"], old["State"]["StartedAt"])
    assert not image_is_local(h, ref("scheduler", "1.2.0"))
    assert "current" not in state(h)["components"].get("scheduler", {})  # a dry run installs nothing
    shown = json.loads(h.run(["dunebugger-units", "status", "--json"]).stdout)["components"]["scheduler"]
    assert shown["current"] == "1.0.0"


# ---- one at a time ----------------------------------------------------------------------------------------


def test_a_second_update_during_one_is_refused(product: Harness, gh: GithubStandin, device: Device) -> None:
    h = product
    # remote first only while it runs an update: with the default (policy.remote_first: available) scheduler
    # would wait for remote's update
    config = yaml.safe_load(h.path(CONFIG).read_text())
    write_config(h, config | {"policy": {"remote_first": "running"}})
    publish(gh, "scheduler", "1.2.0")
    publish(gh, "remote", "1.2.0")
    check(h)
    remote_id = container(h, "remote")["Id"]
    h.systemctl("start", "--no-block", "dunebugger-update@scheduler.service")
    h.wait_for(
        lambda: h.path("/var/lib/dunebugger-units/transaction.json").exists(), 60, "the scheduler update to apply"
    )

    second = h.run(["dunebugger-units", "run-update", "remote", "--json"], check=False, timeout=60)

    assert second.returncode == 75
    refused = json.loads(second.stdout)
    assert (refused["component"], refused["status"]) == ("remote", "refused")
    assert refused["message"] == "update of scheduler in progress"
    h.wait_until_inactive("dunebugger-update@scheduler.service", timeout=120)
    statuses = {(r["component"], r["status"]) for r in history(h)}
    assert statuses == {("scheduler", "updated"), ("remote", "refused")}
    assert container(h, "remote")["Id"] == remote_id
    assert f"{ref('remote', '1.0.0')}   # bridge" in device.compose_file.read_text()


# ---- the remote updates itself --------------------------------------------------------------------------


def test_remote_self_update_result_is_read_by_the_new_remote(
    product: Harness, gh: GithubStandin, device: Device
) -> None:
    h = product
    publish(gh, "remote", "1.2.0")
    check(h)
    old_id = container(h, "remote")["Id"]

    assert start_update(h, "remote") == "success"

    [result, *_] = history(h)
    assert (result["status"], result["message"]) == ("updated", "Updated remote to 1.2.0")
    new = container(h, "remote")
    assert new["Id"] != old_id and new["Config"]["Image"] == ref("remote", "1.2.0")
    # the new remote instance, started by the recreate, reads the result the update left behind
    seen = h.docker("exec", "dunebugger-remote", "sh", "-c", "cat /state/results/*-remote-update.json").stdout
    assert json.loads(seen)["message"] == "Updated remote to 1.2.0"
    assert state(h)["components"]["remote"]["current"] == "1.2.0"
    assert journal_of(h, journal.UPDATE_SUCCEEDED, "remote")
