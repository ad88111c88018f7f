from __future__ import annotations

from typing import Any

import pytest

from dunebugger_units.config import parse_config, validate_instance
from dunebugger_units.errors import Refused
from dunebugger_units.manifest import Manifest
from dunebugger_units.rules.preflight import RemoteFacts, choose_target, common_checks, prerelease_refusal

CONFIG = parse_config({})
CHECKED = {"last_checked": "2026-11-27T00:00:00Z", "latest": "1.2.0"}


@pytest.mark.parametrize("name", [
    pytest.param("foo", id="unknown"),
    pytest.param("../x", id="dotdot"),
    pytest.param("core;x", id="semicolon"),
    pytest.param("", id="empty"),
    pytest.param("Core", id="uppercase"),
    pytest.param("core x", id="space"),
])
def test_bad_instances_are_refused(name: str) -> None:
    with pytest.raises(Refused, match="refusing unit instance"):
        validate_instance(CONFIG, name)


def test_known_instance() -> None:
    assert validate_instance(CONFIG, "scheduler").compose_service == "scheduler"


TARGETS = [
    pytest.param({}, "1.0.0", None, "no check result yet", id="never-checked"),
    pytest.param({"last_checked": "x", "latest": None}, "1.0.0", None, "no published release", id="nothing-published"),
    pytest.param(CHECKED, "1.2.0", None, "already up to date", id="up-to-date"),
    pytest.param(CHECKED, "1.3.0", None, "already up to date", id="newer-installed"),
    pytest.param(CHECKED, "1.0.0", "banana", "'banana' is not a version", id="bad-explicit"),
    pytest.param(CHECKED, "1.0.0", "v1.0.0", "already installed", id="explicit-same"),
]


@pytest.mark.parametrize(("record", "current", "requested", "message"), TARGETS)
def test_refused_targets(record: dict[str, Any], current: str, requested: str | None, message: str) -> None:
    with pytest.raises(Refused, match=message):
        choose_target("scheduler", record, current, requested)


@pytest.mark.parametrize(("record", "current", "requested", "version", "explicit"), [
    pytest.param(CHECKED, "1.0.0", None, "1.2.0", False, id="latest"),
    pytest.param(CHECKED, "unknown", None, "1.2.0", False, id="unknown-current"),
    pytest.param(CHECKED, "1.2.0", "v1.0.0", "1.0.0", True, id="explicit-older"),
    pytest.param({}, "1.0.0", "1.1.0", "1.1.0", True, id="explicit-without-check"),
])
def test_targets(record: dict[str, Any], current: str, requested: str | None, version: str, explicit: bool) -> None:
    target = choose_target("scheduler", record, current, requested)
    assert (target.version, target.explicit) == (version, explicit)


@pytest.mark.parametrize(("needed", "remote", "ok", "detail"), [
    pytest.param("1.1.0", RemoteFacts("1.0.0-beta.8"), False, "Remote too old: 1.0.0-beta.8 installed, 1.1.0 needed",
                 id="old"),
    pytest.param("v1.0.0-beta.8", RemoteFacts("1.0.0-beta.8"), True, "1.0.0-beta.8 installed", id="equal"),
    pytest.param("1.0.0", RemoteFacts("unknown", "reading compose file /opt/c.yml: Permission denied"), False,
                 "remote's installed version is unknown (reading compose file /opt/c.yml: Permission denied), and "
                 "this release needs remote 1.0.0 or newer (rule: the manifest's min_remote_version); update remote "
                 "first: `dunebugger-units update remote`", id="unknown-says-why-and-how"),
    pytest.param("1.0.0", RemoteFacts("unknown"), False,
                 "remote's installed version is unknown (the compose file names no version for it)",
                 id="unknown-no-version"),
    pytest.param("1.0.0", None, False, "unknown (no remote component is configured)", id="no-remote"),
])
def test_min_remote_version(needed: str, remote: RemoteFacts | None, ok: bool, detail: str) -> None:
    outcomes = common_checks(CONFIG.component("scheduler"), Manifest(min_remote_version=needed), remote, True, None)
    remote_check = next(o for o in outcomes if o.name == "remote version")
    assert remote_check.ok is ok
    assert detail in remote_check.detail


@pytest.mark.parametrize(("version", "marked", "include", "explicit", "refused"), [
    pytest.param("1.3.0rc1", True, False, False, True, id="cache-names-a-prerelease"),
    pytest.param("1.3.0", True, False, False, True, id="github-marks-it"),
    pytest.param("1.3.0-beta.1", False, False, False, True, id="its-version-says-so"),
    pytest.param("1.3.0rc1", True, True, False, False, id="include-prerelease"),
    pytest.param("1.3.0rc1", True, False, True, False, id="named-by-a-person"),
    pytest.param("1.3.0", False, False, False, False, id="a-release"),
])
def test_the_prerelease_rule_is_roots(version: str, marked: bool, include: bool, explicit: bool,
                                      refused: bool) -> None:
    why = prerelease_refusal("core", version, marked, include, explicit)
    assert (why is not None) is refused
    if why is not None:
        assert why == (f"updating core: {version} is a prerelease and github.include_prerelease is false; install "
                       f"it by name with `dunebugger-units update core --version {version}`")


def test_common_checks_name_the_bus_and_state_dir() -> None:
    outcomes = common_checks(CONFIG.component("core"), Manifest(component_type="container"), None, False,
                             "connecting to the system bus: no such file")
    failed = {o.name: o.detail for o in outcomes if not o.ok}
    assert failed == {"state dir": "the state dir is not writable",
                      "system bus": "connecting to the system bus: no such file",
                      "manifest": "the release is a container, core is a python_app"}
