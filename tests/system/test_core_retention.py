"""Retention across several core updates: `keep_backups` previous releases and tarball backups are kept,
never the running release or the one before it, and a later failed update still rolls back onto it."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from kits.corekit import publish_all, wait_healthy
from kits.devicekit import Device
from kits.harness import Harness
from kits.standin import GithubStandin

pytestmark = pytest.mark.updater(keep_backups=1, stability_seconds=2)


def update_to(h: Harness, gh: GithubStandin, version: str) -> dict[str, Any]:
    publish_all(gh, [version])
    h.run(["dunebugger-units", "check", "core"], check=False, timeout=60)
    time.sleep(1.1)  # backups are named by the second
    done = h.run(["dunebugger-units", "update", "core", "--json"], check=False, timeout=300)
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_retention_keeps_running_and_previous(core: Harness, gh: GithubStandin, device: Device) -> None:
    h = core
    for version in ("1.2.0", "1.2.1", "1.2.2"):
        assert update_to(h, gh, version)["message"] == f"Updated core to {version}"
    releases = device.root / "opt/dunebugger/core.releases"
    assert sorted(p.name for p in releases.iterdir() if not p.name.startswith(".")) == ["1.2.1", "1.2.2"]
    assert Path(os.readlink(device.core_dir)).name == "1.2.2"  # the install path links to the running release
    assert len(list(device.backup_dir.glob("core.*.tar.gz"))) == 1
    # a broken release still rolls back onto the kept previous one: 1.2.2, with its venv intact
    result = update_to(h, gh, "1.3.0")
    assert result["status"] == "rolled-back", result
    assert result["message"] == "Post-update checks failed, rolled back to v1.2.2"
    wait_healthy(h, "1.2.2")
    assert sorted(p.name for p in releases.iterdir() if not p.name.startswith(".")) == ["1.2.1", "1.2.2"]
