#!/usr/bin/env bash
# Build the Debian package with dpkg-buildpackage, from a copy of this tree (dpkg-buildpackage writes its
# results next to the source dir, and its work files into it).
#
#   bash scripts/build-deb.sh [ARCH] [OUTDIR]
#
# ARCH: amd64, arm64 or armhf (default: this machine's); another than this machine's is cross-built, which
# needs the cross toolchain and the host architecture's libraries (docs/packaging.md). OUTDIR: default dist/.
# Prints the path of the built .deb on its last line.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ARCH="${1:-$(dpkg --print-architecture)}"
OUTDIR="$(mkdir -p "${2:-$REPO/dist}" && cd "${2:-$REPO/dist}" && pwd)"
umask 022

work="$(mktemp -d)"
# shellcheck disable=SC2064  # expand $work now
trap "rm -rf '$work'" EXIT
mkdir "$work/src"
# What git would commit: the tracked files that exist, and the new ones it does not ignore.
(cd "$REPO" && git ls-files -z --cached --others --exclude-standard) \
    | while IFS= read -r -d '' f; do if [[ -e "$REPO/$f" || -L "$REPO/$f" ]]; then printf '%s\0' "$f"; fi; done \
    | tar -C "$REPO" --null -T - -cf - | tar -C "$work/src" -xf -

args=(-us -uc -b)
if [[ "$ARCH" != "$(dpkg --print-architecture)" ]]; then
    args+=(-a "$ARCH" -Pcross,nocheck)
fi
# Debian's own python3 and tools, whatever the caller's PATH holds (a pyenv shim, a venv).
(cd "$work/src" && env PATH=/usr/sbin:/usr/bin:/sbin:/bin dpkg-buildpackage "${args[@]}") >&2

version="$(dpkg-parsechangelog -l "$REPO/debian/changelog" -S Version)"
deb="$OUTDIR/dunebugger-units_${version}_${ARCH}.deb"
cp "$work/dunebugger-units_${version}_${ARCH}.deb" "$deb"
echo "$deb"
