"""org.dunebugger.Updater1's pure decisions: every argument a caller sends is hostile, and each refusal is one
line naming what was wrong; what it starts is always one of our units."""

from __future__ import annotations

import pytest

from dunebugger_units.config import parse_config
from dunebugger_units.remote.api import InvalidArgument
from dunebugger_units.remote.service import Job, check_outcome, plan_rollback, plan_update

CONFIG = parse_config({})


@pytest.mark.parametrize(("component", "version", "dry_run", "job"), [
    pytest.param("scheduler", "", False, Job("dunebugger-update@scheduler.service", "scheduler", "update", "",
                                             rollback_after_failure=True), id="update"),
    pytest.param("core", "v1.0.0-beta.4", False, Job("dunebugger-update@core.service", "core", "update",
                                                     "v1.0.0-beta.4", rollback_after_failure=True),
                 id="update-to-a-version"),
    pytest.param("remote", "", True, Job("dunebugger-update-dry-run@remote.service", "remote", "dry-run"),
                 id="dry-run"),
])
def test_what_an_update_starts(component: str, version: str, dry_run: bool, job: Job) -> None:
    assert plan_update(CONFIG, component, version, dry_run) == job


@pytest.mark.parametrize(("component", "version", "dry_run", "error"), [
    pytest.param("../etc/passwd", "", False, "unknown component '../etc/passwd'", id="path"),
    pytest.param("nats", "", False, "unknown component 'nats' (known: core, scheduler, remote)", id="unknown"),
    pytest.param("Core", "", False, "unknown component 'Core'", id="case"),
    pytest.param("core\n", "", False, "unknown component 'core\\n'", id="newline"),
    pytest.param("", "", False, "unknown component ''", id="empty"),
    pytest.param("x" * 10_000, "", False, "unknown component 'xxxx", id="huge"),
    pytest.param("core", "1.2.0 --force", False, "version '1.2.0 --force' of core is not a plain version",
                 id="version-with-an-option"),
    pytest.param("core", "../1.2.0", False, "is not a plain version", id="version-path"),
    pytest.param("core", "1" * 100, False, "is not a plain version", id="version-huge"),
    pytest.param("core", "latest", False, "is not a plain version", id="version-word"),
    pytest.param("core", "1.2.0", True, "a version and a dry run together are not supported", id="version-dry"),
])
def test_hostile_update_arguments_are_refused(component: str, version: str, dry_run: bool, error: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        plan_update(CONFIG, component, version, dry_run)
    assert error in str(refused.value)
    assert "\n" not in str(refused.value)
    assert len(str(refused.value)) < 300  # a huge argument is never echoed whole


def test_rollback_starts_the_rollback_unit_of_a_known_component_only() -> None:
    assert plan_rollback(CONFIG, "core") == Job("dunebugger-rollback@core.service", "core", "rollback")
    with pytest.raises(InvalidArgument, match="unknown component"):
        plan_rollback(CONFIG, "core/../../x")


def test_components_come_from_the_configuration() -> None:
    config = parse_config({"components": {"nats": {"type": "container", "repo": "nats", "compose_service": "nats"}}})
    assert plan_update(config, "nats", "", False).unit == "dunebugger-update@nats.service"


@pytest.mark.parametrize(("job_result", "success"), [
    pytest.param("done", True, id="done"), pytest.param("failed", False, id="failed"),
    pytest.param("canceled", False, id="canceled")])
def test_the_checks_outcome(job_result: str, success: bool) -> None:
    outcome = check_outcome(job_result)
    assert (outcome["action"], outcome["success"]) == ("check", success)
    assert success or job_result in outcome["message"]
