"""`list C` and root's own release lookup against the loopback GitHub stand-in."""

from __future__ import annotations

import pytest
from kits.devicekit import Device
from kits.standin import GithubStandin

from dunebugger_units.config import parse_config
from dunebugger_units.errors import CheckFailed, RateLimited
from dunebugger_units.github import GithubClient
from dunebugger_units.holds import set_hold
from dunebugger_units.phases.listing import run_list
from dunebugger_units.render import render_list


def publish(standin: GithubStandin) -> None:
    for tag, pre, draft in (("v0.9.0", False, False), ("v1.0.0", False, False), ("not-a-version", False, False),
                            ("v1.2.0", False, False), ("v1.3.0-beta.1", True, False), ("v2.0.0", False, True)):
        standin.add_release("dunebugger", tag, prerelease=pre, draft=draft)


def test_list_marks_installed_latest_and_held(device: Device, standin: GithubStandin) -> None:
    publish(standin)
    config = parse_config(device.config(standin.url))
    data = run_list(config, "core")
    assert data == {"component": "core", "versions": [
        {"version": "1.2.0", "prerelease": False, "installed": False, "latest": True, "held": False},
        {"version": "1.0.0", "prerelease": False, "installed": True, "latest": False, "held": False},
        {"version": "0.9.0", "prerelease": False, "installed": False, "latest": False, "held": False},
    ]}  # newest first; the draft, the prerelease and the tag that is no version are left out
    set_hold(device.state_dir, "core", True)
    with_pre = run_list(config, "core", include_prerelease=True)["versions"]
    assert [(v["version"], v["latest"], v["held"]) for v in with_pre] == [
        ("1.3.0-beta.1", True, False), ("1.2.0", False, False), ("1.0.0", False, True), ("0.9.0", False, False)]
    text = render_list(run_list(config, "core"))
    assert text.splitlines()[:2] == ["1.2.0                latest", "1.0.0                installed held"]
    assert "dunebugger-units update core --version VERSION" in text


@pytest.mark.parametrize(("fault", "error", "message"), [
    pytest.param("ratelimit403", RateLimited, "rate limited until", id="rate-limit"),
    pytest.param("500", CheckFailed, "GitHub answered HTTP 500", id="server-error"),
    pytest.param("notjson", CheckFailed, "malformed JSON", id="not-json"),
])
def test_list_failures_are_one_line(device: Device, standin: GithubStandin, fault: str, error: type,
                                    message: str) -> None:
    standin.faults["dunebugger"] = fault
    client = GithubClient(parse_config(device.config(standin.url)).github)
    with pytest.raises(error, match=message):
        client.list_releases("dunebugger")
