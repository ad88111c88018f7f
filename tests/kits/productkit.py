"""Put dunebugger-units into a booted test systemd as the Debian package would lay it out.

The product's venv is the one `scripts/install-test-deps.sh` builds (a world-readable path: the check unit
runs as its own unprivileged system user). Inside the harness /usr is a copy-on-write overlay, so the console
script is linked to /usr/bin as on a device, and the project's own unit files (with their drop-in dirs) go
to /etc/systemd/system.
"""

from __future__ import annotations

import compileall
import json
import os
import shutil
import sys
import weakref
from pathlib import Path
from typing import Any

import yaml

from kits.buildonce import built
from kits.harness import Harness
from kits.harness.images import copy_into

REPO = Path(__file__).resolve().parents[2]
UNITS = REPO / "units"
SHOW_LOCK = "/run/dunebugger/updates.lock"
VENV = Path("/usr/local/lib/dunebugger-units/venv")
CONFIG = "/etc/dunebugger/updater.yaml"
STATE_DIR = "/var/lib/dunebugger-units"  # the default of `state_dir`


def _built_package() -> Path:
    """This checkout's dunebugger_units with its bytecode, built once per run (kits/buildonce.py)."""
    with built("package") as (out, there):
        if not there:
            partial = out.with_name("package.partial")
            shutil.rmtree(partial, ignore_errors=True)
            shutil.copytree(REPO / "dunebugger_units", partial, ignore=shutil.ignore_patterns("__pycache__"))
            compileall.compile_dir(partial, quiet=1)
            partial.rename(out)
    return out


def _site_packages() -> Path:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    found = sorted((VENV / "lib").glob("python3.*/site-packages"))
    return found[0] if found else VENV / "lib" / version / "site-packages"


def install_package(h: Harness) -> None:
    """Put this checkout's package into the harness's copy-on-write /usr, over the venv's installed copy.

    Each harness then runs the code of the checkout that booted it: two checkouts (or two branches) can run
    their system tests side by side without reinstalling one shared venv under each other.
    """
    site = h.path(str(_site_packages()))
    target = site / "dunebugger_units"
    shutil.rmtree(target, ignore_errors=True)
    copy_into(_built_package(), target)


def install_product(h: Harness, config: dict[str, Any] | None = None) -> None:
    """Link the console script, install every unit file and drop-in, write the configuration."""
    install_package(h)
    target = h.path("/usr/bin/dunebugger-units")
    target.unlink(missing_ok=True)
    target.symlink_to(VENV / "bin" / "dunebugger-units")
    for item in sorted(UNITS.iterdir()):
        if item.is_file():
            h.write_file(f"/etc/systemd/system/{item.name}", item.read_bytes())
        elif item.is_dir():
            for dropin in sorted(item.iterdir()):
                h.write_file(f"/etc/systemd/system/{item.name}/{dropin.name}", dropin.read_bytes())
    sysusers = REPO / "packaging" / "sysusers.d" / "dunebugger-units.conf"
    h.write_file("/usr/lib/sysusers.d/dunebugger-units.conf", sysusers.read_bytes())
    h.run(["systemd-sysusers", "/usr/lib/sysusers.d/dunebugger-units.conf"])
    install_updater1(h)  # after sysusers: dbus-daemon resolves the policy's group when it reads it
    if config is not None:
        write_config(h, config)
    h.systemctl("daemon-reload")


LIBEXEC = "/usr/libexec/dunebugger-units"


def install_updater1(h: Harness) -> None:
    """The entry points the units run (org.dunebugger.Updater1, the file protocol) as the package lays them out:
    launchers on the venv's python; then the bus policy and the activation file, and dbus-daemon reads them
    again (it resolves the group `dunebugger` only then)."""
    for launcher in sorted((REPO / "packaging/lib").glob("dunebugger-*")):
        if launcher.name == "dunebugger-units":
            continue
        text = launcher.read_text().replace("#!/usr/bin/python3 -I", f"#!{VENV}/bin/python -I", 1)
        h.write_file(f"{LIBEXEC}/{launcher.name}", text, mode=0o755)
    h.write_file("/usr/share/dbus-1/system.d/org.dunebugger.Updater1.conf",
                 (REPO / "packaging/dbus/org.dunebugger.Updater1.conf").read_bytes())
    h.write_file("/usr/share/dbus-1/system-services/org.dunebugger.Updater1.service",
                 (REPO / "packaging/dbus/org.dunebugger.Updater1.service").read_bytes())
    h.run(["busctl", "call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
           "ReloadConfig"])


def write_config(h: Harness, config: dict[str, Any]) -> None:
    h.write_file(CONFIG, yaml.safe_dump(config, sort_keys=False))


def unit_names() -> list[str]:
    return sorted(p.name for p in UNITS.iterdir() if p.is_file())


# What `history --json` last showed in each harness, with the result files it was read from.
_HISTORY: weakref.WeakKeyDictionary[Harness, tuple[tuple[tuple[str, int, int], ...], list[dict[str, Any]]]] = (
    weakref.WeakKeyDictionary())


def _result_files(h: Harness) -> tuple[tuple[str, int, int], ...] | None:
    """The result files `history` reads (name, mtime, size), seen from the host; None when they cannot be."""
    try:
        config = yaml.safe_load(h.path(CONFIG).read_text())
        results = h.path(str(config.get("state_dir", STATE_DIR))) / "results"
        if not results.exists():  # no result yet
            return ()
        return tuple(sorted((e.name, e.stat().st_mtime_ns, e.stat().st_size) for e in os.scandir(results)))
    except (OSError, AttributeError, yaml.YAMLError):
        return None


def history(h: Harness, action: str | None = None) -> list[dict[str, Any]]:
    """Every result `dunebugger-units history --json` shows inside `h` (of `action` only, when given), newest
    first.

    Tests poll this while they wait for a result: the command runs again only once the result files it reads
    have changed, so a poll costs a directory listing, not a Python process inside the harness.
    """
    files, seen = _result_files(h), _HISTORY.get(h)
    if files is not None and seen is not None and seen[0] == files:
        rows = seen[1]
    else:
        rows = json.loads(h.run(["dunebugger-units", "history", "--json", "-n", "1000"]).stdout)
        if files is not None:  # listed before the command ran: a result it already saw only makes the next call run
            _HISTORY[h] = (files, rows)
    return [r for r in rows if action is None or r["action"] == action]


def take_show_lock(h: Harness) -> int:
    """A show: a real unit holding a real flock on the show lock (the README's one line). Returns its PID."""
    h.run(["mkdir", "-p", "/run/dunebugger"])
    h.run(["systemd-run", "--unit=dunebugger-show", "--collect", "flock", SHOW_LOCK, "sleep", "600"])

    def holder() -> int:
        pid = int(h.systemctl("show", "-P", "MainPID", "dunebugger-show.service").stdout.strip() or 0)
        held = h.run(["flock", "--nonblock", SHOW_LOCK, "true"], check=False).returncode != 0
        return pid if pid and held else 0

    return h.wait_for(holder, 30, "the show to hold the show lock")
