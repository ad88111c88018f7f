#!/usr/bin/env bash
# Build the Debian package of dunebugger-units for one architecture.
#
#   bash scripts/build-deb.sh [ARCH] [OUTDIR]
#
# ARCH: amd64 (default: this machine's), arm64 or armhf. OUTDIR: default dist/.
# The same package serves Raspberry Pi OS bookworm (Python 3.11) and trixie (Python 3.13): the Python code and
# its libraries are pure Python, and sdbus, the one compiled library, is an abi3 wheel.
#
# Needs: dpkg-deb, /usr/bin/python3 with pip, and PyPI (wheels are fetched for the target architecture with
# `pip install --platform`, so an arm package builds on an amd64 machine without an emulator or a compiler).
# Wheels and the pure-Python PyYAML build are cached in $DEB_CACHE (default build/deb-cache).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PKG=dunebugger-units
ARCH="${1:-$(dpkg --print-architecture)}"
OUTDIR="${2:-$REPO/dist}"
CACHE="${DEB_CACHE:-$REPO/build/deb-cache}"
MAINTAINER="${DEB_MAINTAINER:-Dunebugger maintainers <dunebugger-units@users.noreply.github.com>}"
PYTHON=/usr/bin/python3
LIBDIR=usr/lib/$PKG/python
# Everything we create goes into a package that root installs and an unprivileged unit reads.
umask 022

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'build-deb: %s\n' "$*" >&2; exit 1; }

# The wheel platform of each Debian architecture. sdbus publishes manylinux_2_28 wheels (glibc >= 2.28:
# bookworm has 2.36); its armv7l wheel needs an ARMv7 CPU (Raspberry Pi 2 and later), see the README.
wheel_platform() {
    case "$1" in
        amd64) echo manylinux_2_28_x86_64 ;;
        arm64) echo manylinux_2_28_aarch64 ;;
        armhf) echo manylinux_2_28_armv7l ;;
        *) die "unsupported architecture '$1' (amd64, arm64 or armhf)" ;;
    esac
}

# The binutils strip of each architecture (binutils-<triplet> from Debian: no compiler, no emulator).
strip_program() {
    case "$1" in
        amd64) echo x86_64-linux-gnu-strip ;;
        arm64) echo aarch64-linux-gnu-strip ;;
        armhf) echo arm-linux-gnueabihf-strip ;;
    esac
}

project_version() {
    "$PYTHON" - "$REPO/pyproject.toml" <<'EOF'
import re
import sys

# tomllib is 3.11+, which is what this script runs on; a regex keeps it working on older build hosts too.
text = open(sys.argv[1], encoding="utf-8").read()
print(re.search(r'(?m)^version\s*=\s*"([^"]+)"', text).group(1))
EOF
}

changelog_version() {
    sed -n '1s/^[^ ]* (\([^)]*\)).*/\1/p' "$REPO/packaging/debian/changelog"
}

changelog_epoch() {
    # The date of the newest entry: every file's mtime, so that two builds of one version are identical.
    local stamp
    stamp="$(grep -m1 '^ -- ' "$REPO/packaging/debian/changelog" | sed 's/^ -- .*  //')"
    date -d "$stamp" +%s
}

pure_pyyaml_wheel() {
    # PyYAML's wheels carry a C extension built per Python version (cp311, cp313). Built from the sdist
    # without it, yaml uses its pure-Python loader: one wheel for every Python and architecture.
    local version wheels
    version="$(sed -n 's/^PyYAML==//p' "$REPO/packaging/requirements.txt")"
    wheels="$CACHE/wheels"
    if compgen -G "$wheels/pyyaml-$version-py3-none-any.whl" >/dev/null; then
        return
    fi
    log "building PyYAML $version without its C extension"
    PYYAML_FORCE_LIBYAML=0 "$PYTHON" -m pip wheel -q --no-deps --no-binary PyYAML -w "$wheels" \
        "PyYAML==$version"
}

project_wheel() {
    # From a copy of the sources: a build in the work tree leaves build/ and *.egg-info behind.
    local src="$1" dest="$2"
    mkdir -p "$src"
    cp -a "$REPO/pyproject.toml" "$REPO/README.md" "$REPO/dunebugger_units" "$src/"
    find "$src" -name __pycache__ -prune -exec rm -rf {} +
    "$PYTHON" -m pip wheel -q --no-deps -w "$dest" "$src"
}

install_python_libraries() {
    local lib="$1" platform="$2" project_wheels="$3"
    local -a target=(install -q --target "$lib" --no-deps --no-compile --only-binary=:all:
        --find-links "$CACHE/wheels" --python-version 3.11)
    # Pure wheels only (py3-none-any): --platform any rules out the per-version compiled builds some of
    # these libraries also publish (charset-normalizer's mypyc wheels, PyYAML's).
    "$PYTHON" -m pip "${target[@]}" --platform any --implementation py --abi none \
        -r "$REPO/packaging/requirements.txt" "$project_wheels"/*.whl
    # sdbus: the abi3 wheel of the target architecture (cp39-abi3: CPython 3.9 and later, 3.11 and 3.13).
    "$PYTHON" -m pip "${target[@]}" --upgrade --platform "$platform" --implementation cp --abi abi3 \
        -r "$REPO/packaging/requirements-arch.txt"
    # pip's own records and the libraries' console scripts (we ship one launcher of our own); license
    # texts move into debian/copyright, where Debian looks for them.
    rm -rf "${lib:?}/bin"
    find "$lib" -name __pycache__ -prune -exec rm -rf {} +
    # importlib.metadata needs only METADATA (and WHEEL); the rest is pip's bookkeeping.
    find "$lib" -path '*.dist-info/*' ! -name METADATA ! -name WHEEL -type f -delete
    find "$lib" -path '*.dist-info/*' -type d -empty -delete
    # A few modules start with `#!/usr/bin/env python` though they are not programs: blank that line (as
    # dh_python3 would rewrite it), keeping line numbers in tracebacks.
    grep -rlZ --include='*.py' -m1 '^#!' "$lib" | xargs -0r sed -i '1s/^#!.*$//'
}

strip_objects() {
    # Wheels keep their debug info; Debian ships stripped shared objects (Policy 10.1, 10.2).
    local lib="$1" strip
    strip="$(strip_program "$ARCH")"
    command -v "$strip" >/dev/null || die "$strip is missing: apt-get install binutils-${strip%-strip}"
    find "$lib" -name '*.so' -exec "$strip" --strip-unneeded --remove-section=.comment --remove-section=.note {} +
}

install_files() {
    local root="$1" version="$2"
    local doc="$root/usr/share/doc/$PKG"
    install -d "$root/usr/lib/systemd/system" "$doc" "$root/usr/share/man/man1"
    install -D -m 0755 "$REPO/packaging/lib/dunebugger-units" "$root/usr/bin/dunebugger-units"
    # The units and their drop-in dirs (*.d/), as they are in units/.
    cp -r --no-preserve=mode,ownership "$REPO"/units/* "$root/usr/lib/systemd/system/"
    install -D -m 0644 "$REPO/packaging/sysusers.d/dunebugger-units.conf" \
        "$root/usr/lib/sysusers.d/dunebugger-units.conf"
    install -D -m 0644 "$REPO/packaging/polkit/50-dunebugger-units.rules" \
        "$root/usr/share/polkit-1/rules.d/50-dunebugger-units.rules"
    # org.dunebugger.Updater1: its launcher, bus policy and activation file (docs/remote-dbus.md)
    install -D -m 0755 "$REPO/packaging/lib/dunebugger-updater1" "$root/usr/libexec/$PKG/dunebugger-updater1"
    install -D -m 0644 "$REPO/packaging/dbus/org.dunebugger.Updater1.conf" \
        "$root/usr/share/dbus-1/system.d/org.dunebugger.Updater1.conf"
    install -D -m 0644 "$REPO/packaging/dbus/org.dunebugger.Updater1.service" \
        "$root/usr/share/dbus-1/system-services/org.dunebugger.Updater1.service"
    install -D -m 0644 "$REPO/packaging/compose/remote.override.yml" "$doc/examples/remote.override.yml"
    install -D -m 0644 "$REPO/packaging/catalog/dunebugger-units.catalog" \
        "$root/usr/lib/systemd/catalog/dunebugger-units.catalog"
    install -D -m 0644 "$REPO/packaging/updater.yaml" "$root/etc/dunebugger/updater.yaml"
    install -D -m 0644 "$REPO/packaging/debian/lintian-overrides" "$root/usr/share/lintian/overrides/$PKG"
    install -D -m 0755 "$REPO/packaging/debian/rtupdate" "$root/usr/share/python3/runtime.d/$PKG.rtupdate"
    sed "s/@VERSION@/$version/" "$REPO/packaging/man/dunebugger-units.1" | gzip -9n >"$root/usr/share/man/man1/dunebugger-units.1.gz"
    # README.md stays uncompressed: the units' Documentation= points at this very path.
    install -m 0644 "$REPO/README.md" "$doc/README.md"
    install -D -m 0644 "$REPO/docs/remote-dbus.md" "$doc/docs/remote-dbus.md"
    install -m 0644 "$REPO/packaging/debian/copyright" "$doc/copyright"
    # A native package (its Debian packaging lives upstream): the changelog is changelog.gz.
    sed "s/@MAINTAINER@/$MAINTAINER/" "$REPO/packaging/debian/changelog" | gzip -9n >"$doc/changelog.gz"
}

# Units with an [Install] section are enabled; the timers among them are also started at once.
units_with_install() {
    grep -l '^WantedBy=' "$REPO"/units/*.service "$REPO"/units/*.timer 2>/dev/null | xargs -rn1 basename | sort
}

maintainer_scripts() {
    local control="$1"
    local enable start
    enable="$(units_with_install | tr '\n' ' ' | sed 's/ $//')"
    start="$(units_with_install | grep '\.timer$' | tr '\n' ' ' | sed 's/ $//')"
    [[ -n "$start" ]] || die "no timer with an [Install] section in units/"
    for script in postinst prerm postrm; do
        # The check service is stopped along with its timer (the timer alone would let a running check go on).
        sed -e "s/@ENABLE_UNITS@/$enable/" -e "s/@START_UNITS@/$start/" \
            -e "s/@STOP_UNITS@/$start ${start//.timer/.service}/" \
            "$REPO/packaging/debian/$script" >"$control/$script"
        chmod 0755 "$control/$script"
    done
}

control_files() {
    local root="$1" version="$2"
    local control="$root/DEBIAN" size
    install -d -m 0755 "$control"
    maintainer_scripts "$control"
    echo /etc/dunebugger/updater.yaml >"$control/conffiles"
    # dpkg-gencontrol's figure: the sum of the files in KiB (DEBIAN/ excluded).
    size="$(du -s -k --apparent-size --exclude=DEBIAN "$root" | cut -f1)"
    sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$ARCH/" -e "s/@INSTALLED_SIZE@/$size/" \
        -e "s/@MAINTAINER@/$MAINTAINER/" "$REPO/packaging/debian/control.in" >"$control/control"
    # md5sums of everything but the conffile (dpkg keeps conffile hashes in its own database).
    (cd "$root" && find . -type f ! -path './DEBIAN/*' ! -path './etc/*' -printf '%P\0' | LC_ALL=C sort -z \
        | xargs -0 md5sum) >"$control/md5sums"
    chmod 0644 "$control/control" "$control/conffiles" "$control/md5sums"
}

normalise_tree() {
    local root="$1" epoch="$2"
    find "$root" -type d -exec chmod 0755 {} +
    find "$root" -type f ! -path "$root/DEBIAN/*" ! -path "$root/usr/bin/*" ! -path "$root/usr/libexec/*" \
        ! -name '*.rtupdate' -exec chmod 0644 {} +
    find "$root" -exec touch -h -d "@$epoch" {} +
}

main() {
    local platform version epoch work root deb
    platform="$(wheel_platform "$ARCH")"
    version="$(project_version)"
    [[ "$(changelog_version)" == "$version" ]] ||
        die "packaging/debian/changelog starts at $(changelog_version), pyproject.toml says $version: add a changelog entry"
    epoch="$(changelog_epoch)"
    export SOURCE_DATE_EPOCH="$epoch"

    mkdir -p "$CACHE/wheels" "$OUTDIR"
    # One build at a time per cache: parallel test sessions share it.
    exec 9>"$CACHE/.lock"
    flock 9
    work="$(mktemp -d)"
    # shellcheck disable=SC2064  # expand $work now
    trap "rm -rf '$work'" EXIT
    root="$work/root"

    log "building $PKG $version for $ARCH ($platform)"
    pure_pyyaml_wheel
    project_wheel "$work/src" "$work/project-wheel"
    install_python_libraries "$root/$LIBDIR" "$platform" "$work/project-wheel"
    strip_objects "$root/$LIBDIR"
    install_files "$root" "$version"
    normalise_tree "$root" "$epoch"
    control_files "$root" "$version"
    normalise_tree "$root" "$epoch"

    deb="$OUTDIR/${PKG}_${version}_${ARCH}.deb"
    dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
    log "built $deb ($(du -h "$deb" | cut -f1))"
    echo "$deb"
}

main
