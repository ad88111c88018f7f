"""The recovery's decision for every step and status, and the kinds held to the steps the recovery knows."""

from __future__ import annotations

import ast
import inspect

import pytest

from dunebugger_units import kinds
from dunebugger_units.kinds.deferred import DeferredUpdate
from dunebugger_units.transaction import RECOVERY_BY_STEP, Recovery, Step, TxnStatus, decide_recovery


@pytest.mark.parametrize(("step", "status", "decision"), [
    pytest.param(Step.STARTED, TxnStatus.PENDING, Recovery.NONE, id="nothing-changed-yet"),
    pytest.param(Step.COMPOSE_WRITING, TxnStatus.PENDING, Recovery.ROLLBACK, id="mid-apply-container"),
    pytest.param(Step.SWITCHING, TxnStatus.PENDING, Recovery.ROLLBACK, id="mid-apply-core"),
    pytest.param(Step.APPLIED, TxnStatus.PENDING, Recovery.FINISH, id="applied-gets-verified"),
    pytest.param(Step.VERIFIED, TxnStatus.PENDING, Recovery.FINISH, id="verified-gets-committed"),
    pytest.param(Step.APPLIED, TxnStatus.FAILED, Recovery.ROLLBACK, id="failed-update-not-rolled-back-yet"),
    pytest.param(Step.SWITCHED, TxnStatus.NEEDS_MANUAL, Recovery.MANUAL, id="failed-rollback-never-retried"),
])
def test_decide_recovery(step: Step, status: TxnStatus, decision: Recovery) -> None:
    assert decide_recovery(step, status) is decision


@pytest.mark.parametrize(("step", "status", "decision"), [
    pytest.param(Step.APPLIED, TxnStatus.PENDING, Recovery.ROLLBACK, id="killed-update-whose-rollback-was-cut"),
    pytest.param(Step.SWITCHED, TxnStatus.FAILED, Recovery.ROLLBACK, id="rollback-cut-by-a-power-cut"),
    pytest.param(Step.SWITCHED, TxnStatus.NEEDS_MANUAL, Recovery.MANUAL, id="rollback-that-ran-and-failed"),
])
def test_a_rollback_that_had_begun_is_finished(step: Step, status: TxnStatus, decision: Recovery) -> None:
    assert decide_recovery(step, status, rolling_back=True) is decision


@pytest.mark.parametrize("step", list(Step), ids=lambda s: s.value)
@pytest.mark.parametrize("status", list(TxnStatus), ids=lambda s: s.value)
def test_every_step_and_status_has_a_decision(step: Step, status: TxnStatus) -> None:
    assert step in RECOVERY_BY_STEP
    assert isinstance(decide_recovery(step, status), Recovery)


def steps_recorded_by(kind: object) -> set[str]:
    """The `Step.X` names passed to transaction.advance(...) anywhere in the module of a kind's update work."""
    work = kind.update() if isinstance(kind, DeferredUpdate) else kind
    tree = ast.parse(inspect.getsource(inspect.getmodule(work)))  # type: ignore[arg-type]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "advance":
            step = node.args[2]
            assert isinstance(step, ast.Attribute) and getattr(step.value, "id", "") == "Step", (
                f"{type(kind).__name__} records a step that is not a Step member: {ast.unparse(step)}")
            found.add(step.attr)
    return found


@pytest.mark.parametrize("kind", list(kinds.KINDS.values()), ids=list(kinds.KINDS))
def test_a_kind_records_only_steps_the_recovery_knows(kind: object) -> None:
    recorded = steps_recorded_by(kind)
    assert recorded, f"{type(kind).__name__} records no step at all"
    unknown = {name for name in recorded if name not in Step.__members__ or Step[name] not in RECOVERY_BY_STEP}
    assert not unknown, f"{type(kind).__name__} records steps the recovery does not know: {sorted(unknown)}"
