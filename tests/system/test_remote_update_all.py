"""The frontend's `updater.update "all"` end to end: a test frontend talks WebSocket to the remote stand-in (the
real message handler, an unprivileged `dunebugger` member), which asks org.dunebugger.Updater1 over the real
system bus to start the real update units, one after another, with the real Docker engine and core's real
dunebugger.service."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from kits import corekit
from kits.containerkit import PORTS, publish, ref, wait_health
from kits.devicekit import Device
from kits.harness import Harness
from kits.productkit import history, install_product
from kits.remotekit import frontend, receive, start_remote_standin
from kits.standin import GithubStandin
from websockets.sync.client import ClientConnection

pytestmark = pytest.mark.containers


def scheduler_and_core_1_2_0(gh: GithubStandin) -> None:
    """No release of remote: its instance, the one that answers, stays."""
    publish(gh, "scheduler", "1.2.0")
    corekit.publish_all(gh, ["1.2.0"])


@pytest.fixture
def remote_of_three(booted: Harness, gh: GithubStandin, device: Device) -> Harness:
    """Core 1.0.0 and both containers with their health endpoints, and the remote stand-in."""
    config = corekit.updater_config(device, gh.url, stability_seconds=2)
    for component, port in PORTS.items():
        config["components"][component] = {"health_url": f"http://127.0.0.1:{port}/health"}
    install_product(booted, config)
    corekit.install_core(booted, device)
    start_remote_standin(booted)
    return booted


def ask_all(ws: ClientConnection, message: dict[str, Any], timeout: float = 900) -> list[dict[str, Any]]:
    """Send one `all` request; every reply addressed to it up to the summary (the final reply with `summary`)."""
    ws.send(json.dumps({"connectionId": "all-1", **message}))
    replies: list[dict[str, Any]] = []
    end = time.monotonic() + timeout
    while not replies or "summary" not in replies[-1]["body"]:
        reply = receive(ws, end - time.monotonic())
        if reply["destination"] == "all-1":
            replies.append(reply)
    return replies


@pytest.mark.releases.with_args(scheduler_and_core_1_2_0)
def test_update_all_over_websocket_updates_scheduler_then_core(remote_of_three: Harness) -> None:
    h = remote_of_three
    with frontend(h) as ws:
        ws.send(json.dumps({"subject": "updater.check_updates", "connectionId": "check-1"}))
        while receive(ws, 120)["subject"] != "update_check_result":
            pass
        replies = ask_all(ws, {"subject": "updater.update", "body": "all"})
    logs = [r["body"] for r in replies if r["subject"] == "log"]
    *each, summary = logs
    # one entry per component, in the order they were taken, then the summary
    assert [(e["success"], e["message"]) for e in each] == [
        (True, "remote: no update available at the last check"),
        (True, "Updated scheduler to 1.2.0"),
        (True, "Updated core to 1.2.0")]
    assert summary["summary"] == summary["message"] == "update all: updated: scheduler 1.2.0, core 1.2.0"
    assert (summary["success"], summary["level"]) == (True, "info")
    assert [(c["component"], c["status"], c["to_version"]) for c in summary["components"]] == [
        ("remote", "unchanged", None), ("scheduler", "updated", "1.2.0"), ("core", "updated", "1.2.0")]
    progress = [r["body"]["message"] for r in replies if r["subject"] == "updater_progress"]
    assert any(p.startswith("Update in progress: ") for p in progress)
    # on the device: each runs the new version, and the units ran one after another, scheduler first
    assert h.docker("inspect", "--format", "{{.Config.Image}}", "dunebugger-scheduler").stdout.strip() == ref(
        "scheduler", "1.2.0")
    wait_health(h, "scheduler", "1.2.0", timeout=10)
    corekit.wait_healthy(h, "1.2.0")
    updates = list(reversed(history(h, "update")))
    assert [(u["component"], u["status"]) for u in updates] == [("scheduler", "updated"), ("core", "updated")]
    assert updates[0]["finished_at"] <= updates[1]["started_at"]


def scheduler_breaks(gh: GithubStandin) -> None:
    """scheduler 1.3.0 exits at start; core 1.2.0 is fine."""
    publish(gh, "scheduler", "1.3.0")
    corekit.publish_all(gh, ["1.2.0"])


@pytest.mark.releases.with_args(scheduler_breaks)
def test_update_all_over_websocket_stops_at_the_first_failure(remote_of_three: Harness) -> None:
    h = remote_of_three
    with frontend(h) as ws:
        ws.send(json.dumps({"subject": "updater.check_updates", "connectionId": "check-1"}))
        while receive(ws, 120)["subject"] != "update_check_result":
            pass
        replies = ask_all(ws, {"subject": "updater.perform_update", "body": {"component": "all"}})
    results = [r["body"] for r in replies if r["subject"] == "update_result"]
    *each, summary = results
    assert [(e["component"], e["success"]) for e in each] == [("remote", True), ("scheduler", False),
                                                              ("core", False)]
    assert each[1]["message"] == "Post-update checks failed, rolled back to v1.0.0"
    assert each[2]["message"] == "not started: scheduler did not update"
    assert (summary["component"], summary["success"]) == ("all", False)
    assert summary["summary"] == ("update all: nothing updated; scheduler rolled-back: Post-update checks failed, "
                                  "rolled back to v1.0.0; not started: core")
    # scheduler is back on what it ran; core was never started
    wait_health(h, "scheduler", "1.0.0", timeout=30)
    corekit.wait_healthy(h, "1.0.0")
    assert h.systemctl("show", "-P", "InvocationID", "dunebugger-update@core.service").stdout.strip() == ""
