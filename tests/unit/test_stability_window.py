"""kinds/health.stable_over: a service is stable when it runs through the whole window with an unchanged restart
count, and the window ends when it says (not up to a sampling interval later)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from dunebugger_units.kinds.health import Sample, stable_over


def samples(*seen: Sample) -> Callable[[], Sample]:
    """The looks at the service in turn; the last one again once they run out."""
    it: Iterator[Sample] = iter(seen)
    last = seen[-1]

    def sample() -> Sample:
        nonlocal last
        last = next(it, last)
        return last

    return sample


UP = Sample(running=True, restarts=0, detail="active/running")


def test_running_through_the_window_is_stable_and_the_window_ends_on_time() -> None:
    percents: list[int] = []
    started = time.monotonic()
    outcome = stable_over(samples(UP), 0.3, interval=0.25, name="core stable", on_percent=percents.append)
    took = time.monotonic() - started
    assert outcome.ok
    assert outcome.detail == "running, no restart in 0.3 s"
    assert 0.3 <= took < 0.4  # a look at 0.25 s, the last at 0.3 s: never at 0.5 s
    assert percents[0] == 0 and percents[-1] == 100 and percents == sorted(percents)


def test_a_restart_within_the_window_fails_it_though_the_service_runs_again() -> None:
    outcome = stable_over(samples(UP, UP, Sample(True, 1, "active/running")), 5, interval=0.01)
    assert not outcome.ok
    assert outcome.detail == "restarted 1 time(s) within 5 s"


def test_a_service_that_stops_within_the_window_fails_it() -> None:
    outcome = stable_over(samples(UP, Sample(False, 0, "failed/failed")), 5, interval=0.01)
    assert not outcome.ok
    assert outcome.detail == "stopped running within 5 s: failed/failed"


def test_a_service_not_running_at_the_start_fails_at_once() -> None:
    started = time.monotonic()
    outcome = stable_over(samples(Sample(False, 0, "activating/auto-restart")), 5)
    assert not outcome.ok
    assert outcome.detail == "not running: activating/auto-restart"
    assert time.monotonic() - started < 1
