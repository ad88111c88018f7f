"""Put dunebugger-units into a booted test systemd as the Debian package would lay it out.

The product's venv is the one `scripts/install-test-deps.sh` builds (a world-readable path: the check unit
runs as a DynamicUser). Inside the harness /usr is a copy-on-write overlay, so the console script is linked
to /usr/bin as on a device, and the project's own unit files (with their drop-in dirs) go to
/etc/systemd/system.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from harness import Harness

REPO = Path(__file__).resolve().parent.parent
UNITS = REPO / "units"
VENV = Path("/usr/local/lib/dunebugger-units/venv")
CONFIG = "/etc/dunebugger/updater.yaml"


def install_product(h: Harness, config: dict[str, Any] | None = None) -> None:
    """Link the console script, install every unit file and drop-in, write the configuration."""
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
    if config is not None:
        write_config(h, config)
    h.systemctl("daemon-reload")


def write_config(h: Harness, config: dict[str, Any]) -> None:
    h.write_file(CONFIG, yaml.safe_dump(config, sort_keys=False))


def unit_names() -> list[str]:
    return sorted(p.name for p in UNITS.iterdir() if p.is_file())
