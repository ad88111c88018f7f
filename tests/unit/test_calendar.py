"""The maintenance window's calendar expressions and durations, held against the real `systemd-analyze`.

Every expression this updater accepts must be accepted by `systemd-analyze calendar` and elapse at the same
moments; every one systemd refuses must be refused here too. A few that systemd accepts are refused here on
purpose (a narrower subset), each with a clear line.
"""

from __future__ import annotations

import os
import re
import subprocess
from datetime import datetime, timedelta

import pytest

from dunebugger_units.calendar import in_window, next_elapse, parse_calendar, parse_timespan
from dunebugger_units.errors import ConfigError

BASE = datetime(2026, 3, 1, 10, 17, 31)  # a Sunday
ITERATIONS = 6

ACCEPTED = [
    pytest.param("*-*-* 02:00:00", id="daily-at-2"),
    pytest.param("*-*-* 02:00", id="no-seconds"),
    pytest.param("02:30", id="time-only"),
    pytest.param("daily", id="daily"),
    pytest.param("hourly", id="hourly"),
    pytest.param("weekly", id="weekly"),
    pytest.param("monthly", id="monthly"),
    pytest.param("quarterly", id="quarterly"),
    pytest.param("Mon..Fri 22:30", id="weekday-range"),
    pytest.param("Sat,Sun 01:00:00", id="weekday-list"),
    pytest.param("Fri *-*-* 23:00", id="weekday-and-date"),
    pytest.param("*-*-01 03:00:00", id="first-of-month"),
    pytest.param("*-12-24 04:00", id="christmas-eve"),
    pytest.param("2026-12-24 04:00", id="one-day"),
    pytest.param("12-24 04:00", id="month-day"),
    pytest.param("*-*-* 00/6:00:00", id="every-6-hours"),
    pytest.param("*-*-* *:0/15", id="every-15-minutes"),
    pytest.param("*-*-* 1..4:00:00", id="hour-range"),
    pytest.param("*-*-* 1,13:30", id="hour-list"),
    pytest.param("*-*-1/7 05:00", id="day-step"),
    pytest.param("*-*-* 02:00:00 UTC", id="utc"),
    pytest.param("monday 02:00", id="long-weekday-name"),
    pytest.param("*-*-* 2..20/6:00", id="range-with-step"),
]
REFUSED_BY_BOTH = [
    pytest.param("bogus", id="word"),
    pytest.param("*-*-* 25:00:00", id="hour-25"),
    pytest.param("*-13-01 00:00", id="month-13"),
    pytest.param("*-*-* 02:61", id="minute-61"),
    pytest.param("Funday 02:00", id="no-such-weekday"),
    pytest.param("", id="empty"),
    pytest.param("*-*-* 02:00:00 02:00:00", id="two-times"),
    pytest.param("*-*-* 4..2:00", id="backwards-range"),
]
REFUSED_HERE_ONLY = [
    pytest.param("*-*~1 02:00", id="last-day-tilde"),
    pytest.param("*-*-* 02:00:00.5", id="fraction"),
    pytest.param("*-*-* 02:00:00 Europe/Rome", id="other-zone"),
]


def systemd_analyze(expr: str) -> list[datetime] | None:
    """The next elapses systemd computes from BASE (UTC), or None when it refuses the expression."""
    done = subprocess.run(["systemd-analyze", "calendar", f"--iterations={ITERATIONS}",
                           f"--base-time={BASE:%Y-%m-%d %H:%M:%S} UTC", expr],
                          capture_output=True, text=True, timeout=10, check=False, env={**os.environ, "TZ": "UTC"})
    if done.returncode != 0:
        return None
    found = re.findall(r"(?:Next elapse|Iter\. #\d+): \w+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", done.stdout)
    return [datetime.strptime(text, "%Y-%m-%d %H:%M:%S") for text in found]


def ours(expr: str) -> list[datetime]:
    cal = parse_calendar(expr)
    out, at = [], BASE
    for _ in range(ITERATIONS):
        found = next_elapse(cal, at)
        if found is None:
            break
        out.append(found)
        at = found
    return out


@pytest.mark.parametrize("expr", ACCEPTED)
def test_an_accepted_expression_elapses_when_systemd_says(expr: str) -> None:
    expected = systemd_analyze(expr)
    assert expected is not None, f"systemd-analyze refuses {expr!r}"
    assert ours(expr) == expected


@pytest.mark.parametrize("expr", REFUSED_BY_BOTH)
def test_what_systemd_refuses_is_refused(expr: str) -> None:
    assert systemd_analyze(expr) is None
    with pytest.raises(ConfigError, match="calendar"):
        parse_calendar(expr)


@pytest.mark.parametrize("expr", REFUSED_HERE_ONLY)
def test_the_narrower_subset_says_what_is_not_supported(expr: str) -> None:
    assert systemd_analyze(expr) is not None  # systemd knows it ...
    with pytest.raises(ConfigError, match=r"not supported|not a calendar expression"):
        parse_calendar(expr)  # ... this updater refuses it with a line, never a wrong window


@pytest.mark.parametrize(("text", "seconds"), [
    pytest.param("3h", 3 * 3600, id="hours"),
    pytest.param("90min", 90 * 60, id="minutes"),
    pytest.param("1h 30min", 90 * 60, id="combined"),
    pytest.param("45m", 45 * 60, id="m-is-minutes"),
    pytest.param("2d", 2 * 86400, id="days"),
    pytest.param("600", 600, id="plain-seconds"),
])
def test_durations_read_as_systemd_reads_them(text: str, seconds: int) -> None:
    assert parse_timespan(text) == seconds
    done = subprocess.run(["systemd-analyze", "timespan", text], capture_output=True, text=True, timeout=10,
                          check=True)
    micros = re.search(r"μs: (\d+)", done.stdout)
    assert micros is not None and int(micros.group(1)) == seconds * 1_000_000


@pytest.mark.parametrize("value", [
    pytest.param("", id="empty"), pytest.param("3 parsecs", id="unit"), pytest.param("0h", id="zero"),
    pytest.param("8d", id="over-a-week"), pytest.param(True, id="bool"), pytest.param("h", id="no-number"),
    pytest.param(1.5, id="float"),
])
def test_bad_durations_are_refused(value: object) -> None:
    with pytest.raises(ConfigError, match="length"):
        parse_timespan(value)


WINDOW = parse_calendar("*-*-* 02:00:00")


@pytest.mark.parametrize(("expr", "length", "at", "inside"), [
    pytest.param("*-*-* 02:00:00", 3 * 3600, datetime(2026, 3, 1, 2, 0, 0), True, id="at-the-start"),
    pytest.param("*-*-* 02:00:00", 3 * 3600, datetime(2026, 3, 1, 4, 59, 59), True, id="last-second"),
    pytest.param("*-*-* 02:00:00", 3 * 3600, datetime(2026, 3, 1, 5, 0, 0), False, id="end-is-outside"),
    pytest.param("*-*-* 02:00:00", 3 * 3600, datetime(2026, 3, 1, 1, 59, 59), False, id="before"),
    pytest.param("*-*-* 23:00:00", 3 * 3600, datetime(2026, 3, 2, 1, 30, 0), True, id="across-midnight"),
    pytest.param("Sat 23:00", 2 * 86400, datetime(2026, 3, 1, 12, 0, 0), True, id="weekend-long"),
    pytest.param("Sat 23:00", 3600, datetime(2026, 3, 1, 12, 0, 0), False, id="sunday-noon"),
    pytest.param("hourly", 60, datetime(2026, 3, 1, 7, 0, 59), True, id="hourly-minute"),
])
def test_inside_the_window(expr: str, length: float, at: datetime, inside: bool) -> None:
    assert in_window(parse_calendar(expr), length, at) is inside


def test_the_next_window_follows_the_current_one() -> None:
    start = next_elapse(WINDOW, BASE)
    assert start == datetime(2026, 3, 2, 2, 0, 0)
    assert in_window(WINDOW, 3600, start) and not in_window(WINDOW, 3600, start - timedelta(seconds=1))
