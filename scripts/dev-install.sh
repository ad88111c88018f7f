#!/usr/bin/env bash
# Reinstall the work tree's dunebugger_units into the test venv (not editable: the units run as other users
# and read the installed copy). The new package is built aside and swapped in with two renames, so a test
# running at the same moment never finds the package half-installed; flock serialises parallel runs.
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
site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
if [[ ! -d "$site/dunebugger_units" ]]; then
    # first install: pip lays out the package, its metadata and the console script
    "$VENV/bin/python" -m pip install -q --no-deps "$src" >"$src.log" 2>&1 || { cat "$src.log" >&2; exit 1; }
else
    mkdir "$src/target"
    if ! "$VENV/bin/python" -m pip install -q --no-deps --target "$src/target" "$src" >"$src.log" 2>&1; then
        cat "$src.log" >&2
        exit 1
    fi
    old="$site/.dunebugger_units.old.$$"
    mv "$site/dunebugger_units" "$old"
    mv "$src/target/dunebugger_units" "$site/dunebugger_units"
    rm -rf "$old"
fi
rm -f "$src.log"
chmod -R a+rX "$site/dunebugger_units"
