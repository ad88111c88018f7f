"""The auto-update timer's drop-in, from the configuration (dunebugger_units/timer_sync.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dunebugger_units.config import parse_config
from dunebugger_units.timer_sync import timer_dropin, write_dropin

WINDOW = {"maintenance_window": {"start": "Sat *-*-* 02:30:00", "length": "3h"}}


@pytest.mark.parametrize(
    ("raw", "present", "absent"),
    [
        pytest.param({}, ["[Unit]\nConditionPathExists=!/\n"], ["OnCalendar"], id="shipped-configuration"),
        pytest.param({"components": {"scheduler": {"policy": "notify"}}, "policy": WINDOW},
                     ["ConditionPathExists=!/"], ["OnCalendar"], id="window-but-nobody-auto"),
        pytest.param({"components": {"scheduler": {"policy": "auto"}}, "policy": WINDOW},
                     ["[Timer]\nOnCalendar=\nOnCalendar=Sat *-*-* 02:30:00\n", "scheduler", "3h"],
                     ["Condition"], id="auto-in-a-window"),
        pytest.param({"components": {"scheduler": {"policy": "auto"}, "remote": {"policy": "auto"}}},
                     ["remote, scheduler", "the shipped schedule"], ["Condition", "[Timer]", "[Unit]"],
                     id="auto-any-time"),
    ],
)
def test_the_dropin_follows_the_policy(raw: dict[str, Any], present: list[str], absent: list[str]) -> None:
    text = timer_dropin(parse_config(raw))
    assert text.startswith("# Written by `dunebugger-units sync-timers`")
    for fragment in present:
        assert fragment in text
    for fragment in absent:
        assert fragment not in text


def test_the_dropin_is_written_only_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "dunebugger-auto-update.timer.d" / "50-policy.conf"
    assert write_dropin("one\n", path)
    assert path.read_text() == "one\n"
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    assert not write_dropin("one\n", path)
    assert write_dropin("two\n", path)
    assert path.read_text() == "two\n"
