"""Post-update health: an HTTP probe within a deadline, and stability over a window.

Healthy means running *and* answering: "the call returned" does not count. Both helpers poll and return a
CheckOutcome; they never raise for an unhealthy service.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import CheckFailed
from ..net import NetError, Session
from ..results import CheckOutcome
from ..versions import parse_version

MAX_BODY = 64 * 1024  # what is read of an answer: enough for a version, never a whole download


@dataclass(frozen=True)
class Sample:
    """One look at a service: is it running, and how often has it restarted so far."""

    running: bool
    restarts: int
    detail: str = ""


def judge_probe(status: int, body: bytes, expected_status: int, version: str | None) -> str | None:
    """Pure: None when the answer is healthy, else why not."""
    if status != expected_status:
        return f"HTTP {status}, expected {expected_status}"
    if version is None:
        return None
    try:
        reported = json.loads(body).get("version")
    except (ValueError, AttributeError):
        return "the answer is not a JSON object with a version"
    if reported is None:
        return None  # an endpoint that does not report its version is judged by the other checks
    if parse_version(str(reported)) != parse_version(version):
        return f"it reports version {reported}, expected {version}"
    return None


def http_health(url: str, expected_status: int, version: str | None, deadline: float,
                interval: float = 1.0) -> CheckOutcome:
    """Poll `url` until it answers as expected or the deadline passes (one kept-alive connection)."""
    end = time.monotonic() + deadline
    why = "no answer"
    with Session(timeout=min(5.0, deadline)) as session:
        while True:
            try:
                with session.get(url, {}) as response:
                    problem = judge_probe(response.status, response.read(MAX_BODY), expected_status, version)
                if problem is None:
                    return CheckOutcome("health endpoint", True, f"{url} answered {response.status}")
                why = problem
            except NetError as exc:
                why = f"no answer ({exc})"
            except CheckFailed as exc:  # not an http(s) URL: no later try can do better
                return CheckOutcome("health endpoint", False, str(exc))
            if time.monotonic() >= end:
                return CheckOutcome("health endpoint", False, f"{url}: {why} within {deadline:g} s")
            time.sleep(interval)


def stable_over(sample: Callable[[], Sample], window: float, interval: float = 0.5,
                name: str = "stability", on_percent: Callable[[int], None] | None = None) -> CheckOutcome:
    """Running through the whole window with an unchanged restart count (a crash loop under
    Restart=always never reaches `failed`: only the count gives it away)."""
    first = sample()
    if not first.running:
        return CheckOutcome(name, False, f"not running: {first.detail}".rstrip(": "))
    end = time.monotonic() + window
    while (left := end - time.monotonic()) > 0:
        if on_percent is not None:  # how much of the window has passed
            on_percent(int(100 * (1 - left / window)))
        time.sleep(min(interval, left))  # the last look at the window's end, not up to an interval after it
        now = sample()
        if not now.running:
            return CheckOutcome(name, False, f"stopped running within {window:g} s: {now.detail}".rstrip(": "))
        if now.restarts != first.restarts:
            return CheckOutcome(name, False,
                                f"restarted {now.restarts - first.restarts} time(s) within {window:g} s")
    if on_percent is not None:
        on_percent(100)
    return CheckOutcome(name, True, f"running, no restart in {window:g} s")
