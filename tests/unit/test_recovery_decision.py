from __future__ import annotations

import pytest

from dunebugger_units.phases.recover import decide_recovery
from dunebugger_units.transaction import Transaction


def txn(step: str, status: str = "pending") -> Transaction:
    return Transaction("scheduler", "container", "1.0.0", "1.2.0", step=step, status=status)


@pytest.mark.parametrize(("given", "decision"), [
    pytest.param(txn("started"), "none", id="nothing-changed-yet"),
    pytest.param(txn("compose-written"), "rollback", id="mid-apply"),
    pytest.param(txn("applied"), "finish", id="applied-gets-verified"),
    pytest.param(txn("verified"), "finish", id="verified-gets-committed"),
    pytest.param(txn("applied", "failed"), "rollback", id="failed-update-not-rolled-back-yet"),
    pytest.param(txn("switched", "needs-manual"), "manual", id="failed-rollback-never-retried"),
])
def test_decide_recovery(given: Transaction, decision: str) -> None:
    assert decide_recovery(given) == decision
