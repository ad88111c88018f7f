"""The message handler's decisions and the contract of every message's keys (pinned)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dunebugger_units.remote.client import COMPONENTS, Event, component_view, system_info_components
from dunebugger_units.remote.messages import handle, parse_update_request

ENVELOPE_KEYS = {"subject", "body", "source", "destination"}
BODY_KEYS = {
    "update_check_result": {"components"},
    "update_progress": {"component", "phase"},
    "update_result": {"component", "success", "message", "dry_run"},
    "updater_progress": {"success", "message", "level", "phase"},
    "log": {"success", "message", "level"},
    "system_info": {"dunebugger_components"},
}
# the updater's own keys, and beside them the keys of the dunebugger-remote app's component record
COMPONENT_KEYS = {"current", "latest", "update_available", "release_notes", "last_checked", "release_url",
                  "published_at", "assets", "error", "held", "policy",
                  "next_window", "failed_versions", "previous", "last_result", "prepared",  # the update panel's
                  "name", "current_version", "latest_version", "component_type", "prerelease"}


class ScriptedClient:
    """Our own client's interface, scripted: the handler's decisions are what is tested here (the real client
    against the real units is proven in tests/system)."""

    def __init__(self, remote_pending: bool = False) -> None:
        self.started: list[tuple[str, bool]] = []
        self.remote_pending = remote_pending

    def check(self) -> dict[str, Any]:
        return {"components": {n: component_view(n, {}) for n in COMPONENTS}}

    def system_info(self) -> dict[str, Any]:
        return {"dunebugger_components": system_info_components({})}

    def update(self, component: str, dry_run: bool = False) -> Iterator[Event]:
        self.started.append((component, dry_run))
        yield Event("progress", {"phase": "pre-update checks"})
        yield Event("result", {"success": True, "message": f"Updated {component} to 1.2.0"})

    def rollback(self, component: str) -> Iterator[Event]:
        self.started.append((component, False))
        yield Event("progress", {"phase": f"{component}: rolling back"})
        yield Event("result", {"success": False, "status": "rolled-back", "message": "Rolled back"})

    def remote_update_pending(self) -> bool:
        return self.remote_pending


def assert_contract(message: dict[str, Any]) -> None:
    assert set(message) == ENVELOPE_KEYS
    assert message["source"] == "controller"
    assert set(message["body"]) == BODY_KEYS[message["subject"]]


def test_check_updates_contract() -> None:
    msg, info = handle({"subject": "updater.check_updates", "connectionId": "c1"}, ScriptedClient())
    assert_contract(msg)
    assert_contract(info)
    assert msg["destination"] == "c1"
    assert info["destination"] == "broadcast"  # as the dunebugger-remote app does: the System page's versions
    assert set(msg["body"]["components"]) == {"core", "scheduler", "remote"}
    assert set(msg["body"]["components"]["core"]) == COMPONENT_KEYS


def test_perform_update_gives_progress_then_result() -> None:
    client = ScriptedClient()
    msgs = list(handle({"subject": "updater.perform_update", "body": {"component": "scheduler", "dry_run": True}},
                       client))
    for msg in msgs:
        assert_contract(msg)
    assert [m["subject"] for m in msgs] == ["update_progress", "update_result"]
    assert msgs[-1]["body"] == {"component": "scheduler", "success": True, "message": "Updated scheduler to 1.2.0",
                                "dry_run": True}
    assert msgs[-1]["destination"] == "broadcast"
    assert client.started == [("scheduler", True)]


def test_updater_update_shape() -> None:
    client = ScriptedClient()
    msgs = list(handle({"subject": "updater.update", "body": "dunebugger-core", "connectionId": "x"}, client))
    for msg in msgs:
        assert_contract(msg)
    assert [m["subject"] for m in msgs] == ["updater_progress", "log"]
    assert msgs[0]["body"]["message"] == "Update in progress: pre-update checks..."
    assert msgs[1]["body"] == {"success": True, "message": "Updated core to 1.2.0", "level": "info"}
    assert client.started == [("core", False)]


@pytest.mark.parametrize(("subject", "body", "error"), [
    pytest.param("updater.perform_update", {"component": "foo"}, "unknown component 'foo'", id="unknown"),
    pytest.param("updater.perform_update", {"component": "../x"}, "unknown component '../x'", id="dotdot"),
    pytest.param("updater.perform_update", "core", "must be an object", id="string-body"),
    pytest.param("updater.perform_update", {"component": 3}, "component must be a string", id="int-component"),
    pytest.param("updater.perform_update", {"component": "core", "dry_run": "yes"}, "dry_run must be",
                 id="string-dry-run"),
    pytest.param("updater.update", {"component": "core"}, "must be a component name", id="updater-update-object"),
    pytest.param("updater.update", "core;x", "unknown component", id="updater-update-injection"),
])
def test_bad_requests_get_an_error_and_start_nothing(subject: str, body: Any, error: str) -> None:
    client = ScriptedClient()
    msgs = list(handle({"subject": subject, "body": body}, client))
    assert len(msgs) == 1
    assert_contract(msgs[0])
    assert msgs[0]["body"]["success"] is False
    assert error in msgs[0]["body"]["message"]
    assert client.started == []


@pytest.mark.parametrize(("component", "waits"), [pytest.param("core", True, id="core-waits"),
                                                  pytest.param("scheduler", True, id="scheduler-waits"),
                                                  pytest.param("remote", False, id="remote-goes")])
def test_core_and_scheduler_wait_for_a_pending_remote_update(component: str, waits: bool) -> None:
    client = ScriptedClient(remote_pending=True)
    msgs = list(handle({"subject": "updater.perform_update", "body": {"component": component}}, client))
    assert (client.started == []) is waits
    if waits:
        assert "an update of remote is pending" in msgs[-1]["body"]["message"]


@pytest.mark.parametrize("envelope", [pytest.param(None, id="none"), pytest.param({"body": 1}, id="no-subject"),
                                      pytest.param({"subject": "updater.reboot"}, id="unknown-subject")])
def test_malformed_envelopes(envelope: Any) -> None:
    [msg] = handle(envelope, ScriptedClient())
    assert_contract(msg)
    assert msg["subject"] == "log"
    assert msg["body"]["level"] == "error"


@pytest.mark.parametrize(("subject", "body", "expected"), [
    pytest.param("updater.update", "dunebugger-scheduler", ("scheduler", False, None), id="prefix"),
    pytest.param("updater.perform_update", {"component": "remote"}, ("remote", False, None), id="default-dry-run"),
])
def test_parse_update_request(subject: str, body: Any, expected: tuple[Any, ...]) -> None:
    assert parse_update_request(subject, body) == expected
