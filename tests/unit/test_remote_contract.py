"""Fidelity to the dunebugger-remote app and the frontend (dunebugger-remote `app/websocket_message_handler.py`,
dunebugger-fe `websocket.js`, `SystemPage.js`), pinned with fixtures shaped like their messages; and the pure
decisions of the client (progress percent, error lines, the remote-first policy, the outcome of remote's own update)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dunebugger_units.config import parse_config
from dunebugger_units.errors import ConfigError
from dunebugger_units.phases import check as check_phase
from dunebugger_units.remote.client import (
    FRONTEND_KEYS,
    REMOTE_APP_KEYS,
    ROOT_KEYS,
    ClientError,
    Event,
    UpdaterClient,
    component_view,
    explain,
    merge_records,
    progress_data,
    rollback_expected,
    rollback_of,
    system_info_components,
)
from dunebugger_units.remote.door import NotServed, ServiceGone
from dunebugger_units.remote.messages import broadcast_replies, handle, level_of
from dunebugger_units.rules.preflight import RemoteFacts, remote_first_check
from dunebugger_units.systemd import AccessDenied, BusDropped, BusUnreachable, JobTimeout, SystemdError

# What the frontend accepts (websocket.js): a reply to its own connectionId or to broadcast, and of the
# subjects it acts on, the ones the updater sends.
FRONTEND_ENVELOPE = {"subject": "log", "body": {"success": True, "message": "...", "level": "info"},
                  "source": "controller", "destination": "broadcast"}
FRONTEND_LEVELS = {"info", "warning", "error"}
# The system_info of the System page (SystemPage.js reads dunebugger_components[].name/.state/.version)
SYSTEM_PAGE_INFO = {"dunebugger_components": [{"name": "core", "state": "running", "version": "1.0.0-beta.4"}]}
# The system_info component of the dunebugger-remote app's updater page, values as it sends them
REMOTE_APP_SYSTEM_INFO_COMPONENT = {"name": "core", "running": True, "current_version": "1.0.0-beta.4",
                                    "latest_version": "1.0.0-beta.5", "update_available": True,
                                    "last_checked": "2026-01-01T00:00:00Z", "release_notes": "", "release_url": ""}
# The dunebugger-remote app's component record (dunebugger_updater.py)
REMOTE_APP_COMPONENT = {"name": "scheduler", "current_version": "1.0.0-beta.15", "latest_version": "unknown",
                   "component_type": "container", "prerelease": True}

RECORD = {"current": "1.0.0-beta.15", "latest": "1.0.0-beta.16", "update_available": True, "release_notes": "",
          "last_checked": "2026-01-01T00:00:00Z", "release_url": None, "published_at": None, "assets": [],
          "error": None}


def result(**fields: Any) -> dict[str, Any]:
    base = {"component": "scheduler", "action": "update", "status": "updated", "success": True, "dry_run": False,
            "message": "Updated scheduler to 1.2.0", "invocation_id": "aa", "finished_at": "2026-01-01T00:00:01Z"}
    return base | fields


# ---- component records and system_info ----------------------------------------------------------------------

def test_component_records_carry_the_remote_apps_keys_beside_the_updaters() -> None:
    view = component_view("scheduler", RECORD)
    assert FRONTEND_KEYS == check_phase.FRONTEND_KEYS  # the client's copy is the check's (no import needed)
    assert set(view) == set(FRONTEND_KEYS) | set(ROOT_KEYS) | set(REMOTE_APP_KEYS)
    assert {k: view[k] for k in REMOTE_APP_KEYS} == {"name": "scheduler", "current_version": "1.0.0-beta.15",
                                                "latest_version": "1.0.0-beta.16", "component_type": "container",
                                                "prerelease": True}
    assert set(REMOTE_APP_COMPONENT) == set(REMOTE_APP_KEYS)


def test_what_the_panel_needs_is_pinned_beside_every_earlier_key() -> None:
    """The update panel (web/) tells its states from these: never checked, no release, a failed check, held,
    waiting for the window, a release that failed here before, ready to install, and whether to offer a
    rollback (and to what)."""
    assert FRONTEND_KEYS == ("current", "latest", "update_available", "release_notes", "last_checked",
                             "release_url", "published_at", "assets", "error", "held", "policy", "next_window",
                             "failed_versions")
    assert ROOT_KEYS == ("previous", "last_result", "prepared")
    view = component_view("core", {})
    assert {k: view[k] for k in (*ROOT_KEYS, "next_window", "failed_versions")} == dict.fromkeys(
        (*ROOT_KEYS, "next_window", "failed_versions"))


LAST = {"action": "rollback", "status": "rolled-back", "success": False, "finished_at": "2026-12-01T10:00:00Z",
        "message": "Post-update checks failed, rolled back to v1.0.0"}


@pytest.mark.parametrize(("checked", "own", "expected"), [
    pytest.param({"current": "1.2.0"}, {"previous": {"version": "1.0.0", "installed": "1.2.0", "backups": {"a": "/x"}}},
                 "1.0.0", id="previous-of-the-running-release"),
    pytest.param({"current": "1.3.0"}, {"previous": {"version": "1.0.0", "installed": "1.2.0"}}, None,
                 id="another-release-runs-since"),
    pytest.param({"current": "1.0.0"}, {}, None, id="never-updated"),
    pytest.param({"current": "1.2.0"}, {"previous": "1.0.0"}, None, id="not-a-record"),
])
def test_previous_is_the_version_a_rollback_returns_to(checked: dict[str, Any], own: dict[str, Any],
                                                        expected: str | None) -> None:
    merged = merge_records({"core": checked}, {"core": own})
    view = component_view("core", merged["core"])
    assert view["previous"] == expected
    assert "/x" not in json.dumps(view)  # the backups' paths stay on the device


def test_last_result_and_prepared_come_from_roots_record(tmp_path: Path) -> None:
    (tmp_path / "check").mkdir()
    (tmp_path / "check" / "check.json").write_text(json.dumps({"components": {"scheduler": RECORD | {
        "next_window": "2026-12-07T02:00:00+00:00", "failed_versions": ["1.0.0-beta.16"]}}}))
    (tmp_path / "state.json").write_text(json.dumps({"components": {"scheduler": {
        "last_result": LAST, "prepared": {"version": "1.0.0-beta.16"}}}}))
    body = UpdaterClient(tmp_path).check_result()
    scheduler, core = body["components"]["scheduler"], body["components"]["core"]
    assert scheduler["last_result"] == LAST
    assert scheduler["prepared"] == {"version": "1.0.0-beta.16"}
    assert scheduler["next_window"] == "2026-12-07T02:00:00+00:00"
    assert scheduler["failed_versions"] == ["1.0.0-beta.16"]
    assert (core["last_result"], core["prepared"], core["previous"]) == (None, None, None)


def test_nothing_known_is_unknown_never_null() -> None:
    view = component_view("remote", {})
    assert {k: view[k] for k in REMOTE_APP_KEYS} == {"name": "remote", "current_version": "unknown",
                                                "latest_version": "unknown", "component_type": "container",
                                                "prerelease": "unknown"}
    assert component_view("core", {"current": "1.0.0", "latest": "1.2.0"})["component_type"] == "python_app"
    assert component_view("core", {"current": "1.0.0", "latest": "1.2.0"})["prerelease"] is False


@pytest.mark.parametrize(("record", "state"), [
    pytest.param(RECORD, "update-available", id="available"),
    pytest.param(RECORD | {"update_available": False}, "up-to-date", id="up-to-date"),
    pytest.param(RECORD | {"update_available": False, "error": "rate limited"}, "check-failed", id="check-failed"),
    pytest.param(RECORD | {"last_result": {"status": "needs-manual"}}, "needs-manual", id="needs-manual"),
    pytest.param({}, "unknown", id="nothing"),
])
def test_system_info_is_shaped_for_the_system_page(record: dict[str, Any], state: str) -> None:
    components = system_info_components({"scheduler": record})
    assert [c["name"] for c in components] == ["core", "scheduler", "remote"]
    for item in components:
        assert set(item) == set(SYSTEM_PAGE_INFO["dunebugger_components"][0]) | set(REMOTE_APP_SYSTEM_INFO_COMPONENT)
        assert None not in item.values()  # every key is one a frontend prints
        for key, example in [*SYSTEM_PAGE_INFO["dunebugger_components"][0].items(),
                             *REMOTE_APP_SYSTEM_INFO_COMPONENT.items()]:
            assert type(item[key]) is type(example), key
    assert components[1]["state"] == state


@pytest.mark.parametrize(("record", "expected"), [
    pytest.param(RECORD, {"running": True, "current_version": "1.0.0-beta.15", "latest_version": "1.0.0-beta.16",
                          "update_available": True, "last_checked": "2026-01-01T00:00:00Z", "release_notes": "",
                          "release_url": ""}, id="checked"),
    pytest.param(RECORD | {"release_notes": "Fixes", "release_url": "https://example.org/r/1"},
                 {"release_notes": "Fixes", "release_url": "https://example.org/r/1"}, id="notes-and-link"),
    pytest.param(RECORD | {"last_result": {"status": "needs-manual"}}, {"running": False}, id="needs-manual"),
    pytest.param({}, {"running": False, "current_version": "unknown", "latest_version": "unknown",
                      "update_available": False, "last_checked": "unknown", "release_notes": "", "release_url": ""},
                 id="nothing-known"),
])
def test_system_info_carries_the_newer_remotes_keys(record: dict[str, Any], expected: dict[str, Any]) -> None:
    [item] = [c for c in system_info_components({"scheduler": record}) if c["name"] == "scheduler"]
    assert {k: item[k] for k in expected} == expected
    assert item["version"] == item["current_version"]


def test_the_client_reads_system_info_from_the_record(tmp_path: Path) -> None:
    (tmp_path / "check").mkdir()  # the check's cache, beside root's state
    (tmp_path / "check" / "check.json").write_text(json.dumps({"components": {"scheduler": RECORD}}))
    info = UpdaterClient(tmp_path).system_info()
    scheduler, core = info["dunebugger_components"][1], info["dunebugger_components"][0]
    assert {k: scheduler[k] for k in ("name", "state", "version")} == {"name": "scheduler",
                                                                        "state": "update-available",
                                                                        "version": "1.0.0-beta.15"}
    assert {k: core[k] for k in ("name", "state", "version")} == {"name": "core", "state": "unknown",
                                                                   "version": "unknown"}


# ---- levels and broadcasts ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("fields", "level"), [
    pytest.param({}, "info", id="updated"),
    pytest.param({"status": "dry-run"}, "info", id="dry-run"),
    pytest.param({"status": "unchanged", "success": True,
                  "message": "updating scheduler: already up to date at 1.2.0 (latest 1.2.0)"}, "info",
                 id="already-up-to-date-is-info"),
    pytest.param({"status": "refused", "success": False, "message": "update of remote in progress"}, "warning",
                 id="refused"),
    pytest.param({"status": "rolled-back", "success": False}, "warning", id="rolled-back"),
    pytest.param({"status": "cancelled", "success": False}, "warning", id="cancelled"),
    pytest.param({"status": "failed", "success": False}, "error", id="failed"),
    pytest.param({"status": "needs-manual", "success": False}, "error", id="needs-manual"),
])
def test_log_levels_are_the_frontends(fields: dict[str, Any], level: str) -> None:
    assert level_of(result(**fields)) == level
    assert level in FRONTEND_LEVELS


def test_every_result_is_broadcast_as_update_result_and_as_log() -> None:
    rolled = result(status="rolled-back", success=False, message="Post-update checks failed, rolled back to v1.0.0")
    update_result, log = broadcast_replies(rolled)
    assert set(log) == set(FRONTEND_ENVELOPE)
    assert log == {"subject": "log", "source": "controller", "destination": "broadcast",
                   "body": {"success": False, "message": "Post-update checks failed, rolled back to v1.0.0",
                            "level": "warning"}}
    assert update_result == {"subject": "update_result", "source": "controller", "destination": "broadcast",
                             "body": {"component": "scheduler", "success": False, "dry_run": False,
                                      "message": "Post-update checks failed, rolled back to v1.0.0"}}


def test_a_failed_update_that_is_being_rolled_back_is_progress_not_an_outcome() -> None:
    failed = result(action="update", status="failed", success=False, changed=True,
                    message="Post-update checks failed: container running: restarted 3 times; rolling back to 1.0.0")
    assert broadcast_replies(failed) == [{"subject": "update_progress", "source": "controller",
                                          "destination": "broadcast",
                                          "body": {"component": "scheduler", "phase": "rolling back"}}]
    unchanged = result(action="update", status="failed", success=False, changed=False,
                       message="Update failed during apply: pull failed; nothing was changed")
    assert [r["subject"] for r in broadcast_replies(unchanged)] == ["update_result", "log"]


# ---- updater.rollback ------------------------------------------------------------------------------------------

class RollbackClient:
    def __init__(self) -> None:
        self.rolled: list[str] = []

    def check(self) -> dict[str, Any]:
        raise AssertionError("not asked")

    def system_info(self) -> dict[str, Any]:
        raise AssertionError("not asked")

    def update(self, component: str, dry_run: bool = False) -> Iterator[Event]:
        raise AssertionError("a rollback request must not start an update")

    def rollback(self, component: str) -> Iterator[Event]:
        self.rolled.append(component)
        yield Event("progress", {"phase": f"{component}: downloading 40%", "percent": 40})
        yield Event("result", result(component=component, action="rollback", status="rolled-back", success=False,
                                     message=f"Rolled back {component} to 1.0.0"))

    def remote_update_pending(self) -> bool:
        return False


@pytest.mark.parametrize("body", [pytest.param({"component": "scheduler"}, id="object"),
                                  pytest.param("scheduler", id="string")])
def test_rollback_request_starts_the_rollback_unit_and_answers_update_result(body: Any) -> None:
    client = RollbackClient()
    progress, final = handle({"subject": "updater.rollback", "body": body, "connectionId": "c"}, client)
    assert client.rolled == ["scheduler"]
    assert progress["body"] == {"component": "scheduler", "phase": "scheduler: downloading 40%", "percent": 40}
    assert final == {"subject": "update_result", "source": "controller", "destination": "c",
                     "body": {"component": "scheduler", "success": False, "message": "Rolled back scheduler to 1.0.0",
                              "dry_run": False}}


def test_rollback_of_an_unknown_component_is_refused() -> None:
    client = RollbackClient()
    [final] = handle({"subject": "updater.rollback", "body": {"component": "nats"}}, client)
    assert "unknown component 'nats'" in final["body"]["message"]
    assert client.rolled == []


# ---- progress percent ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "percent"), [
    pytest.param("scheduler: downloading 40%", 40, id="percent"),
    pytest.param("core: downloading 100 %", 100, id="space"),
    pytest.param("core: downloading 0%", 0, id="zero"),
    pytest.param("core: pre-update checks", None, id="none"),
    pytest.param("core: downloading 140%", None, id="over-100"),
    pytest.param("core: 2.5% done", None, id="fraction"),
])
def test_progress_percent(text: str, percent: int | None) -> None:
    data = progress_data(text)
    assert data["phase"] == text
    assert data.get("percent") == percent


# ---- error lines -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("error", "start", "fix"), [
    pytest.param(BusDropped("x", waiting=False), "the system bus refused uid 999: it has no user on the host",
                 "dunebugger-remote", id="unknown-uid"),
    pytest.param(BusUnreachable("x", "unix:path=/run/dbus/system_bus_socket", 2),
                 "cannot reach the system bus at unix:path=/run/dbus/system_bus_socket: No such file or directory",
                 "mount the host's /run/dbus", id="no-socket"),
    pytest.param(AccessDenied("x"), "asking org.dunebugger.Updater1 for dunebugger-check.service: permission "
                 "refused for uid 999", "dunebugger group, and the bus policy org.dunebugger.Updater1.conf",
                 id="denied"),
    pytest.param(NotServed("x"), "asking org.dunebugger.Updater1 for dunebugger-check.service: the service is not "
                 "installed or failed to start", "systemctl status dunebugger-updater1.service", id="not-served"),
    pytest.param(ServiceGone("x"), "org.dunebugger.Updater1 went away while following dunebugger-check.service",
                 "journalctl -u dunebugger-updater1", id="service-gone"),
    pytest.param(BusDropped("x", waiting=True), "the system bus went away while waiting for dunebugger-check",
                 "follow_results()", id="bus-gone"),
    pytest.param(JobTimeout("x"), "no result from dunebugger-check.service within 30 s", "systemctl status",
                 id="timeout"),
    pytest.param(SystemdError("unknown component 'x'"),
                 "asking org.dunebugger.Updater1 for dunebugger-check.service: unknown component 'x'", "",
                 id="refused-by-the-door"),
])
def test_each_bus_failure_is_one_line_with_cause_and_fix(error: SystemdError, start: str, fix: str) -> None:
    line = explain(error, "dunebugger-check.service", 999, 30)
    assert line.startswith(start)
    assert fix in line
    assert "\n" not in line


def test_a_check_without_a_bus_is_a_client_error_not_sdbus() -> None:
    def no_bus() -> Any:
        raise BusUnreachable("x", "unix:path=/nowhere", 2)

    with pytest.raises(ClientError, match="cannot reach the system bus at unix:path=/nowhere"):
        UpdaterClient("/nonexistent", connect=no_bus).check()

    def sdbus_internals() -> Any:
        raise RuntimeError("File: src/sdbus/sd_bus_internals_funcs.c Line: 37")

    with pytest.raises(ClientError, match=r"^asking org\.dunebugger\.Updater1 for dunebugger-check\.service: "
                                          r"RuntimeError"):
        UpdaterClient("/nonexistent", connect=sdbus_internals).check()


# ---- the remote-first rule ---------------------------------------------------------------------------------------

RULE = "(rule: policy.remote_first: available)"


@pytest.mark.parametrize(("policy", "name", "remote", "detail"), [
    pytest.param("available", "scheduler", RemoteFacts("1.0.0", latest="1.2.0"),
                 "remote has an update available (1.0.0 -> 1.2.0); update remote first (rule: policy.remote_first: "
                 "available)",
                 id="available-scheduler-waits"),
    pytest.param("available", "core", RemoteFacts("1.0.0", latest="1.2.0"), "(1.0.0 -> 1.2.0)",
                 id="available-core-waits"),
    pytest.param("available", "remote", RemoteFacts("1.0.0", latest="1.2.0"), None, id="remote-itself-goes"),
    pytest.param("available", "scheduler", RemoteFacts("1.2.0", latest="1.2.0"), None, id="nothing-for-remote"),
    pytest.param("available", "scheduler", RemoteFacts("1.2.0", latest=None), None, id="nothing-published"),
    pytest.param("available", "scheduler", None, None, id="no-remote-configured"),
    pytest.param("running", "scheduler", RemoteFacts("1.0.0", latest="1.2.0"), None, id="running-scheduler-goes"),
    pytest.param("available", "scheduler", RemoteFacts("unknown", "reading compose file /c.yml: Permission denied",
                                                       latest="1.2.0"),
                 "remote's installed version is unknown (reading compose file /c.yml: Permission denied); update "
                 "remote first (`dunebugger-units update remote`), or set policy.remote_first: running",
                 id="unknown-remote-says-why-and-how"),
    pytest.param("available", "scheduler", RemoteFacts("1.0.0", lookup_error="GitHub answered HTTP 502"),
                 "whether remote has an update is not known (GitHub answered HTTP 502); try again later, or set "
                 "policy.remote_first: running", id="github-unreachable-says-how"),
])
def test_remote_first_policy(policy: str, name: str, remote: RemoteFacts | None, detail: str | None) -> None:
    """Root's own facts decide (its reading of the device, its own GitHub answer); the check's cache is not an
    input at all."""
    outcome = remote_first_check(policy, name, remote)
    refused = outcome is not None and not outcome.ok
    assert refused is (detail is not None)
    if detail is not None:
        assert outcome is not None
        assert outcome.line().startswith(f"remote first: Cannot update {name} before remote: ")
        assert detail in outcome.line()
        assert outcome.line().endswith(RULE)


def test_remote_first_policy_config() -> None:
    assert parse_config({}).policy.remote_first == "available"  # remote first whenever it has an update
    assert parse_config({"policy": {"remote_first": "running"}}).policy.remote_first == "running"
    with pytest.raises(ConfigError, match=r"^policy.remote_first: expected one of available, running, got 'always'"):
        parse_config({"policy": {"remote_first": "always"}})
    with pytest.raises(ConfigError, match="policy"):
        parse_config({"policy": {"remote-first": "running"}})


# ---- remote's own update: which result is the outcome -------------------------------------------------------------

def test_a_failed_update_is_answered_by_its_rollback() -> None:
    failed = result(status="failed", success=False, message="Post-update checks failed: remote: exited",
                    invocation_id="inv-1", changed=True)
    assert rollback_expected(failed)
    assert not rollback_expected(result(status="failed", success=False, changed=False,
                                        message="pre-update checks of remote: disk full; nothing was changed"))
    assert not rollback_expected(result())
    other = result(action="rollback", failed_invocation_id="inv-0")
    mine = result(action="rollback", status="rolled-back", failed_invocation_id="inv-1")
    assert rollback_of([mine, other], failed) is mine
    assert rollback_of([other], failed) is None


def write_result(results: Path, name: str, data: dict[str, Any]) -> None:
    results.mkdir(parents=True, exist_ok=True)
    (results / name).write_text(json.dumps(data))


def test_follow_results_yields_each_new_result_once_in_order(tmp_path: Path) -> None:
    results = tmp_path / "elsewhere"  # the results dir is a parameter
    write_result(results, "20260101T000000Z-1-scheduler-update.json", result(finished_at="2026-01-01T00:00:00Z"))
    client = UpdaterClient(tmp_path / "state", results_dir=results, poll=0.01)
    follow = client.follow_results(since="2026-01-01T00:00:01Z")
    write_result(results, "20260101T000002Z-1-scheduler-update.json", result(finished_at="2026-01-01T00:00:02Z"))
    write_result(results, "20260101T000003Z-1-remote-rollback.json",
                 result(component="remote", action="rollback", finished_at="2026-01-01T00:00:03Z"))
    seen = [next(follow), next(follow)]
    assert [(r["component"], r["finished_at"]) for r in seen] == [("scheduler", "2026-01-01T00:00:02Z"),
                                                                  ("remote", "2026-01-01T00:00:03Z")]
    assert os.listdir(results)  # nothing consumed: read-only use of the dir


# ---- the remote's image stays light ------------------------------------------------------------------------------

def test_the_client_imports_only_what_the_remotes_image_carries() -> None:
    import subprocess
    import sys

    from kits.remoteimage import CLIENT_MODULES

    probe = ("import sys, dunebugger_units.remote.client, dunebugger_units.remote.messages; "
             "print(' '.join(sorted(sys.modules)))")
    loaded = set(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                                cwd=Path(__file__).resolve().parents[2]).stdout.split())
    ours = {m for m in loaded if m.startswith("dunebugger_units")}
    carried = {"dunebugger_units." + m.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
               for m in CLIENT_MODULES} | {"dunebugger_units"}
    carried.discard("dunebugger_units.__init__")
    assert ours <= carried, ours - carried
    assert not loaded & {"requests", "yaml", "ruamel", "click", "packaging"}
