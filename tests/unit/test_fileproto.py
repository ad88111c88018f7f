"""The remote's file protocol, pure part (dunebugger_units/remote/fileproto.py): every request file judged,
the version wish, our phases in the remote's words, and the final status."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dunebugger_units.remote import fileproto as fp

ID = "0b6f3c9e-5d0a-4d8e-9a51-0f7c2e6a1b23"
NAME = f"{ID}.json"


def body(**fields: Any) -> bytes:
    request = {"component": "scheduler", "action": "update", "version": "1.2.0", "request_id": ID,
               "timestamp": "2026-12-06T10:00:00.000000"}
    request.update(fields)
    return json.dumps({k: v for k, v in request.items() if v is not ...}, indent=2).encode()


OLD = fp.SETTLE_SECONDS + 1

PARSE = [
    # (name, entry type, data, age) -> (kind, answer_id, reason starts with, component, action)
    pytest.param(NAME, "file", body(), 0.1, ("ready", ID, "", "scheduler", "update"), id="the-shipped-remote's"),
    pytest.param(NAME, "file", body(version=...), 0.1, ("ready", ID, "", "scheduler", "update"), id="no-version"),
    pytest.param(NAME, "file", body(action="rollback", version=None), 0.1, ("ready", ID, "", "scheduler", "rollback"),
                 id="rollback"),
    pytest.param(NAME, "file", body(component="remote", action="health"), 0.1,
                 ("ready", ID, "", "remote", "health"), id="health"),
    pytest.param(NAME, "file", b"", 0.1, ("wait", None, "", "unknown", "unknown"), id="empty-and-young-waits"),
    pytest.param(NAME, "file", body()[:40], 0.1, ("wait", None, "", "unknown", "unknown"),
                 id="half-written-waits"),
    pytest.param(NAME, "file", b"", OLD, ("bad", ID, "Empty request file", "unknown", "unknown"), id="empty-for-long"),
    pytest.param(NAME, "file", b"{not json", OLD, ("bad", ID, "Invalid JSON in request file", "unknown", "unknown"),
                 id="bad-json-for-long"),
    pytest.param(NAME, "file", b"\xff\xfe{}", OLD, ("bad", ID, "Invalid JSON", "unknown", "unknown"),
                 id="not-utf8"),
    pytest.param(NAME, "file", b"[1, 2]", 0.1, ("bad", ID, "Request is not a JSON object", "unknown", "unknown"),
                 id="not-an-object"),
    pytest.param(NAME, "symlink", b"", 0.1, ("bad", ID, "Request file", "unknown", "unknown"), id="symlink"),
    pytest.param(NAME, "fifo", b"", 0.1, ("bad", ID, "Request file", "unknown", "unknown"), id="fifo"),
    pytest.param(NAME, "directory", b"", 0.1, ("bad", ID, "Request file", "unknown", "unknown"), id="directory"),
    pytest.param("notes.txt", "file", b"hello", 0.1, ("bad", None, "notes.txt is not a request", "unknown",
                                                      "unknown"), id="not-json-name-dropped"),
    pytest.param("../x.json", "symlink", b"", 0.1, ("bad", None, "Request file", "unknown", "unknown"),
                 id="hostile-stem-dropped"),
    pytest.param(NAME, "file", b" " * (fp.MAX_REQUEST_BYTES + 1), 0.1,
                 ("bad", ID, "Request larger than 4096 bytes", "unknown", "unknown"), id="oversized"),
    pytest.param(NAME, "file", body(request_id=...), 0.1,
                 ("bad", ID, "Missing 'request_id' field", "scheduler", "update"), id="missing-id-answered-at-stem"),
    pytest.param("x y.json", "file", body(request_id=...), 0.1,
                 ("bad", None, "Missing 'request_id' field", "scheduler", "update"), id="missing-id-dropped"),
    pytest.param(NAME, "file", body(request_id="../../etc/passwd"), 0.1,
                 ("bad", ID, "Invalid request_id: ../../etc/passwd", "scheduler", "unknown"), id="id-escapes"),
    pytest.param(NAME, "file", body(request_id=".hidden"), 0.1,
                 ("bad", ID, "Invalid request_id: .hidden", "scheduler", "unknown"), id="id-dotfile"),
    pytest.param(NAME, "file", body(request_id="a/b"), 0.1,
                 ("bad", ID, "Invalid request_id: a/b", "scheduler", "unknown"), id="id-slash"),
    pytest.param(NAME, "file", body(request_id=7), 0.1,
                 ("bad", ID, "Invalid request_id: 7", "scheduler", "unknown"), id="id-not-a-string"),
    pytest.param(NAME, "file", body(component=...), 0.1, ("bad", ID, "Missing 'component' field", "unknown",
                                                          "unknown"), id="missing-component"),
    pytest.param(NAME, "file", body(component="nats-server"), 0.1,
                 ("bad", ID, "Unknown component: nats-server", "nats-server", "unknown"), id="unknown-component"),
    pytest.param(NAME, "file", body(component=["core"]), 0.1,
                 ("bad", ID, 'Unknown component: ["core"]', '["core"]', "unknown"), id="component-not-a-string"),
    pytest.param(NAME, "file", body(action=...), 0.1, ("bad", ID, "Missing 'action' field", "scheduler", "unknown"),
                 id="missing-action"),
    pytest.param(NAME, "file", body(action="shell"), 0.1, ("bad", ID, "Invalid action: shell", "scheduler", "shell"),
                 id="unknown-action"),
    pytest.param(NAME, "file", body(version="1.2.0; rm -rf /"), 0.1,
                 ("bad", ID, "Invalid version: 1.2.0; rm -rf /", "scheduler", "update"), id="version-not-a-version"),
    pytest.param(NAME, "file", body(version="../1.0"), 0.1,
                 ("bad", ID, "Invalid version: ../1.0", "scheduler", "update"), id="version-path"),
]


@pytest.mark.parametrize(("name", "entry", "data", "age", "expected"), PARSE)
def test_parse_request(name: str, entry: str, data: bytes, age: float, expected: tuple[str, ...]) -> None:
    verdict = fp.parse_request(name, entry, data, age)
    kind, answer_id, reason, component, action = expected
    assert (verdict.kind, verdict.answer_id, verdict.component, verdict.action) == (kind, answer_id, component,
                                                                                    action)
    assert verdict.reason.startswith(reason)
    if kind == "ready":
        assert verdict.request is not None and verdict.request.request_id == ID
    else:
        assert verdict.request is None


def test_a_hostile_value_is_one_short_line() -> None:
    verdict = fp.parse_request(NAME, "file", body(component="x\n" * 100), 0.1)
    assert "\n" not in verdict.reason and len(verdict.component) == 64


@pytest.mark.parametrize("request_id", ["..", ".", "", "a" * 129, "-x", "a\x00b", "é"])
def test_ids_that_never_name_a_file(request_id: str) -> None:
    assert fp.valid_id(request_id) is None


@pytest.mark.parametrize(("wish", "installed", "expected"), [
    pytest.param(None, "1.0.0", (None, None), id="no-wish-latest-from-the-check"),
    pytest.param("1.2.0", "1.0.0", ("1.2.0", None), id="newer"),
    pytest.param("v1.2.0", "1.0.0", ("1.2.0", None), id="newer-with-v"),
    pytest.param("1.0.0", "1.0.0", ("1.0.0", None), id="same-the-unit-says-already-installed"),
    pytest.param("1.2.0", "unknown", ("1.2.0", None), id="installed-unknown"),
    pytest.param("0.9.0", "1.0.0", (None, "Refused scheduler 0.9.0: older than the installed 1.0.0"), id="older"),
    pytest.param("1.0.0-beta.8", "1.0.0", (None, "Refused scheduler 1.0.0-beta.8: older"), id="older-prerelease"),
    pytest.param("latest", "1.0.0", (None, "Invalid version: latest"), id="not-a-version"),
])
def test_version_wish(wish: str | None, installed: str, expected: tuple[str | None, str | None]) -> None:
    version, refusal = fp.version_wish("scheduler", wish, installed)
    assert version == expected[0]
    assert (refusal is None) == (expected[1] is None)
    assert refusal is None or refusal.startswith(str(expected[1]))


@pytest.mark.parametrize(("text", "shown", "phase"), [
    pytest.param("scheduler: pre-update checks", "starting", "starting", id="pre-checks"),
    pytest.param("scheduler: applying", "starting", "starting", id="applying-keeps"),
    pytest.param("scheduler: pulling", "starting", "downloading", id="pull"),
    pytest.param("scheduler: pulling 40%", "downloading", "downloading", id="pull-percent"),
    pytest.param("core: downloading 40%", "starting", "downloading", id="download"),
    pytest.param("scheduler: backing up the compose file", "downloading", "installing", id="backup"),
    pytest.param("scheduler: recreating the container", "installing", "installing", id="recreate"),
    pytest.param("core: staging", "downloading", "installing", id="staging"),
    pytest.param("core: installing requirements 30%", "installing", "installing", id="pip"),
    pytest.param("core: reusing the venv of 1.0.0 (requirements unchanged)", "installing", "installing", id="reuse"),
    pytest.param("core: switching", "installing", "installing", id="switch"),
    pytest.param("scheduler: post-update checks", "installing", "verifying", id="post-checks"),
    pytest.param("scheduler: stability window 50%", "verifying", "verifying", id="stability"),
    pytest.param("scheduler: committing", "verifying", "verifying", id="commit"),
    pytest.param("core: switching back", "verifying", "rolling_back", id="switch-back"),
    pytest.param("scheduler: recreating the previous container", "verifying", "rolling_back", id="recreate-previous"),
    pytest.param("scheduler: rolling back", "verifying", "rolling_back", id="rollback"),
    pytest.param("something new", "verifying", "verifying", id="unknown-keeps"),
])
def test_phase_of(text: str, shown: str, phase: str) -> None:
    assert fp.phase_of(text, shown) == phase


@pytest.mark.parametrize(("text", "replaced"), [
    ("remote: pulling", False), ("remote: backing up the compose file", False),
    ("remote: recreating the container", False), ("remote: post-update checks", True),
    ("remote: stability window 10%", True), ("remote: committing", True),
    ("remote: recreating the previous container", True), ("remote: rolling back", False),
])
def test_replaces_remote(text: str, replaced: bool) -> None:
    assert fp.replaces_remote(text) is replaced


RESULT = {"component": "scheduler", "action": "update", "from_version": "1.0.0", "to_version": "1.2.0"}


@pytest.mark.parametrize(("result", "expected"), [
    pytest.param({**RESULT, "status": "updated", "success": True, "message": "Updated scheduler to 1.2.0"},
                 (True, "Updated scheduler to 1.2.0", "update scheduler: updated (1.0.0 -> 1.2.0)", ""), id="updated"),
    pytest.param({**RESULT, "status": "refused", "success": False, "to_version": None,
                  "message": "updating scheduler: already up to date at 1.2.0 (latest 1.2.0)"},
                 (True, "updating scheduler: already up to date at 1.2.0 (latest 1.2.0)",
                  "update scheduler: refused (1.0.0)", ""), id="already-up-to-date-is-no-failure"),
    pytest.param({**RESULT, "status": "refused", "success": False, "message": "updating scheduler: 1.2.0 is already "
                  "installed"}, (True, "updating scheduler: 1.2.0 is already installed",
                                 "update scheduler: refused (1.0.0 -> 1.2.0)", ""), id="already-installed"),
    pytest.param({**RESULT, "status": "unchanged", "success": False, "to_version": None,
                  "message": "updating scheduler: already up to date at 1.2.0 (latest 1.2.0)"},
                 (True, "updating scheduler: already up to date at 1.2.0 (latest 1.2.0)",
                  "update scheduler: unchanged (1.0.0)", ""), id="unchanged-is-no-failure"),
    pytest.param({**RESULT, "status": "refused", "success": False, "message": "update of core in progress"},
                 (False, "update of core in progress", "update scheduler: refused (1.0.0 -> 1.2.0)", "refused"),
                 id="refused"),
    pytest.param({**RESULT, "action": "rollback", "status": "rolled-back", "success": False,
                  "message": "Post-update checks failed, rolled back to v1.0.0"},
                 (False, "Post-update checks failed, rolled back to v1.0.0",
                  "rollback scheduler: rolled-back (1.0.0 -> 1.2.0)", "rolled-back"), id="rolled-back"),
    pytest.param(None, (False, "The unit ended with job result 'failed' and recorded no result", "", "failed"),
                 id="no-result"),
])
def test_final_fields(result: dict[str, Any] | None, expected: tuple[Any, ...]) -> None:
    assert fp.final_fields(result, "failed", "update") == expected


@pytest.mark.parametrize(("asked", "status", "success"), [
    pytest.param("rollback", "rolled-back", True, id="a-rollback-asked-for-that-rolled-back"),
    pytest.param("update", "rolled-back", False, id="an-update-that-was-rolled-back"),
    pytest.param("rollback", "unchanged", True, id="nothing-to-roll-back"),
    pytest.param("rollback", "needs-manual", False, id="a-rollback-that-failed"),
])
def test_a_rollback_succeeds_by_what_was_asked(asked: str, status: str, success: bool) -> None:
    result = {**RESULT, "action": "rollback", "status": status, "success": status == "unchanged", "message": "m"}
    assert fp.final_fields(result, "done", asked)[0] is success


def test_a_status_record_has_exactly_the_coordinators_keys() -> None:
    running = fp.status_record(ID, "core", "update", phase="starting", timestamp="t")
    assert tuple(running) == fp.STATUS_KEYS
    assert (running["success"], running["message"], running["phase"]) == (None, "in_progress", "starting")
    done = fp.status_record(ID, "core", "update", phase="completed", timestamp="t", success=True, message="ok")
    assert tuple(done) == fp.STATUS_KEYS and done["success"] is True


@pytest.mark.parametrize(("asked", "expected"), [
    pytest.param("2026-12-06T10:00:00.000000Z", "b", id="the-first-run-after-asking"),
    pytest.param("2026-12-06T10:00:02.000000Z", "c", id="a-later-ask"),
    pytest.param("2026-12-06T11:00:00.000000Z", None, id="none-yet"),
])
def test_own_result(asked: str, expected: str | None) -> None:
    results = [  # newest first, as state.read_results gives them
        {"id": "d", "component": "core", "action": "update", "finished_at": "2026-12-06T10:00:04.000000Z"},
        {"id": "c", "component": "scheduler", "action": "update", "finished_at": "2026-12-06T10:00:03.000000Z"},
        {"id": "x", "component": "scheduler", "action": "rollback", "finished_at": "2026-12-06T10:00:02.500000Z"},
        {"id": "b", "component": "scheduler", "action": "update", "finished_at": "2026-12-06T10:00:01.000000Z"},
        {"id": "a", "component": "scheduler", "action": "update", "finished_at": "2026-12-06T09:59:59.000000Z"},
    ]
    found = fp.own_result(results, "scheduler", "update", asked)
    assert (found or {}).get("id") == expected


def test_the_rollback_that_answers_a_failed_update() -> None:
    failed = {"action": "update", "status": "failed", "changed": True, "invocation_id": "abc"}
    other = {"action": "rollback", "failed_invocation_id": "zzz"}
    mine = {"action": "rollback", "failed_invocation_id": "abc"}
    assert fp.rollback_expected(failed)
    assert not fp.rollback_expected({**failed, "changed": False})
    assert fp.rollback_of([other, mine], failed) is mine
    assert fp.rollback_of([other], failed) is None
