"""Benchmark: the cost of a core update whose requirements did not change, beside a fresh install of
the same requirements in the same run (figures in docs/performance.md). Needs root: it boots a throw-away real
systemd (tests/kits/harness) with the fixture core app.

Run: /usr/local/lib/dunebugger-units/venv/bin/python bench/core_update_cost.py [rounds]

The releases require the fixture's own wheel plus setuptools 66.1.1 (Debian's wheel from
/usr/share/python-wheels: about 900 files, a realistic install for pip). Each round runs
`systemctl start dunebugger-update@core` twice:
1. fresh: a release whose requirements.txt differs (one comment line): a new venv and pip install everything;
2. unchanged: the next release with a byte-identical requirements.txt: the new release's own venv is made from
   the previous release's installed packages, without pip.
Measured: the whole update (`systemctl start` of the oneshot, until it has finished), its venv step (from the phase
journal entries: "creating venv" or "reusing the venv" until "backing up"), and core's downtime.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from core_downtime import core_device, downtime
from kits.corekit import publish, release_files, tarball, wait_healthy
from kits.harness import Harness
from kits.standin import GithubStandin

UPDATE = "dunebugger-update@core.service"
SETUPTOOLS = next(Path("/usr/share/python-wheels").glob("setuptools-*.whl"))
PIN = f"setuptools=={SETUPTOOLS.name.split('-')[1]}"


def run_update(h: Harness, gh: GithubStandin, version: str, requirement: str) -> tuple[float, float, float]:
    """(whole update s, venv step s, downtime s) of one update to `version`."""
    publish(gh, version, tarball(release_files(version, extra_requirement=requirement)))
    h.run(["dunebugger-units", "check", "core"], timeout=60)
    # CLOCK_MONOTONIC is shared with the harness: the journal's own stamps are on the same clock
    started = time.monotonic_ns() // 1000
    h.systemctl("start", UPDATE, timeout=600)  # a oneshot: returns when the update has finished
    total = (time.monotonic_ns() // 1000 - started) / 1e6
    wait_healthy(h, version)
    entries = [e for e in h.journal("SYSLOG_IDENTIFIER=dunebugger-update", "COMPONENT=core")
               if int(e["__MONOTONIC_TIMESTAMP"]) >= started]
    at = {e.get("PHASE"): int(e["__MONOTONIC_TIMESTAMP"]) for e in entries if e.get("PHASE")}
    start = next(at[p] for p in at if p and (p == "creating venv" or p.startswith("reusing the venv")))
    return total, (at["backing up"] - start) / 1e6, downtime(h)


def main(rounds: int) -> None:
    fresh: list[tuple[float, float, float]] = []
    same: list[tuple[float, float, float]] = []
    with core_device("core-update-cost-") as (h, gh, device):
        shutil.copy(SETUPTOOLS, device.root / "opt/dunebugger/wheelhouse" / SETUPTOOLS.name)
        for i in range(rounds):
            requirement = f"{PIN}\n# build {i}"
            fresh.append(run_update(h, gh, f"1.{10 + 2 * i}.0", requirement))
            same.append(run_update(h, gh, f"1.{11 + 2 * i}.0", requirement))

    def med(rows: list[tuple[float, float, float]], i: int) -> float:
        return statistics.median(r[i] for r in rows)

    print(f"rounds: {rounds} (medians)")
    for label, rows in (("fresh venv + pip", fresh), ("requirements unchanged", same)):
        print(f"{label:<24} whole update {med(rows, 0):6.2f} s   venv step {med(rows, 1):6.2f} s   "
              f"downtime {med(rows, 2) * 1000:4.0f} ms")
    print(f"unchanged / fresh: whole update {med(same, 0) / med(fresh, 0):.2f}x, venv step "
          f"{med(same, 1) / med(fresh, 1):.3f}x, downtime {med(same, 2) / med(fresh, 2):.2f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
