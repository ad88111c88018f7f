#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian 12 machine (run as root).
# Idempotent: every step checks or overwrites, so running it twice is cheap and safe.
# Only Debian's archive and PyPI are used: those are the only registries the machines reach.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV=/usr/local/lib/dunebugger-units/venv
PLUGIN=/usr/local/lib/docker/cli-plugins/docker-compose
export DEBIAN_FRONTEND=noninteractive
# The venv is read by units running as unprivileged users (the check's): everything we create must be world-readable.
umask 022

log() { printf '==> %s\n' "$*" >&2; }

install_debian_packages() {
    log "apt-get update and install of the test dependencies"
    apt-get update -q
    # docker.io/docker-registry: the real engine and a local registry, started only inside the harness
    # (the package's policy-rc.d keeps apt from starting them on the host).
    # busybox-static: the rootfs of test images (no internet, so no pulls from public registries).
    # The package's Build-Depends (debian/control; dpkg-buildpackage -b) and lintian: scripts/build-deb.sh and
    # tests/system/test_package.py. Debian's python3-requests, -urllib3 and the rest: the package runs on them,
    # and tests/integration/test_download_resume.py runs the download on them. mandoc, groff-base and man-db:
    # the man page is linted (tests/unit/test_man_page.py).
    # chromium and chromium-driver: the update panel (web/) is tested in a real headless browser, driven by
    # Debian's chromedriver (selenium is given its path, so it never downloads a driver of its own).
    apt-get install -y -q --no-install-recommends \
        docker.io docker-registry containerd runc busybox-static \
        python3 python3-venv python3-pip gnupg gpgv \
        systemd dbus polkitd util-linux iproute2 \
        ca-certificates curl tar xz-utils procps \
        lintian build-essential fakeroot debhelper dh-python python3-all libpython3-all-dev libsystemd-dev \
        pkgconf python3-setuptools python3-requests python3-urllib3 python3-yaml python3-ruamel.yaml \
        python3-click python3-packaging \
        chromium chromium-driver mandoc groff-base man-db
}

debian_mirror() {
    # The first main-archive URI of the machine's apt sources (deb822 .sources files or one-line lists).
    local uri
    uri="$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' \
        | grep -v -e security -e updates | head -n 1 || true)"
    if [[ -z "$uri" ]]; then
        uri="$(grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
            | grep -v -e security -e '\[.*\]' | awk '{print $2}' | head -n 1 || true)"
    fi
    [[ -n "$uri" ]] || { echo "no Debian mirror found in the apt sources" >&2; return 1; }
    printf '%s\n' "$uri"
}

compose_v2_installed() {
    # The harness uses Debian's /usr/bin/docker inside; ask that client when it is there.
    local docker_bin
    docker_bin="$(command -v /usr/bin/docker || command -v docker || true)"
    [[ -n "$docker_bin" ]] || return 1
    "$docker_bin" compose version 2>/dev/null | grep -Eq 'version v?2\.'
}

install_compose_plugin() {
    if compose_v2_installed; then
        log "docker compose v2 already present: $(/usr/bin/docker compose version 2>/dev/null || docker compose version)"
        return
    fi
    # Debian 12 only has compose v1 (Python). Debian 13's docker-compose package ships the v2 Go plugin,
    # a static binary that runs on 12. Fetch it with a throw-away apt state so the host's sources and
    # package lists stay untouched.
    log "fetching the compose v2 plugin from Debian 13's docker-compose package"
    local tmp
    tmp="$(mktemp -d)"
    # shellcheck disable=SC2064  # expand $tmp now: it is local to this function
    trap "rm -rf '$tmp'" RETURN
    # apt downloads as the unprivileged _apt user: it must be able to walk into the temp dir.
    chmod 0755 "$tmp"
    mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/etc/preferences.d" "$tmp/extract"
    # The same Debian mirror this machine already uses (from its own apt sources), trixie instead of bookworm.
    local mirror
    mirror="$(debian_mirror)"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" >"$tmp/sources.list"
    local -a apt_opts=(
        -o "Dir::Etc::SourceList=$tmp/sources.list"
        -o "Dir::Etc::SourceParts=-"
        -o "Dir::Etc::PreferencesParts=$tmp/etc/preferences.d"
        -o "Dir::State::Lists=$tmp/lists"
        -o "Dir::Cache=$tmp/cache"
        -o "Dir::Cache::pkgcache="
        -o "Dir::Cache::srcpkgcache="
        -o "APT::Architecture=amd64"
    )
    apt-get "${apt_opts[@]}" update -q
    # apt-get download writes into the current dir as _apt.
    install -d -m 0755 -o _apt "$tmp/download"
    (cd "$tmp/download" && apt-get "${apt_opts[@]}" download docker-compose)
    dpkg-deb -x "$tmp"/download/docker-compose_*.deb "$tmp/extract"
    install -D -m 0755 "$tmp/extract/usr/libexec/docker/cli-plugins/docker-compose" "$PLUGIN"
    log "installed $("$PLUGIN" version)"
}

install_venv() {
    log "project venv at $VENV"
    if [[ ! -x "$VENV/bin/python" ]]; then
        mkdir -p "$(dirname "$VENV")"
        # Debian's system Python, on purpose: it is what the device runs, and it exists at the same path
        # inside the harness (a pyenv shim would not).
        /usr/bin/python3 -m venv "$VENV"
    fi
    "$VENV/bin/python" -m pip install -q --upgrade pip
    # Build from a copy: a non-editable install from the work tree would leave build/ and *.egg-info in
    # it, and the README (declared in pyproject) may not exist yet while the project is young.
    local src
    src="$(mktemp -d)"
    # shellcheck disable=SC2064  # expand $src now: it is local to this function
    trap "rm -rf '$src'" RETURN
    cp -a "$REPO/pyproject.toml" "$REPO/dunebugger_units" "$src/"
    if [[ -f "$REPO/README.md" ]]; then cp -a "$REPO/README.md" "$src/"; else : >"$src/README.md"; fi
    # Not editable: units run unprivileged and must read an installed copy, not the work tree.
    "$VENV/bin/python" -m pip install -q --upgrade --force-reinstall --no-deps "$src"
    # [test] brings pytest-xdist (pinned in pyproject.toml): scripts/test.sh runs the suite on several workers.
    "$VENV/bin/python" -m pip install -q "$src[test]" pytest "ruff==0.17.6" "mypy==2.4.1" types-PyYAML types-requests  # linters pinned: a new rule must not fail CI by itself
    chmod -R a+rX "$(dirname "$VENV")"
    test -x "$VENV/bin/dunebugger-units"
    log "venv ready: $("$VENV/bin/python" --version), $("$VENV/bin/python" -m pytest --version 2>&1)"
}

install_debian_packages
install_compose_plugin
install_venv
log "done"
