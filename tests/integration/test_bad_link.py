"""A weak link, made by the loopback GitHub stand-in: downloads that stall or break off resume with Range, and
API calls that meet a 5xx, a dropped connection or a short rate limit are tried again within the same check."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest
from kits.devicekit import Device, publish_defaults
from kits.standin import GithubStandin

from dunebugger_units.config import parse_config
from dunebugger_units.download import Checksum, Download, DownloadError, StallWatch, download_verified
from dunebugger_units.github import GithubClient
from dunebugger_units.phases.check import run_check

NAME = "dunebugger-1.2.0.tar.gz"


def publish(standin: GithubStandin, data: bytes) -> str:
    standin.add_release("dunebugger", "v1.2.0", assets={NAME: data})
    return f"/download/dunebugger/v1.2.0/{NAME}"


def fetch(standin: GithubStandin, path: str, dest: Path, data: bytes, **limits: float) -> Path:
    download = Download(standin.url + path, dest / NAME, 10**7, retry_pause=0, **limits)  # type: ignore[arg-type]
    return download_verified(download, [Checksum(hashlib.sha256(data).hexdigest(), "test")], allow_missing=False)


@pytest.mark.parametrize(
    ("arrivals", "stalled"),
    [
        pytest.param([(0.5, 2000), (1.0, 2000)], [False, False], id="steady-above-the-rate"),
        pytest.param([(0.5, 10), (1.0, 10)], [False, True], id="trickle-below-the-rate"),
        pytest.param([(1.0, 0)], [True], id="silence"),
        pytest.param([(1.0, 5000), (2.0, 100)], [False, True], id="fast-then-trickle"),
    ],
)
def test_stall_watch_judges_whole_windows(arrivals: list[tuple[float, int]], stalled: list[bool]) -> None:
    watch = StallWatch(rate=1024, seconds=1.0, started=0.0)
    assert [watch.arrived(count, now) for now, count in arrivals] == stalled


def test_a_trickle_is_a_stall_and_the_download_resumes_with_range(standin: GithubStandin, tmp_path: Path) -> None:
    data = os.urandom(200_000)
    path = publish(standin, data)
    standin.trickle_after[path] = (50_000, 0.05)  # then 20 bytes a second: a link that is all but dead
    started = time.monotonic()
    got = fetch(standin, path, tmp_path, data, stall_seconds=0.5, stall_bytes_per_second=1024)
    assert got.read_bytes() == data
    ranges = [s.headers.get("range") for s in standin.seen if s.path == path]
    assert ranges[0] is None
    assert len(ranges) == 2
    assert ranges[1] is not None
    assert int(ranges[1][6:-1]) >= 50_000  # what arrived, the trickle included, was kept
    assert time.monotonic() - started < 5


def test_silence_is_a_stall_too(standin: GithubStandin, tmp_path: Path) -> None:
    data = os.urandom(100_000)
    path = publish(standin, data)
    standin.trickle_after[path] = (30_000, 30.0)  # nothing more for 30 s
    got = fetch(standin, path, tmp_path, data, stall_seconds=0.5)
    assert got.read_bytes() == data
    assert [s.headers.get("range") for s in standin.seen if s.path == path] == [None, "bytes=30000-"]


def test_retries_are_counted_and_the_last_reason_is_given(standin: GithubStandin, tmp_path: Path) -> None:
    data = os.urandom(100_000)
    path = publish(standin, data)

    class AlwaysTrickle(dict[str, tuple[int, float]]):
        def pop(self, key: str, default: object = None) -> tuple[int, float]:  # type: ignore[override]
            return (1000, 0.05)

    standin.trickle_after = AlwaysTrickle()
    with pytest.raises(DownloadError, match=r"stalled: below 1024 bytes/s for 0.3 s, after 2 retries"):
        fetch(standin, path, tmp_path, data, stall_seconds=0.3, retries=2)
    assert len([s for s in standin.seen if s.path == path]) == 3
    assert (tmp_path / f"{NAME}.part").exists()  # kept for the next run to resume


def test_a_dropped_connection_mid_body_resumes(standin: GithubStandin, tmp_path: Path) -> None:
    data = os.urandom(150_000)
    path = publish(standin, data)
    standin.drop_after[path] = 60_000
    assert fetch(standin, path, tmp_path, data).read_bytes() == data
    assert [s.headers.get("range") for s in standin.seen if s.path == path] == [None, "bytes=60000-"]


def test_a_4xx_stops_at_once_with_its_reason(standin: GithubStandin, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="HTTP 404 Not Found"):
        Download(standin.url + "/download/nothing", tmp_path / NAME, 10**6, retry_pause=0).run()
    assert len(standin.requests_to("/download/nothing")) == 1


def client_for(standin: GithubStandin) -> GithubClient:
    return GithubClient(parse_config({"github": {"api_url": standin.url, "timeout": 2}}).github, retry_pause=0)


@pytest.mark.parametrize("fault", ["500", "reset", "cut-body"], ids=["500-then-200", "reset", "cut-mid-body"])
def test_a_transient_api_failure_is_tried_again(standin: GithubStandin, fault: str) -> None:
    publish_defaults(standin)
    standin.fault_queue["dunebugger"] = [fault]
    lookup = client_for(standin).latest_release("dunebugger")
    assert lookup.release is not None and lookup.release.version == "1.2.0"
    assert len(standin.requests_to("/dunebugger/releases/latest")) == 2


def test_api_calls_of_a_client_share_one_connection(standin: GithubStandin) -> None:
    publish_defaults(standin)
    client = client_for(standin)
    for repo in ("dunebugger", "dunebugger-scheduler", "dunebugger-remote"):
        client.latest_release(repo)
    connection = next(iter(client.session._connections.values()))
    assert connection.sock is not None  # still open: kept alive across the calls
    ports = {c.sock.getsockname()[1] for c in client.session._connections.values() if c.sock is not None}
    assert len(ports) == 1


def test_a_5xx_that_persists_fails_after_the_attempts(standin: GithubStandin) -> None:
    publish_defaults(standin)
    standin.faults["dunebugger"] = "500"
    with pytest.raises(Exception, match=r"GitHub answered HTTP 500 \(3 attempts\)"):
        client_for(standin).latest_release("dunebugger")
    assert len(standin.requests_to("/dunebugger/releases/latest")) == 3


def test_a_short_rate_limit_is_waited_out_within_the_check(device: Device, standin: GithubStandin) -> None:
    publish_defaults(standin)
    standin.fault_queue["dunebugger"] = ["ratelimit403-soon"]
    started = time.monotonic()
    report = run_check(parse_config(device.config(standin.url)))
    core = report.components["core"]
    assert core["error"] is None
    assert core["latest"] == "1.2.0"
    assert core["rate_limited_until"] is None
    assert 0.0 < time.monotonic() - started < 5
    assert len(standin.requests_to("/dunebugger/releases/latest")) == 2


def test_a_long_rate_limit_keeps_the_stored_result_and_says_when(device: Device, standin: GithubStandin) -> None:
    publish_defaults(standin)
    config = parse_config(device.config(standin.url))
    run_check(config)
    standin.faults["dunebugger"] = "ratelimit403"  # lifts in an hour
    core = run_check(config).components["core"]
    assert core["latest"] == "1.2.0"
    assert core["error"] == f"rate limited until {core['rate_limited_until']}"
    assert len(standin.requests_to("/dunebugger/releases/latest")) == 2  # no wait, no retry
