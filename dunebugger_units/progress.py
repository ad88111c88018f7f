"""Progress of the long steps (download, image pull, pip, stability window) as "<step> NN%": the unit's status
text, which the remote's client turns into the frontend's `update_progress` percent and the CLI into a bar.
The parsers are pure; `every_tenth` keeps the journal to one line per 10 %.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

PERCENT = re.compile(r"(\d{1,3})%\s*$")
_LAYER = re.compile(r"^([0-9a-f]{12}): (.+)$")
DONE_LAYER = ("Pull complete", "Already exists")


def every_tenth(report: Callable[[str], None], step: str) -> Callable[[int], None]:
    """`on_percent(value)` that reports `"<step> NN%"` when the value enters a new tenth (0, 10, ... 100)."""
    shown = [-1]

    def on_percent(value: int) -> None:
        value = max(0, min(100, value))
        if value // 10 != shown[0]:
            shown[0] = value // 10
            report(f"{step} {value}%")

    return on_percent


def pull_percent(lines: Iterable[str]) -> int | None:
    """Pure: how far `docker pull` is, from its plain output: layers done (pulled or already there) of the
    layers it named. None before it named any."""
    state: dict[str, str] = {}
    for line in lines:
        match = _LAYER.match(line.strip())
        if match:
            state[match.group(1)] = match.group(2)
    if not state:
        return None
    done = sum(1 for status in state.values() if status.startswith(DONE_LAYER))
    return done * 100 // len(state)


def pip_percent(lines: Iterable[str], requirements: int) -> int | None:
    """Pure: a rough percent of `pip install -r`: collecting the requirements up to 80 %, installing 90 %,
    done 100 %. Dependencies of dependencies are collected too, so collecting is capped at 80 %."""
    collected, installing = 0, False
    for line in lines:
        # pip's plain output, or its --log file, whose lines start with a time stamp
        text = line.strip()
        if "Successfully installed" in text:
            return 100
        if "Installing collected packages" in text:
            installing = True
        elif any(f" {word}" in f" {text}" for word in ("Collecting ", "Processing ", "Requirement already satisfied")):
            collected += 1
    if installing:
        return 90
    if collected == 0:
        return None
    return min(80, collected * 80 // max(1, requirements))


def percent_of(text: str) -> int | None:
    """The trailing "NN%" of a status text, if any."""
    match = PERCENT.search(text)
    return int(match.group(1)) if match and int(match.group(1)) <= 100 else None
