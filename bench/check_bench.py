"""Benchmark of the check phase and of the command's cold start (figures in docs/performance.md).

Run: /usr/local/lib/dunebugger-units/venv/bin/python bench/check_bench.py [--against REV]
1. One check of 3 components against the loopback GitHub stand-in, concurrent vs sequential, in the same run,
   with 0 ms and 100 ms of added answer latency (GitHub is not on loopback). Requests and 304s are counted.
2. The cold start of `dunebugger-units --help` and `dunebugger-units check` as an unprivileged user, against
   `python -c pass` and the bare imports a check cannot do without in the same run, with the load average
   beside the figures (run it as root: it drops to nobody for the commands). `--against REV` adds the `check`
   of that git revision (a temporary worktree) to the same interleaved rounds.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
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


COLD_ROUNDS = 41
FLOOR = "import click, yaml, http.client, packaging.version"
NOBODY = 65534


def baseline_tree(root: Path, rev: str) -> Path:
    """The package as it was at `rev`, byte-compiled, in a worktree readable by nobody."""
    repo = Path(__file__).resolve().parent.parent
    tree = root / f"at-{rev}"
    subprocess.run(["git", "-C", str(repo), "worktree", "add", "--detach", "-q", str(tree), rev], check=True)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "dunebugger_units")], check=True,
                   stdout=subprocess.DEVNULL)
    return tree


def bench_cold_start(root: Path, against: str | None) -> None:
    """`check` as a person runs it (not root: root's check starts dunebugger-check.service), `--help`, and
    `python -c pass`, interleaved so that the machine's load weighs on each alike; medians of COLD_ROUNDS."""
    repo = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(repo / "dunebugger_units")], check=True,
                   stdout=subprocess.DEVNULL)  # as installed: byte-compiled (nobody cannot write __pycache__)
    standin = GithubStandin().start()
    publish_defaults(standin)
    root.chmod(0o755)
    device = Device(root / "cold").lay_out()
    config = device.write_config(root / "updater.yaml", standin.url)
    subprocess.run(["chown", "-R", f"{NOBODY}:{NOBODY}", str(device.root)], check=True)
    env = {"PATH": "/usr/bin:/bin", "DUNEBUGGER_UNITS_CONFIG": str(config), "PYTHONPATH": str(repo)}
    cases = {"python -c pass": ["-c", "pass"], "dunebugger-units --help": ["-m", "dunebugger_units", "--help"],
             "dunebugger-units check": ["-m", "dunebugger_units", "check"],
             # what no check can do without: the CLI, the configuration's parser, HTTP and version comparison
             "import click, yaml, http.client, packaging.version": ["-c", FLOOR]}
    envs = dict.fromkeys(cases, env)
    if against:
        name = f"dunebugger-units check at {against}"
        cases[name] = cases["dunebugger-units check"]
        envs[name] = {**env, "PYTHONPATH": str(baseline_tree(root, against))}
    runs: dict[str, list[float]] = {name: [] for name in cases}
    try:
        for _ in range(COLD_ROUNDS):
            for name, argv in cases.items():
                start = time.perf_counter()
                done = subprocess.run([sys.executable, *argv], env=envs[name], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, check=False, cwd="/", user=NOBODY, group=NOBODY,
                                      extra_groups=[])
                runs[name].append(time.perf_counter() - start)
                assert done.returncode == 0, f"{name} exited {done.returncode}"
    finally:
        standin.stop()
    base = statistics.median(runs["python -c pass"])
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"cold start, medians of {COLD_ROUNDS} runs as uid {NOBODY}, load average {load}:")
    for name, times in runs.items():
        median = statistics.median(times)
        print(f"  {name}: {median * 1000:.0f} ms ({median / base:.1f}x python -c pass)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", metavar="REV", help="also time the check of this git revision")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        # outside systemd the journal lines go to stderr: keep the figures readable
        with open(os.devnull, "w") as sink, contextlib.redirect_stderr(sink):
            bench_check(Path(tmp))
        try:
            bench_cold_start(Path(tmp), args.against)
        finally:
            if args.against:
                shutil.rmtree(Path(tmp) / f"at-{args.against}", ignore_errors=True)
                subprocess.run(["git", "worktree", "prune"], check=False, cwd=Path(__file__).resolve().parent.parent)
