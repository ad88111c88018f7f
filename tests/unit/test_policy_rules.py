"""When updates may happen: the pure decisions, table-tested."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from dunebugger_units.config import parse_config
from dunebugger_units.errors import ConfigError
from dunebugger_units.github import Release
from dunebugger_units.phases.auto import worth_recording
from dunebugger_units.phases.listing import version_rows
from dunebugger_units.rules.policy import (
    AutoAction,
    AutoDecision,
    AutoFacts,
    Candidate,
    decide_auto,
    failed_versions,
    manual_gate,
    next_window,
    window_state,
)
from dunebugger_units.showlock import holders_from_proc_locks, unit_from_cgroup

RELEASES = (Candidate("1.0.1", False), Candidate("1.1.0", False), Candidate("2.0.0", False),
            Candidate("1.2.0-beta.1", True))
FACTS = AutoFacts(component="scheduler", policy="auto", auto_limit="minor", auto_prerelease=False, held=False,
                  installed="1.0.0", in_window=True, next_window="2026-03-02 02:00:00", show_lock=None,
                  candidates=RELEASES)


@pytest.mark.parametrize(("change", "action", "target", "reason"), [
    pytest.param({}, AutoAction.UPDATE, "1.1.0", "1.0.0 -> 1.1.0", id="minor-limit-takes-the-newest-minor"),
    pytest.param({"auto_limit": "patch"}, AutoAction.UPDATE, "1.0.1", "auto_limit patch", id="patch-limit"),
    pytest.param({"auto_limit": "major"}, AutoAction.UPDATE, "2.0.0", "auto_limit major", id="major-limit"),
    pytest.param({"auto_prerelease": True}, AutoAction.UPDATE, "1.2.0-beta.1", "1.2.0-beta.1", id="prerelease"),
    pytest.param({"policy": "notify"}, AutoAction.NONE, None, "policy is notify", id="notify"),
    pytest.param({"held": True}, AutoAction.SKIP, None, "scheduler is held", id="held"),
    pytest.param({"in_window": False}, AutoAction.DEFER, None, "outside the maintenance window (next window 2026",
                 id="outside-window"),
    pytest.param({"show_lock": "held by PID 812, dunebugger.service"}, AutoAction.DEFER, None,
                 "a show is running: held by PID 812, dunebugger.service", id="show-lock"),
    pytest.param({"candidates": None}, AutoAction.LOOKUP, None, "looked up", id="lookup-after-the-cheap-facts"),
    pytest.param({"candidates": (), "lookup_error": "rate limited until 03:00"}, AutoAction.DEFER, None,
                 "rate limited", id="lookup-failed"),
    pytest.param({"installed": "unknown"}, AutoAction.SKIP, None, "unknown", id="installed-unknown"),
    pytest.param({"auto_limit": "patch", "candidates": (Candidate("1.1.0", False),)}, AutoAction.SKIP, None,
                 "1.1.0 beyond auto_limit patch of 1.0.0", id="only-beyond-the-limit"),
    pytest.param({"candidates": (Candidate("1.0.0", False), Candidate("0.9.0", False))}, AutoAction.NONE, None,
                 "up to date at 1.0.0", id="up-to-date"),
    pytest.param({"candidates": (Candidate("1.1.0-beta.2", True),)}, AutoAction.NONE, None,
                 "only prereleases are newer", id="only-prereleases"),
    pytest.param({"failed_versions": frozenset({"1.1.0"})}, AutoAction.UPDATE, "1.0.1", "1.0.1",
                 id="a-failed-version-is-passed-over"),
    pytest.param({"failed_versions": frozenset({"1.1.0"}), "candidates": (Candidate("1.1.0", False),)},
                 AutoAction.SKIP, None, "failed before", id="never-retried-unattended"),
    pytest.param({"installed": "1.0.0-beta.4", "candidates": (Candidate("1.0.0-beta.5", True),
                                                               Candidate("1.0.0", False))},
                 AutoAction.UPDATE, "1.0.0", "1.0.0-beta.4 -> 1.0.0", id="beta-to-final"),
    pytest.param({"in_window": False, "held": True}, AutoAction.DEFER, None, "outside", id="window-before-hold"),
])
def test_decide_auto(change: dict[str, Any], action: AutoAction, target: str | None, reason: str) -> None:
    decision = decide_auto(replace(FACTS, **change))
    assert (decision.action, decision.target) == (action, target)
    assert reason in decision.reason


@pytest.mark.parametrize(("held", "lock", "force", "refused"), [
    pytest.param(False, None, False, None, id="free"),
    pytest.param(True, None, False, "scheduler is held: `dunebugger-units unhold scheduler`, or update it anyway "
                                    "with `dunebugger-units update scheduler --force`", id="held"),
    pytest.param(False, "held by PID 812, dunebugger.service", False,
                 "a show is running: held by PID 812, dunebugger.service; update anyway with "
                 "`dunebugger-units update scheduler --force`", id="show"),
    pytest.param(True, "held by PID 812", True, None, id="forced"),
])
def test_manual_gate(held: bool, lock: str | None, force: bool, refused: str | None) -> None:
    assert manual_gate("scheduler", held, lock, force) == refused


@pytest.mark.parametrize(("held", "lock", "force", "refused"), [
    pytest.param(False, None, False, None, id="free"),
    pytest.param(True, None, False, "core is held: `dunebugger-units unhold core`, or roll it back anyway with "
                                    "`dunebugger-units rollback core --force`", id="held"),
    pytest.param(False, "held by PID 812, dunebugger.service", False,
                 "a show is running: held by PID 812, dunebugger.service; roll back anyway with "
                 "`dunebugger-units rollback core --force`", id="show"),
    pytest.param(True, "held by PID 812", True, None, id="forced"),
])
def test_manual_gate_of_a_rollback_on_request(held: bool, lock: str | None, force: bool,
                                              refused: str | None) -> None:
    assert manual_gate("core", held, lock, force, "rollback") == refused


def test_window_state_in_utc() -> None:
    config = parse_config({"policy": {"maintenance_window": {"start": "*-*-* 02:00:00 UTC", "length": "3h"}}})
    window = config.policy.maintenance_window
    assert window_state(window, datetime(2026, 3, 1, 3, 0, tzinfo=UTC)) == (True, "2026-03-02 02:00:00 UTC")
    assert window_state(window, datetime(2026, 3, 1, 6, 0, tzinfo=UTC)) == (False, "2026-03-02 02:00:00 UTC")
    assert window_state(None, datetime(2026, 3, 1, 6, 0, tzinfo=UTC)) == (True, None)


@pytest.mark.parametrize(("now", "expected"), [
    pytest.param(datetime(2026, 3, 1, 3, 0, tzinfo=UTC), None, id="inside"),
    pytest.param(datetime(2026, 3, 1, 5, 0, tzinfo=UTC), datetime(2026, 3, 2, 2, 0, tzinfo=UTC), id="just-after"),
    pytest.param(datetime(2026, 3, 1, 1, 59, tzinfo=UTC), datetime(2026, 3, 1, 2, 0, tzinfo=UTC), id="just-before"),
])
def test_next_window_is_the_start_an_unattended_update_waits_for(now: datetime, expected: datetime | None) -> None:
    config = parse_config({"policy": {"maintenance_window": {"start": "*-*-* 02:00:00 UTC", "length": "3h"}}})
    waits = next_window(config.policy.maintenance_window, now)
    assert waits == expected
    assert waits is None or waits.isoformat().endswith("+00:00")  # the panel formats it in the reader's zone
    assert next_window(None, now) is None


def test_failed_versions_come_from_updates_that_changed_the_device() -> None:
    history = [
        {"component": "scheduler", "action": "update", "to_version": "1.3.0", "status": "failed", "changed": True},
        {"component": "scheduler", "action": "update", "to_version": "1.4.0", "status": "refused", "changed": False},
        {"component": "scheduler", "action": "auto-update", "to_version": "1.5.0", "status": "rolled-back"},
        {"component": "remote", "action": "update", "to_version": "1.6.0", "status": "failed", "changed": True},
        {"component": "scheduler", "action": "update", "to_version": "1.2.0", "status": "updated", "changed": False},
    ]
    assert failed_versions(history, "scheduler") == {"1.3.0", "1.5.0"}


@pytest.mark.parametrize(("action", "reason", "last", "recorded"), [
    pytest.param(AutoAction.UPDATE, "1.0.0 -> 1.2.0", "m", True, id="every-update"),
    pytest.param(AutoAction.NONE, "up to date", None, False, id="nothing-to-do"),
    pytest.param(AutoAction.DEFER, "outside the maintenance window", None, False, id="between-windows"),
    pytest.param(AutoAction.DEFER, "a show is running", None, True, id="first-deferral"),
    pytest.param(AutoAction.DEFER, "a show is running", "m", False, id="same-deferral-again"),
    pytest.param(AutoAction.SKIP, "held", "other", True, id="a-new-reason"),
])
def test_worth_recording(action: AutoAction, reason: str, last: str | None, recorded: bool) -> None:
    history = [] if last is None else [{"component": "scheduler", "action": "auto-update", "message": last}]
    assert worth_recording(AutoDecision(action, reason), "m", history, "scheduler") is recorded


DEV = os.makedev(0, 0x1A)
PROC_LOCKS = """\
1: FLOCK  ADVISORY  WRITE 812 00:1a:4711 0 EOF
1: -> FLOCK  ADVISORY  WRITE 900 00:1a:4711 0 EOF
2: OFDLCK ADVISORY  READ -1 00:1a:4711 0 EOF
3: POSIX  ADVISORY  WRITE 77 08:02:4711 0 EOF
4: FLOCK  ADVISORY  READ 813 00:1a:4711 0 EOF
"""


def test_holders_from_proc_locks() -> None:
    # the waiter (->), the OFD lock (-1) and another device's inode are not holders
    assert holders_from_proc_locks(PROC_LOCKS, DEV, 4711) == [812, 813]
    assert holders_from_proc_locks(PROC_LOCKS, DEV, 4712) == []


@pytest.mark.parametrize(("text", "unit"), [
    pytest.param("0::/system.slice/dunebugger.service\n", "dunebugger.service", id="service"),
    pytest.param("0::/user.slice/user-1000.slice/session-4.scope\n", "session-4.scope", id="scope"),
    pytest.param("0::/system.slice/docker-abc.scope/init\n", "docker-abc.scope", id="below-a-scope"),
    pytest.param("0::/\n", None, id="root"),
])
def test_unit_from_cgroup(text: str, unit: str | None) -> None:
    assert unit_from_cgroup(text) == unit


def release(version: str, prerelease: bool = False) -> Release:
    return Release(tag=f"v{version}", version=version, name=version, notes="", url="", published_at=None,
                   prerelease=prerelease)


def test_version_rows_newest_first_with_marks() -> None:
    releases = [release("1.3.0-beta.1", True), release("1.2.0"), release("1.0.0"), release("0.9.0")]
    rows = version_rows(releases, "1.0.0", held=True, include_prerelease=False)
    assert rows == [
        {"version": "1.2.0", "prerelease": False, "installed": False, "latest": True, "held": False},
        {"version": "1.0.0", "prerelease": False, "installed": True, "latest": False, "held": True},
        {"version": "0.9.0", "prerelease": False, "installed": False, "latest": False, "held": False},
    ]
    with_pre = version_rows(releases, "1.0.0", held=False, include_prerelease=True)
    assert [(r["version"], r["latest"], r["prerelease"]) for r in with_pre][:2] == [("1.3.0-beta.1", True, True),
                                                                                   ("1.2.0", False, False)]


def test_policy_defaults() -> None:
    config = parse_config({})
    assert config.policy.maintenance_window is None
    assert config.policy.show_lock == "/run/dunebugger/updates.lock"
    assert {c.policy for c in config.components.values()} == {"notify"}
    custom = parse_config({"components": {"scheduler": {"policy": "auto", "auto_limit": "patch"}},
                           "policy": {"maintenance_window": {"start": "*-*-* 02:00:00", "length": "3h"}}})
    assert (custom.components["scheduler"].policy, custom.components["scheduler"].auto_limit) == ("auto", "patch")
    assert custom.policy.maintenance_window is not None and custom.policy.maintenance_window.seconds == 10800


@pytest.mark.parametrize(("raw", "message"), [
    pytest.param({"components": {"scheduler": {"policy": "always"}}},
                 "components.scheduler.policy: expected notify or auto, got 'always'", id="policy"),
    pytest.param({"components": {"core": {"auto_limit": "huge"}}},
                 "components.core.auto_limit: expected patch or minor or major, got 'huge'", id="auto-limit"),
    pytest.param({"components": {"core": {"auto_prerelease": "yes"}}},
                 "components.core.auto_prerelease: expected true or false", id="auto-prerelease"),
    pytest.param({"policy": {"maintenance_window": {"start": "*-*-* 25:00", "length": "3h"}}},
                 "policy.maintenance_window.start: '25': hour must be within 0..23", id="window-start"),
    pytest.param({"policy": {"maintenance_window": {"start": "*-*-* 02:00", "length": "3 parsecs"}}},
                 "policy.maintenance_window.length: '3 parsecs'", id="window-length"),
    pytest.param({"policy": {"maintenance_window": {"start": "*-*-* 02:00"}}},
                 "policy.maintenance_window.length: required", id="window-without-length"),
    pytest.param({"policy": {"maintenance_window": {"start": "02:00", "length": "1h", "end": "05:00"}}},
                 "policy.maintenance_window.end: unknown key", id="window-unknown-key"),
    pytest.param({"policy": {"show_lock": "updates.lock"}}, "policy.show_lock: expected an absolute path",
                 id="show-lock-relative"),
    pytest.param({"policy": {"freeze": True}}, "policy.freeze: unknown key", id="policy-unknown-key"),
    pytest.param({"policy": {"maintenance_window": "02:00"}}, "policy.maintenance_window: expected a mapping",
                 id="window-not-a-mapping"),
])
def test_bad_policy_values_name_the_key(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_check_result_carries_held_and_policy_beside_every_earlier_key() -> None:
    from dunebugger_units.phases.check import FRONTEND_KEYS

    assert FRONTEND_KEYS[:11] == ("current", "latest", "update_available", "release_notes", "last_checked",
                                  "release_url", "published_at", "assets", "error", "held", "policy")
