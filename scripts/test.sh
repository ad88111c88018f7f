#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine (as root): install what it needs, then run every tier,
# the real-systemd, real-D-Bus and real-Docker system tests included. Extra arguments go to pytest.
#
# The tests run on DUNEBUGGER_TEST_WORKERS pytest-xdist workers (default 4, more than the 2 cores of the
# machines: system tests mostly wait on boots, stability windows and pulls, each in its own test systemd).
# DUNEBUGGER_TEST_WORKERS=0 (or `-n 0` among the arguments) runs them one after the other in this process.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV=/usr/local/lib/dunebugger-units/venv
WORKERS="${DUNEBUGGER_TEST_WORKERS:-4}"
bash "$REPO/scripts/install-test-deps.sh"
bash "$REPO/scripts/dev-install.sh"
cd "$REPO"
exec "$VENV/bin/python" -m pytest -p no:cacheprovider -n "$WORKERS" --dist worksteal tests "$@"
