#!/usr/bin/env bash
# Reinstall the work tree's dunebugger_units into the test venv (not editable: the units run as other users
# and read the installed copy). Fast; serialised with flock so that parallel runs do not collide.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV=/usr/local/lib/dunebugger-units/venv
umask 022
exec 9>/tmp/dunebugger-units-dev-install.lock
flock 9
src="$(mktemp -d)"
trap 'rm -rf "$src"' EXIT
cp -a "$REPO/pyproject.toml" "$REPO/dunebugger_units" "$src/"
if [[ -f "$REPO/README.md" ]]; then cp -a "$REPO/README.md" "$src/"; else : >"$src/README.md"; fi
if ! "$VENV/bin/python" -m pip install -q --no-deps --force-reinstall "$src" >"$src.log" 2>&1; then
    cat "$src.log" >&2
    rm -f "$src.log"
    exit 1
fi
rm -f "$src.log"
chmod -R a+rX "$(dirname "$VENV")"
