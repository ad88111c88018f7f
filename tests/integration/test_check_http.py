"""The check phase against the loopback GitHub stand-in: every HTTP case the rate limit and the network bring."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from kits.devicekit import Device, publish_defaults
from kits.standin import GithubStandin

from dunebugger_units import state
from dunebugger_units.config import parse_config
from dunebugger_units.phases.check import FRONTEND_KEYS, run_check


def check(device: Device, standin: GithubStandin, **github: object):  # type: ignore[no-untyped-def]
    return run_check(parse_config(device.config(standin.url, **github)))


def test_200_records_every_component(device: Device, standin: GithubStandin) -> None:
    publish_defaults(standin)
    report = check(device, standin)
    body = report.body()["components"]
    assert body["core"]["current"] == "1.0.0"
    assert body["core"]["latest"] == "1.2.0"
    assert body["core"]["update_available"] is True
    assert body["core"]["release_notes"] == "Notes for v1.2.0"
    assert body["scheduler"]["current"] == "1.0.0-beta.15"
    assert body["scheduler"]["latest"] == "1.0.0"
    assert body["scheduler"]["update_available"] is True
    # remote only has a prerelease: with include_prerelease off there is nothing to install
    assert body["remote"]["latest"] is None
    assert body["remote"]["update_available"] is False
    stored = device.cache()["components"]
    assert not (device.state_dir / "state.json").exists()  # the check writes only its own cache
    assert stored["core"]["last_checked"].endswith("Z")
    assert stored["core"]["etag"]
    assert set(FRONTEND_KEYS) <= set(stored["core"])


def test_304_on_second_run_reuses_stored_release(device: Device, standin: GithubStandin) -> None:
    publish_defaults(standin)
    first = check(device, standin)
    standin.seen.clear()
    second = check(device, standin)
    sent = standin.requests_to("/dunebugger/releases")
    assert sent and sent[0].headers["if-none-match"] == device.cache()["components"]["core"]["etag"]
    assert second.body()["components"]["core"]["latest"] == "1.2.0"
    assert second.body()["components"]["core"]["release_notes"] == first.body()["components"]["core"]["release_notes"]
    assert second.components["core"]["last_checked"] >= first.components["core"]["last_checked"]


def test_new_release_after_304_is_seen(device: Device, standin: GithubStandin) -> None:
    publish_defaults(standin)
    check(device, standin)
    standin.add_release("dunebugger", "v1.3.0")
    assert check(device, standin).body()["components"]["core"]["latest"] == "1.3.0"


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        pytest.param("ratelimit403", "rate limited until ", id="403-rate-limited"),
        pytest.param("ratelimit429", "rate limited until ", id="429-retry-after"),
        pytest.param("500", "GitHub answered HTTP 500", id="500"),
        pytest.param("timeout", "within 1 s", id="timeout"),
        pytest.param("truncated", "malformed JSON", id="truncated-json"),
        pytest.param("huge", "over the", id="huge-body"),
        pytest.param("wrongtypes", "'tag_name' is int", id="wrong-types"),
    ],
)
def test_failure_of_one_component_keeps_last_known_and_others_complete(
    device: Device, standin: GithubStandin, fault: str, message: str
) -> None:
    publish_defaults(standin)
    check(device, standin)
    standin.faults["dunebugger-scheduler"] = fault
    report = check(device, standin, timeout=1)
    scheduler = report.body()["components"]["scheduler"]
    assert message in scheduler["error"]
    assert scheduler["latest"] == "1.0.0"  # last known result kept
    assert report.body()["components"]["core"]["error"] is None
    assert report.failed == ["scheduler"]


def test_rate_limit_is_honoured_without_asking_again(device: Device, standin: GithubStandin) -> None:
    publish_defaults(standin)
    standin.faults["dunebugger"] = "ratelimit429"
    first = check(device, standin)
    until = first.components["core"]["rate_limited_until"]
    assert first.components["core"]["error"] == f"rate limited until {until}"
    standin.seen.clear()
    del standin.faults["dunebugger"]
    second = check(device, standin)
    assert standin.requests_to("/dunebugger/releases") == []
    assert second.components["core"]["error"] == f"rate limited until {until}"


def test_non_version_tags_are_skipped_with_a_warning(device: Device, standin: GithubStandin) -> None:
    standin.add_release("dunebugger", "v1.1.0")
    standin.add_release("dunebugger", "nightly")
    report = check(device, standin, include_prerelease=True)
    assert report.components["core"]["latest"] == "1.1.0"
    assert any("'nightly' is not a version" in w for w in report.warnings)


def test_only_non_version_latest_gives_no_release(device: Device, standin: GithubStandin) -> None:
    standin.add_release("dunebugger", "nightly")
    report = check(device, standin)
    assert report.components["core"]["latest"] is None
    assert report.components["core"]["error"] is None


@pytest.mark.parametrize(("include", "expected"), [pytest.param(False, "1.0.0", id="off"),
                                                    pytest.param(True, "1.1.0-beta.10", id="on")])
def test_prerelease_switch(device: Device, standin: GithubStandin, include: bool, expected: str) -> None:
    standin.add_release("dunebugger", "v1.1.0-beta.10", prerelease=True)
    standin.add_release("dunebugger", "v1.1.0-beta.9", prerelease=True)  # listed first: not merely the first
    standin.add_release("dunebugger", "v1.0.0")
    standin.add_release("dunebugger", "v2.0.0", draft=True)
    report = check(device, standin, include_prerelease=include)
    assert report.components["core"]["latest"] == expected
    path = standin.requests_to("/dunebugger/releases")[0].path
    assert path.endswith("/latest") is (not include)


def test_token_is_sent_but_never_stored(device: Device, standin: GithubStandin, tmp_path) -> None:  # type: ignore[no-untyped-def]
    publish_defaults(standin)
    token_file = tmp_path / "token"
    token_file.write_text("ghp_SECRETSECRET\n")
    report = check(device, standin, token_file=str(token_file))
    assert standin.seen[0].headers["authorization"] == "Bearer ghp_SECRETSECRET"
    assert "SECRETSECRET" not in (device.cache_dir / "check.json").read_text()
    assert "SECRETSECRET" not in json.dumps(report.body())


def test_corrupt_state_is_moved_aside(device: Device, standin: GithubStandin) -> None:
    publish_defaults(standin)
    device.cache_dir.mkdir(parents=True)
    (device.cache_dir / "check.json").write_text('{"components": {"core": ')
    report = check(device, standin)
    assert report.components["core"]["latest"] == "1.2.0"
    assert any("moved aside" in w for w in report.warnings)
    assert list(device.cache_dir.glob("check.json.corrupt-*"))


def test_components_are_checked_concurrently(device: Device, standin: GithubStandin) -> None:
    publish_defaults(standin)
    for repo in ("dunebugger", "dunebugger-scheduler", "dunebugger-remote"):
        standin.faults[repo] = "timeout"  # each answer takes 3 s, cut at 1 s: all three wait at once
    report = check(device, standin, timeout=1)
    assert len(report.failed) == 3
    assert standin.max_in_flight == 3


def test_the_record_says_when_an_auto_update_waits_and_what_failed_here(device: Device,
                                                                        standin: GithubStandin) -> None:
    """What the update panel shows beside "update available": the window an unattended update waits for (only
    for a component with policy auto), and the releases whose update failed on this device."""
    publish_defaults(standin)
    results = device.state_dir / "results"
    results.mkdir(parents=True)
    (results / "20261201T000000Z-1-core-update.json").write_text(json.dumps(
        {"component": "core", "action": "update", "status": "failed", "changed": True, "to_version": "1.2.0"}))
    raw = device.config(standin.url)
    raw["components"] |= {"scheduler": {"policy": "auto"}}
    # a one-minute window opening two minutes from now, each day: outside it while this test runs
    soon = datetime.now(UTC) + timedelta(minutes=2)
    raw["policy"] = {"maintenance_window": {"start": f"*-*-* {soon:%H:%M}:00 UTC", "length": "1m"}}
    body = run_check(parse_config(raw)).body()["components"]
    waits = datetime.fromisoformat(body["scheduler"]["next_window"])
    assert timedelta(0) < waits - datetime.now(UTC) <= timedelta(minutes=2)
    assert body["core"]["next_window"] is None  # policy notify: a person decides, whenever
    assert body["core"]["failed_versions"] == ["1.2.0"]
    assert body["scheduler"]["failed_versions"] == []


def test_the_report_carries_roots_last_result_and_a_prepared_release_as_status_does(device: Device,
                                                                                      standin: GithubStandin) -> None:
    publish_defaults(standin)
    body = check(device, standin).body()["components"]
    assert body["core"]["prepared"] is None and body["core"]["last_result"] is None  # nothing of root's yet
    last = {"status": "rolled-back", "message": "Rolled back core to 1.0.0", "to_version": "1.1.0"}
    state.set_prepared(device.state_dir, "core", {"version": "1.2.0", "release_dir": "/x/1.2.0"})
    state.set_prepared(device.state_dir, "scheduler", {"version": "1.0.0-beta.15", "image": "s:1.0.0-beta.15"})
    state.update_state(device.state_dir, lambda data: data["components"]["core"].update(last_result=last))
    body = check(device, standin).body()["components"]
    assert body["core"]["prepared"] == "1.2.0"  # newer than the 1.0.0 that runs: ready to install
    assert body["core"]["last_result"] == last
    assert body["scheduler"]["prepared"] is None  # what runs already: nothing to switch to
    assert "prepared_release" not in body["core"]  # root's own detail stays root's
    assert set(body["core"]) == {*FRONTEND_KEYS, "prepared", "last_result"}
