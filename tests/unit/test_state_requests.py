"""Whether a one-shot request is for the run that reads it (dunebugger_units/state.py)."""

from __future__ import annotations

import pytest

from dunebugger_units.state import REQUEST_MAX_AGE, request_is_current


@pytest.mark.parametrize(("data", "current"), [
    pytest.param({"boot_id": "b", "written_boottime": 100.0}, True, id="this-boot-just-now"),
    pytest.param({"boot_id": "b", "written_boottime": 130.0 - REQUEST_MAX_AGE}, True, id="at-the-limit"),
    pytest.param({"boot_id": "b", "written_boottime": 129.0 - REQUEST_MAX_AGE}, False, id="past-the-limit"),
    pytest.param({"boot_id": "a", "written_boottime": 100.0}, False, id="another-boot"),
    pytest.param({"boot_id": "b", "written_boottime": 200.0}, False, id="from-the-future"),
    pytest.param({"boot_id": "b", "written_boottime": "100"}, False, id="a-string-time"),
    pytest.param({"version": "1.0.0"}, False, id="unstamped"),
    pytest.param({"written_boottime": 100.0}, True, id="a-writer-that-could-not-read-the-boot-id"),
    pytest.param({"boot_id": "a", "written_boottime": 100.0, "reader": None}, True,
                 id="a-reader-that-cannot-read-it"),
    pytest.param({"boot_id": "b", "written_boottime": True}, False, id="a-boolean-time"),
])
def test_a_request_is_current_only_in_its_boot_and_briefly(data: dict[str, object], current: bool) -> None:
    boot_id = None if "reader" in data else "b"
    assert request_is_current(data, boot_id, 130.0) is current
