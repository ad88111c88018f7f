#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine (as root): install what it needs, then run every tier,
# the real-systemd, real-D-Bus and real-Docker system tests included. Extra arguments go to pytest.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV=/usr/local/lib/dunebugger-units/venv
bash "$REPO/scripts/install-test-deps.sh"
bash "$REPO/scripts/dev-install.sh"
cd "$REPO"
exec "$VENV/bin/python" -m pytest -p no:cacheprovider tests "$@"
