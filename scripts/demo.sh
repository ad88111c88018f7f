#!/usr/bin/env bash
# The demo: install what it needs, boot a throw-away systemd with a simulated device, and play the update
# story, printing the frontend's messages as they go. It cleans up after itself. With --web [--port N] it
# keeps the device up and serves the update panel (web/) instead, printing the URL to open.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV=/usr/local/lib/dunebugger-units/venv
bash "$REPO/scripts/install-test-deps.sh" >/dev/null
bash "$REPO/scripts/dev-install.sh"
exec "$VENV/bin/python" "$REPO/scripts/demo.py" "$@"
