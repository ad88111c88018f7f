"""Benchmark of the check phase and of the command's cold start (figures in docs/performance.md).

Run: /usr/local/lib/dunebugger-units/venv/bin/python bench/check_bench.py
1. One check of 3 components against the loopback GitHub stand-in, concurrent vs sequential, in the same run,
   with 0 ms and 100 ms of added answer latency (GitHub is not on loopback). Requests and 304s are counted.
2. The cold start of `dunebugger-units --help` and `dunebugger-units check`, against `python -c pass`.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from kits.devicekit import Device, publish_defaults
from kits.standin import GithubStandin

from dunebugger_units.config import parse_config
from dunebugger_units.phases.check import run_check

ROUNDS = 15


def timed_check(device: Device, standin: GithubStandin, workers: int | None) -> float:
    config = parse_config(device.config(standin.url))
    (device.cache_dir / "check.json").unlink(missing_ok=True)  # no ETag: a full check every round
    start = time.perf_counter()
    run_check(config, workers=workers)
    return time.perf_counter() - start


def bench_check(root: Path) -> None:
    standin = GithubStandin().start()
    publish_defaults(standin)
    device = Device(root / "device").lay_out()
    try:
        for latency in (0.0, 0.1):
            standin.latency = latency
            seq = statistics.median(timed_check(device, standin, 1) for _ in range(ROUNDS))
            conc = statistics.median(timed_check(device, standin, None) for _ in range(ROUNDS))
            print(f"check of 3 components, {latency * 1000:.0f} ms latency: sequential {seq * 1000:.1f} ms, "
                  f"concurrent {conc * 1000:.1f} ms, ratio {conc / seq:.2f}")
        standin.latency = 0.0
        (device.cache_dir / "check.json").unlink(missing_ok=True)
        config = parse_config(device.config(standin.url))
        standin.seen.clear()
        run_check(config)
        first = len(standin.requests_to("/releases"))
        standin.seen.clear()
        run_check(config)
        second = standin.requests_to("/releases")
        conditional = sum(1 for s in second if "if-none-match" in s.headers)
        print(f"requests: first run {first}, second run {len(second)} ({conditional} conditional, "
              f"answered 304 when unchanged)")
    finally:
        standin.stop()


def cold_start(argv: list[str], env: dict[str, str]) -> float:
    runs = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def bench_cold_start(root: Path) -> None:
    exe = Path(sys.executable)
    script = exe.parent / "dunebugger-units"
    standin = GithubStandin().start()
    publish_defaults(standin)
    device = Device(root / "cold").lay_out()
    config = device.write_config(root / "updater.yaml", standin.url)
    env = {"PATH": "/usr/bin:/bin", "DUNEBUGGER_UNITS_CONFIG": str(config)}
    try:
        baseline = cold_start([str(exe), "-c", "pass"], env)
        helptime = cold_start([str(script), "--help"], env)
        checktime = cold_start([str(script), "check"], env)
    finally:
        standin.stop()
    print(f"cold start: python -c pass {baseline * 1000:.0f} ms; dunebugger-units --help {helptime * 1000:.0f} ms "
          f"({helptime / baseline:.1f}x); dunebugger-units check {checktime * 1000:.0f} ms "
          f"({checktime / baseline:.1f}x)")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        # outside systemd the journal lines go to stderr: keep the figures readable
        with open(os.devnull, "w") as sink, contextlib.redirect_stderr(sink):
            bench_check(Path(tmp))
        bench_cold_start(Path(tmp))
