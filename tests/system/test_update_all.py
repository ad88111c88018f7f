"""`dunebugger-units update --all` in a real systemd with the real Docker engine, the containers and core: every
component with an update, remote first, then scheduler, then core; the first failure stops the rest, and what
was done stays done."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from kits import corekit
from kits.containerkit import PORTS, publish, ref, running_image, wait_health
from kits.devicekit import Device
from kits.harness import Harness
from kits.productkit import history, install_product
from kits.standin import GithubStandin

pytestmark = pytest.mark.containers


def releases(scheduler: str) -> Callable[[GithubStandin], None]:
    """remote 1.2.0 (healthy), scheduler at `scheduler` (1.2.0 healthy, 1.3.0 exits at start), core 1.2.0."""

    def publish_them(gh: GithubStandin) -> None:
        publish(gh, "remote", "1.2.0")
        publish(gh, "scheduler", scheduler)
        corekit.publish_all(gh, ["1.2.0"])

    return publish_them


@pytest.fixture
def device_of_three(booted: Harness, gh: GithubStandin, device: Device) -> Harness:
    """The product configured for core and both containers, each with its health endpoint; core 1.0.0 runs."""
    config = corekit.updater_config(device, gh.url, stability_seconds=2)
    for component, port in PORTS.items():
        config["components"][component] = {"health_url": f"http://127.0.0.1:{port}/health"}
    install_product(booted, config)
    corekit.install_core(booted, device)
    booted.run(["dunebugger-units", "check"], timeout=120)
    return booted




@pytest.mark.releases.with_args(releases("1.2.0"))
def test_every_component_is_updated_in_order(device_of_three: Harness) -> None:
    h = device_of_three
    done = h.run(["dunebugger-units", "update", "--all", "--json"], check=False, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert [(c["component"], c["status"], c["to_version"]) for c in result["components"]] == [
        ("remote", "updated", "1.2.0"), ("scheduler", "updated", "1.2.0"), ("core", "updated", "1.2.0")]
    assert (result["status"], result["exit_code"]) == ("updated", 0)
    assert result["summary"] == "update --all: updated: remote 1.2.0, scheduler 1.2.0, core 1.2.0"
    # on the device: each runs the new version
    assert running_image(h, "remote") == ref("remote", "1.2.0")
    assert running_image(h, "scheduler") == ref("scheduler", "1.2.0")
    corekit.wait_healthy(h, "1.2.0")
    # one unit after another, in that order (history is newest first)
    updates = list(reversed(history(h, "update")))
    assert [u["component"] for u in updates] == ["remote", "scheduler", "core"]
    assert updates[0]["finished_at"] <= updates[1]["started_at"] and updates[1]["finished_at"] <= updates[2][
        "started_at"]
    # nothing left to do: a second run changes nothing and says so on its last line
    again = h.run(["dunebugger-units", "check"], timeout=120)
    assert again.returncode == 0
    second = h.run(["dunebugger-units", "update", "--all"], check=False, timeout=300)
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout.strip().splitlines()[-1] == "update --all: nothing updated"
    statuses = [r["status"] for r in history(h, "update")]
    assert statuses.count("updated") == 3
    assert set(statuses) <= {"updated", "unchanged"}


@pytest.mark.releases.with_args(releases("1.3.0"))
def test_the_first_failure_stops_the_rest_and_what_was_done_stays(device_of_three: Harness) -> None:
    h = device_of_three
    done = h.run(["dunebugger-units", "update", "--all"], check=False, timeout=900)
    assert done.returncode == 1, done.stdout + done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("update --all: updated: remote 1.2.0; scheduler rolled-back: ")
    assert last.endswith("; not started: core")
    # remote stays on what it was updated to; scheduler was rolled back; core was never started
    assert running_image(h, "remote") == ref("remote", "1.2.0")
    wait_health(h, "remote", "1.2.0")
    assert running_image(h, "scheduler") == ref("scheduler", "1.0.0")
    corekit.wait_healthy(h, "1.0.0")
    assert h.systemctl("show", "-P", "InvocationID", "dunebugger-update@core.service").stdout.strip() == ""
    assert [(r["component"], r["action"], r["status"]) for r in reversed(history(h))] == [
        ("remote", "update", "updated"), ("scheduler", "update", "failed"), ("scheduler", "rollback", "rolled-back")]
