"""Which recorded result answers a start (follow.py): pure tables over recorded results, newest first."""

from __future__ import annotations

from typing import Any

import pytest

from dunebugger_units.follow import AllResult, own_result, rollback_expected, rollback_of, update_order, update_unit
from dunebugger_units.render import render_all
from dunebugger_units.results import Action, Status, UpdateResult

ASKED = "2026-12-24T18:00:00.000000Z"


def result(action: str, finished: str, **extra: Any) -> dict[str, Any]:
    return {"component": "core", "action": action, "status": "updated", "finished_at": finished, **extra}


@pytest.mark.parametrize(("results", "expected"), [
    pytest.param([], None, id="none-yet"),
    pytest.param([result("update", "2026-12-24T17:59:59.000000Z")], None, id="an-earlier-run"),
    pytest.param([result("update", "2026-12-24T18:05:00.000000Z", n=2), result("update", "2026-12-24T18:01:00.000000Z",
                                                                              n=1)], 1, id="the-first-after-asked"),
    pytest.param([result("dry-run", "2026-12-24T18:01:00.000000Z", n=1)], None, id="another-action"),
    pytest.param([result("update", "2026-12-24T18:01:00.000000Z", component="remote", n=1)], None,
                 id="another-component"),
])
def test_own_result(results: list[dict[str, Any]], expected: int | None) -> None:
    found = own_result(results, "core", Action.UPDATE, ASKED)
    assert (found or {}).get("n") == expected


@pytest.mark.parametrize(("plan", "field", "found"), [
    pytest.param({"failed_invocation_id": "abc"}, None, True, id="in-the-plan"),
    pytest.param({}, "abc", True, id="a-field-of-its-own"),
    pytest.param({"failed_invocation_id": "other"}, None, False, id="another-run"),
])
def test_the_rollback_of_a_failed_run(plan: dict[str, Any], field: str | None, found: bool) -> None:
    failed = result("update", ASKED, status="failed", changed=True, invocation_id="abc")
    rolled = result("rollback", ASKED, status="rolled-back", plan=plan,
                    **({"failed_invocation_id": field} if field else {}))
    assert rollback_expected(failed)
    assert (rollback_of([rolled], failed) is rolled) is found


def test_unit_names() -> None:
    assert update_unit("core") == "dunebugger-update@core.service"
    assert update_unit("core", dry_run=True) == "dunebugger-update-dry-run@core.service"
    assert update_unit("core", force=True) == "dunebugger-update-force@core.service"


def test_the_updater_imports_nothing_from_the_remotes_package() -> None:
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parents[2] / "dunebugger_units"
    found = []
    for path in package.rglob("*.py"):
        if "remote" in path.relative_to(package).parts[:-1]:
            continue
        depth = len(path.relative_to(package).parts) - 1
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found += [f"{path.name}: {a.name}" for a in node.names if a.name.startswith("dunebugger_units.remote")]
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                absolute = module if node.level == 0 else ".".join(
                    ["dunebugger_units", *path.relative_to(package).parts[:depth][: depth - node.level + 1],
                     module]).rstrip(".")
                names = [f"{absolute}.{alias.name}" for alias in node.names]
                if any(n.startswith("dunebugger_units.remote") for n in [absolute, *names]):
                    found.append(f"{path.name}: {absolute}")
    assert found == []


# ---- update --all ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("names", "expected"), [
    pytest.param(["core", "scheduler", "remote"], ["remote", "scheduler", "core"], id="the-defaults"),
    pytest.param(["core", "lights", "remote", "scheduler", "audio"], ["remote", "scheduler", "lights", "audio", "core"],
                 id="others-between-scheduler-and-core-as-configured"),
    pytest.param(["core"], ["core"], id="core-alone"),
])
def test_update_order(names: list[str], expected: list[str]) -> None:
    assert update_order(names) == expected


def outcome(*rows: tuple[str, Status, str | None], action: Action = Action.UPDATE) -> AllResult:
    return AllResult([UpdateResult(component=name, action=action, status=status, to_version=to,
                                   message=f"{name} {status.value}", changed=status is not Status.REFUSED)
                      for name, status, to in rows], action=action)


@pytest.mark.parametrize(("all_result", "status", "code", "summary"), [
    pytest.param(outcome(("remote", Status.UPDATED, "1.2.0"), ("scheduler", Status.UNCHANGED, None),
                         ("core", Status.UPDATED, "1.2.0")), "updated", 0,
                 "update --all: updated: remote 1.2.0, core 1.2.0", id="all-done"),
    pytest.param(outcome(("remote", Status.UNCHANGED, None), ("scheduler", Status.UNCHANGED, None)), "unchanged", 0,
                 "update --all: nothing updated", id="nothing-to-do"),
    pytest.param(outcome(("remote", Status.UPDATED, "1.2.0"), ("scheduler", Status.ROLLED_BACK, "1.3.0"),
                         ("core", Status.SKIPPED, None)), "rolled-back", 1,
                 "update --all: updated: remote 1.2.0; scheduler rolled-back: scheduler rolled-back; not started: core",
                 id="stopped-by-a-rollback"),
    pytest.param(outcome(("remote", Status.REFUSED, "1.2.0"), ("scheduler", Status.SKIPPED, None)), "refused", 75,
                 "update --all: nothing updated; remote refused: remote refused; not started: scheduler",
                 id="stopped-by-a-refusal"),
    pytest.param(outcome(("remote", Status.NEEDS_MANUAL, "1.2.0")), "needs-manual", 4,
                 "update --all: nothing updated; remote needs-manual: remote needs-manual", id="rollback-failed"),
])
def test_all_result(all_result: AllResult, status: str, code: int, summary: str) -> None:
    data = all_result.to_dict()
    assert (data["status"], data["exit_code"], data["summary"]) == (status, code, summary)
    assert int(all_result.exit_code()) == code
    assert [c["component"] for c in data["components"]] == [r.component for r in all_result.results]
    assert list(data)[-1] == "summary"
    assert render_all(data).splitlines()[-1] == summary
