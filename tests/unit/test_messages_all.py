"""`updater.update "all"` and `updater.perform_update {component: "all"}`: the handler's decisions, with the
client scripted (the real client against the real units: tests/system/test_remote_update_all.py)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from dunebugger_units.remote.client import ClientError, Event
from dunebugger_units.remote.messages import handle, parse_update_request, summary_of

SUMMARY_KEYS = {"component", "success", "message", "dry_run", "summary", "components"}
ENTRY_KEYS = {"component", "status", "success", "message", "to_version"}


class ScriptedClient:
    """The last check's records and each update's result, scripted."""

    def __init__(self, available: Mapping[str, bool], outcomes: Mapping[str, dict[str, Any]] | None = None, *,
                 held: tuple[str, ...] = (), remote_pending: bool = False, unreadable: bool = False) -> None:
        self.available, self.outcomes, self.held = available, outcomes or {}, held
        self.remote_pending, self.unreadable = remote_pending, unreadable
        self.started: list[tuple[str, bool]] = []

    def check(self) -> dict[str, Any]:
        return self.check_result()

    def check_result(self) -> dict[str, Any]:
        if self.unreadable:
            raise ClientError("reading /var/lib/dunebugger-units/cache/check.json: permission denied")
        return {"components": {n: {"update_available": self.available.get(n, False), "held": n in self.held}
                               for n in ("core", "scheduler", "remote")}}

    def system_info(self) -> dict[str, Any]:
        return {"dunebugger_components": []}

    def update(self, component: str, dry_run: bool = False) -> Iterator[Event]:
        self.started.append((component, dry_run))
        yield Event("progress", {"phase": "pulling 40%", "percent": 40})
        status = "dry-run" if dry_run else "updated"
        yield Event("result", self.outcomes.get(component, {
            "component": component, "status": status, "success": True, "to_version": "1.2.0",
            "message": f"Updated {component} to 1.2.0"}))

    def rollback(self, component: str) -> Iterator[Event]:
        raise AssertionError("no rollback in update all")

    def remote_update_pending(self) -> bool:
        return self.remote_pending


ROLLED_BACK = {"component": "scheduler", "status": "rolled-back", "success": False, "to_version": "1.0.0",
               "message": "Post-update checks failed, rolled back to v1.0.0"}


def finals(replies: list[dict[str, Any]], subject: str = "update_result") -> list[dict[str, Any]]:
    return [r["body"] for r in replies if r["subject"] == subject]


@pytest.mark.parametrize(("subject", "body", "expected"), [
    pytest.param("updater.update", "all", ("all", False, None), id="plain-string"),
    pytest.param("updater.update", " all ", ("all", False, None), id="plain-string-spaces"),
    pytest.param("updater.perform_update", {"component": "all", "dry_run": True}, ("all", True, None),
                 id="perform-update"),
    pytest.param("updater.rollback", "all", ("all", False, "unknown component 'all' (known: core, scheduler, "
                                                           "remote)"), id="no-rollback-of-all"),
])
def test_all_is_a_request_to_update_but_not_to_roll_back(subject: str, body: Any,
                                                         expected: tuple[str, bool, str | None]) -> None:
    assert parse_update_request(subject, body) == expected


def test_every_component_with_an_update_in_order_one_entry_each_then_the_summary() -> None:
    client = ScriptedClient({"scheduler": True, "core": True})
    replies = list(handle({"subject": "updater.perform_update", "body": {"component": "all"},
                           "connectionId": "c"}, client))
    assert client.started == [("scheduler", False), ("core", False)]
    *each, last = finals(replies)
    assert [(e["component"], e["success"]) for e in each] == [("remote", True), ("scheduler", True), ("core", True)]
    assert each[0]["message"] == "remote: no update available at the last check"
    assert set(last) == SUMMARY_KEYS
    assert last["summary"] == last["message"] == "update all: updated: scheduler 1.2.0, core 1.2.0"
    assert (last["component"], last["success"], last["dry_run"]) == ("all", True, False)
    assert [(e["component"], e["status"]) for e in last["components"]] == [
        ("remote", "unchanged"), ("scheduler", "updated"), ("core", "updated")]
    assert all(set(e) == ENTRY_KEYS for e in last["components"])
    progress = [r["body"] for r in replies if r["subject"] == "update_progress"]
    assert progress == [{"component": "scheduler", "phase": "pulling 40%", "percent": 40},
                        {"component": "core", "phase": "pulling 40%", "percent": 40}]
    assert replies[-1]["subject"] == "update_result" and all(r["destination"] == "c" for r in replies)


def test_the_first_failure_stops_the_rest_and_what_was_done_stays() -> None:
    client = ScriptedClient({"remote": False, "scheduler": True, "core": True}, {"scheduler": ROLLED_BACK})
    replies = list(handle({"subject": "updater.perform_update", "body": {"component": "all"}}, client))
    assert client.started == [("scheduler", False)]
    *each, last = finals(replies)
    assert [(e["component"], e["success"]) for e in each] == [("remote", True), ("scheduler", False),
                                                              ("core", False)]
    assert each[2]["message"] == "not started: scheduler did not update"
    assert last["success"] is False
    assert last["summary"] == ("update all: nothing updated; scheduler rolled-back: Post-update checks failed, "
                               "rolled back to v1.0.0; not started: core")


def test_a_held_component_is_left_out_and_the_rest_goes_on() -> None:
    client = ScriptedClient({"scheduler": True, "core": True}, held=("scheduler",))
    last = finals(list(handle({"subject": "updater.perform_update", "body": {"component": "all"}}, client)))[-1]
    assert client.started == [("core", False)]
    assert last["summary"] == "update all: updated: core 1.2.0; held: scheduler"
    assert last["success"] is True


def test_a_dry_run_shows_every_plan_even_after_a_failure() -> None:
    failed = {"component": "scheduler", "status": "refused", "success": False, "message": "disk full"}
    client = ScriptedClient({"scheduler": True, "core": True}, {"scheduler": failed})
    last = finals(list(handle({"subject": "updater.perform_update",
                               "body": {"component": "all", "dry_run": True}}, client)))[-1]
    assert client.started == [("scheduler", True), ("core", True)]
    assert last["dry_run"] is True
    assert last["summary"] == "update all: nothing updated; dry run passed: core; scheduler refused: disk full"


def test_remote_goes_first_and_says_its_instance_is_replaced_on_the_way() -> None:
    client = ScriptedClient({"remote": True, "scheduler": True})
    replies = list(handle({"subject": "updater.perform_update", "body": {"component": "all"}}, client))
    assert client.started[0] == ("remote", False)
    first = next(r["body"] for r in replies if r["subject"] == "update_progress")
    assert first == {"component": "remote", "phase": "remote restarts during its own update: the new instance "
                                                     "sends the result; scheduler then wait for another update all"}


def test_the_plain_string_shape_answers_log_per_component_then_the_summary() -> None:
    client = ScriptedClient({"scheduler": True, "core": True}, {"scheduler": ROLLED_BACK})
    replies = list(handle({"subject": "updater.update", "body": "all"}, client))
    assert {r["subject"] for r in replies} == {"updater_progress", "log"}
    *each, last = finals(replies, "log")
    assert [(e["success"], e["level"]) for e in each] == [(True, "info"), (False, "warning"), (False, "warning")]
    assert set(last) == {"success", "message", "level", "summary", "components"}
    assert (last["success"], last["level"]) == (False, "warning")
    assert last["summary"].startswith("update all: nothing updated; scheduler rolled-back: ")


@pytest.mark.parametrize(("client", "words"), [
    pytest.param(ScriptedClient({"core": True}, remote_pending=True),
                 "an update of remote is pending: all waits until it is done", id="remote-pending"),
    pytest.param(ScriptedClient({"core": True}, unreadable=True),
                 "update all: reading the last check: reading /var/lib/dunebugger-units/cache/check.json: "
                 "permission denied", id="last-check-unreadable"),
])
def test_all_refused_before_anything_starts(client: ScriptedClient, words: str) -> None:
    [only] = list(handle({"subject": "updater.perform_update", "body": {"component": "all"}}, client))
    assert only["body"] == {"component": "all", "success": False, "message": words, "dry_run": False}
    assert client.started == []


def test_the_summary_is_the_words_of_update_all() -> None:
    entries = [{"component": "remote", "status": "updated", "to_version": "1.2.0"},
               {"component": "scheduler", "status": "skipped"},
               {"component": "core", "status": "failed", "message": "download failed"}]
    assert summary_of(entries) == "update all: updated: remote 1.2.0; held: scheduler; core failed: download failed"
