"""Benchmark: what importing the remote's client costs (figures in docs/performance.md).

Run: /usr/local/lib/dunebugger-units/venv/bin/python bench/client_import.py
In fresh interpreters (warm page cache, bytecode present), ROUNDS times each: `python -c pass`, then
`import dunebugger_units.remote.messages` (which imports the client, systemd.py and sdbus). Reports the median wall
time of each, the difference, the number of modules the import adds, and whether any of the updater's own
dependencies (requests, yaml, ruamel, click, packaging) got loaded: the remote's image must not need them.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROUNDS = 15
HEAVY = ("requests", "yaml", "ruamel", "click", "packaging")
REPO = Path(__file__).resolve().parent.parent
COUNT = f"""
import sys
before = set(sys.modules)
import dunebugger_units.remote.messages
added = sorted(set(sys.modules) - before)
import json
print(json.dumps({{"added": len(added), "heavy": [m for m in added if m.split(".")[0] in {HEAVY!r}],
                  "ours": [m for m in added if m.startswith("dunebugger_units")]}}))
"""


def median_run(code: str) -> float:
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    subprocess.run([sys.executable, "-c", "import dunebugger_units.remote.messages"], check=True, cwd=REPO)  # bytecode
    bare = median_run("pass")
    client = median_run("import dunebugger_units.remote.messages")
    counted = json.loads(subprocess.run([sys.executable, "-c", COUNT], check=True, cwd=REPO, capture_output=True,
                                        text=True).stdout)
    print(f"python -c pass: {bare * 1000:.0f} ms (median of {ROUNDS})")
    print(f"import dunebugger_units.remote.messages: {client * 1000:.0f} ms, i.e. +{(client - bare) * 1000:.0f} ms")
    print(f"modules added: {counted['added']}; ours: {', '.join(counted['ours'])}")
    print(f"updater dependencies loaded: {counted['heavy'] or 'none'}")


if __name__ == "__main__":
    main()
