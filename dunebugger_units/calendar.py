"""systemd calendar expressions (systemd.time(7)) and time spans, for the maintenance window. Pure, no I/O.

A sensible subset, parsed the way `systemd-analyze calendar` parses it (tests/unit/test_calendar.py compares
every row of its table with the real `systemd-analyze calendar` and `timespan`):

    [WEEKDAYS] [[YEAR-]MONTH-DAY] [HOUR:MINUTE[:SECOND]] [UTC]

each of YEAR, MONTH, DAY, HOUR, MINUTE, SECOND being `*` or a comma list of `V`, `A..B`, `V/STEP`, `A..B/STEP`
or `*/STEP`; WEEKDAYS a comma list of names or `Mon..Fri` ranges; and the shorthands (`daily`, `weekly`, ...).
What systemd accepts beyond that (`~` for the last days of a month, fractional seconds, time zones other than
UTC) is refused here with a line that says so. Without `UTC` the expression is in the device's local time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from .errors import ConfigError

SHORTHANDS = {
    "minutely": "*-*-* *:*:00",
    "hourly": "*-*-* *:00:00",
    "daily": "*-*-* 00:00:00",
    "monthly": "*-*-01 00:00:00",
    "weekly": "Mon *-*-* 00:00:00",
    "yearly": "*-01-01 00:00:00",
    "annually": "*-01-01 00:00:00",
    "quarterly": "*-01,04,07,10-01 00:00:00",
    "semiannually": "*-01,07-01 00:00:00",
}
WEEKDAYS = {"mon": 0, "monday": 0, "tue": 1, "tuesday": 1, "wed": 2, "wednesday": 2, "thu": 3, "thursday": 3,
            "fri": 4, "friday": 4, "sat": 5, "saturday": 5, "sun": 6, "sunday": 6}
LIMITS = {"year": (1970, 2199), "month": (1, 12), "day": (1, 31), "hour": (0, 23), "minute": (0, 59),
          "second": (0, 59)}
SPAN_UNITS = {
    "s": 1, "sec": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "week": 604800, "weeks": 604800,
}
MAX_WINDOW_SECONDS = 7 * 86400
_SPAN_PART = re.compile(r"(\d+)\s*([a-z]*)")


@dataclass(frozen=True)
class Calendar:
    """A parsed expression: the allowed values of each field (None: any)."""

    text: str
    weekdays: frozenset[int] | None
    years: frozenset[int] | None
    months: frozenset[int] | None
    days: frozenset[int] | None
    hours: tuple[int, ...]
    minutes: tuple[int, ...]
    seconds: tuple[int, ...]
    utc: bool = False

    def matches_date(self, day: date) -> bool:
        return ((self.weekdays is None or day.weekday() in self.weekdays)
                and (self.years is None or day.year in self.years)
                and (self.months is None or day.month in self.months)
                and (self.days is None or day.day in self.days))

    def times(self) -> list[time]:
        return [time(h, m, s) for h in self.hours for m in self.minutes for s in self.seconds]


def _values(text: str, field: str, what: str) -> frozenset[int] | None:
    """`*` (None), or the set a comma list of values, ranges and steps names."""
    low, high = LIMITS[field]
    if text == "*":
        return None
    out: set[int] = set()
    for chunk in text.split(","):
        match = re.fullmatch(r"(\*|\d+)(?:\.\.(\d+))?(?:/(\d+))?", chunk)
        if match is None:
            raise ConfigError(f"{what}: {chunk!r} is not a value, range or step this updater understands")
        first, last, step = match.groups()
        start = low if first == "*" else int(first)
        end = int(last) if last is not None else (high if step is not None or first == "*" else start)
        if first == "*" and last is not None:
            raise ConfigError(f"{what}: {chunk!r}: a range cannot start at '*'")
        if step is not None and int(step) == 0:
            raise ConfigError(f"{what}: {chunk!r}: a step of 0")
        if not (low <= start <= high and low <= end <= high) or end < start:
            raise ConfigError(f"{what}: {chunk!r}: {field} must be within {low}..{high}")
        out.update(range(start, end + 1, int(step or 1)))
    return frozenset(out)


def _weekdays(text: str, what: str) -> frozenset[int]:
    out: set[int] = set()
    for chunk in text.split(","):
        ends = chunk.split("..")
        names = [WEEKDAYS.get(e.lower()) for e in ends]
        if len(ends) > 2 or any(n is None for n in names):  # a range has two ends
            raise ConfigError(f"{what}: {chunk!r} is not a weekday or a range of weekdays")
        first, last = names[0], names[-1]
        assert first is not None and last is not None  # checked just above, for mypy
        out.update(range(first, last + 1) if first <= last else [*range(first, 7), *range(last + 1)])
    return frozenset(out)


def _date(text: str, what: str) -> tuple[frozenset[int] | None, ...]:
    parts = text.split("-")
    if len(parts) == 2:  # MONTH-DAY
        parts = ["*", *parts]
    if len(parts) != 3 or "~" in text:  # YEAR-MONTH-DAY
        raise ConfigError(f"{what}: {text!r} is not a date (YEAR-MONTH-DAY or MONTH-DAY; '~' is not supported)")
    return (_values(parts[0], "year", what), _values(parts[1], "month", what), _values(parts[2], "day", what))


def _time(text: str, what: str) -> tuple[tuple[int, ...], ...]:
    parts = text.split(":")
    if len(parts) == 2:  # HOUR:MINUTE
        parts.append("00")
    if len(parts) != 3 or "." in parts[-1].replace("..", ""):  # HOUR:MINUTE:SECOND, no fraction
        raise ConfigError(f"{what}: {text!r} is not a time (HOUR:MINUTE[:SECOND]; fractions are not supported)")
    out = []
    for part, field in zip(parts, ("hour", "minute", "second"), strict=True):
        values = _values(part, field, what)
        low, high = LIMITS[field]
        out.append(tuple(sorted(values)) if values is not None else tuple(range(low, high + 1)))
    return tuple(out)


def parse_calendar(text: str, what: str = "calendar") -> Calendar:
    """The expression, or a ConfigError naming `what` and the part that is wrong."""
    words = text.split()
    utc = bool(words) and words[-1].upper() == "UTC"
    if utc:
        words = words[:-1]
    if len(words) == 1 and words[0].lower() in SHORTHANDS:
        words = SHORTHANDS[words[0].lower()].split()
    if not words:
        raise ConfigError(f"{what}: empty calendar expression")
    weekdays = None
    if words[0][:1].isalpha():
        weekdays = _weekdays(words.pop(0), what)
    date_part = next((w for w in words if "-" in w), None)
    time_part = next((w for w in words if ":" in w), None)
    if len(words) != (date_part is not None) + (time_part is not None) or (weekdays is None and not words):
        raise ConfigError(f"{what}: {text!r} is not a calendar expression like '*-*-* 02:00:00' "
                          "(only UTC is supported as a time zone)")
    years, months, days = _date(date_part, what) if date_part else (None, None, None)
    hours, minutes, seconds = _time(time_part, what) if time_part else ((0,), (0,), (0,))
    return Calendar(text, weekdays, years, months, days, hours, minutes, seconds, utc)


def parse_timespan(value: object, what: str = "length") -> float:
    """`3h`, `90min`, `1h 30min`, or a number of seconds; positive and at most a week."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ConfigError(f"{what}: expected a duration like 3h or 90min, got {value!r}")
    text = str(value).strip().lower().replace(" ", "")
    if not text or _SPAN_PART.sub("", text):
        raise ConfigError(f"{what}: {value!r} is not a duration like 3h or 90min")
    total = 0
    for number, unit in _SPAN_PART.findall(text):
        if unit and unit not in SPAN_UNITS:
            raise ConfigError(f"{what}: {value!r}: unknown unit {unit!r} (use s, min, h, d or w)")
        total += int(number) * SPAN_UNITS.get(unit, 1)
    if not 0 < total <= MAX_WINDOW_SECONDS:
        raise ConfigError(f"{what}: {value!r}: must be above 0 and at most 7 days")
    return float(total)


def next_elapse(cal: Calendar, after: datetime, horizon_days: int = 3 * 366) -> datetime | None:
    """The first start strictly after `after` (wall clock of the expression's zone), like systemd's."""
    day = after.date()
    for _ in range(horizon_days):
        if cal.matches_date(day):
            for moment in cal.times():
                start = datetime.combine(day, moment)
                if start > after:
                    return start
        day += timedelta(days=1)
    return None


def last_start(cal: Calendar, at: datetime, back_days: int) -> datetime | None:
    """The latest start at or before `at`, looking back at most `back_days` whole days."""
    day = at.date()
    for _ in range(back_days + 1):
        if cal.matches_date(day):
            for moment in reversed(cal.times()):
                start = datetime.combine(day, moment)
                if start <= at:
                    return start
        day -= timedelta(days=1)
    return None


def in_window(cal: Calendar, length: float, at: datetime) -> bool:
    """Inside a window: a start at or before `at`, less than `length` seconds ago."""
    start = last_start(cal, at, int(length // 86400) + 1)
    return start is not None and at < start + timedelta(seconds=length)
