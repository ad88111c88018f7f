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


@pytest.mark.parametrize("save", ["rename-over", "in-place", "removed"])
def test_a_save_during_the_settle_time_is_seen(tmp_path: Path, save: str) -> None:
    import threading

    from dunebugger_units.timer_sync import _changes_within, file_identity

    path = tmp_path / "updater.yaml"
    path.write_text("components: {}\n")
    seen = file_identity(path)
    assert not _changes_within(path, seen, 0.2)  # still: the watch ends after the settle time

    def saving() -> None:
        if save == "rename-over":
            (tmp_path / "new").write_text("components: {}\n")  # the same size and text, another inode
            (tmp_path / "new").rename(path)
        elif save == "in-place":
            with path.open("a") as f:
                f.write("policy: {}\n")
        else:
            path.unlink()

    timer = threading.Timer(0.3, saving)
    timer.start()
    assert _changes_within(path, seen, 10)
    timer.join()
    assert file_identity(path) != seen
