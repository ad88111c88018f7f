"""Print `systemd-analyze security` exposure of every unit, measured in a throw-away systemd.

Run: /usr/local/lib/dunebugger-units/venv/bin/python scripts/security-report.py
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from kits.harness import Harness  # noqa: E402
from kits.productkit import install_product  # noqa: E402

UNITS = ["dunebugger-check.service", "dunebugger-update@scheduler.service",
         "dunebugger-update-dry-run@scheduler.service", "dunebugger-rollback@scheduler.service",
         "dunebugger-recover.service"]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        h = Harness.boot(Path(tmp) / "h")
        try:
            install_product(h, {})
            for unit in UNITS:
                out = h.run(["systemd-analyze", "security", "--no-pager", unit]).stdout
                match = re.search(r"Overall exposure level for \S+: (\d+\.\d+) (\S+)", out)
                print(f"{unit}: {match.group(1)} {match.group(2)}" if match else f"{unit}: ?")
        finally:
            h.poweroff()


if __name__ == "__main__":
    main()
