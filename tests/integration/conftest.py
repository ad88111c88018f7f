"""Fixtures of the integration tier: a device laid out in a dir others may enter, the check as a person runs it
(an unprivileged user, nobody, in a child process), and the update panel's browser, page server and remote.

Run as root, `check` starts dunebugger-check.service instead (root never parses GitHub's answer), which needs a
real systemd: tests/system/test_check_unit.py proves that side."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kits.devicekit import Device
from kits.webkit import PanelServer, Remote, chromium

REPO = Path(__file__).resolve().parents[2]
NOBODY = 65534

CheckRun = Callable[..., tuple[int, str, str]]


@pytest.fixture
def device() -> Iterator[Device]:
    """The device in a dir others may enter: pytest's own temporary dirs are root's alone (0700)."""
    top = Path(tempfile.mkdtemp(prefix="dunebugger-device-"))
    top.chmod(0o755)
    try:
        yield Device(top / "device").lay_out()
    finally:
        shutil.rmtree(top)


def as_nobody(*argv: str) -> subprocess.CompletedProcess[str]:
    """`python -m dunebugger_units ARGV` from this checkout, as nobody, in a clean environment."""
    return subprocess.run([sys.executable, "-m", "dunebugger_units", *argv], capture_output=True, text=True,
                          timeout=60, check=False, cwd="/", user=NOBODY, group=NOBODY, extra_groups=[],
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": "/nonexistent"})


@pytest.fixture
def check_as_user(device: Device) -> CheckRun:
    """`check_as_user(config, *args)`: `dunebugger-units --config CONFIG check ARGS` as nobody, who owns the
    device's check cache, as the check's own user does on a device. Returns (exit code, stdout, stderr)."""

    def run(config: Path, *args: str) -> tuple[int, str, str]:
        device.cache_dir.mkdir(parents=True, exist_ok=True)
        os.chown(device.cache_dir, NOBODY, NOBODY)
        readable = device.root / config.name  # a copy where nobody can read it
        shutil.copy(config, readable)
        readable.chmod(0o644)
        out = as_nobody("--config", str(readable), "check", *args)
        assert "Traceback" not in out.stderr, out.stderr
        return out.returncode, out.stdout, out.stderr

    return run


# ---- the update panel in a real headless Chromium (test_web_panel_loopback.py, test_web_panel_dropin.py) ----


@pytest.fixture
def remote() -> Iterator[Remote]:
    """The remote's side of the panel's WebSocket, played by the test."""
    remote = Remote()
    try:
        yield remote
    finally:
        remote.fake.stop()


@pytest.fixture
def server(remote: Remote) -> Iterator[PanelServer]:
    server = PanelServer(remote.fake.connect).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as driver:
        yield driver


@pytest.fixture
def driver(browser: Any) -> Iterator[Any]:
    """One Chromium for a module, in Rome's time zone; each test loads the page afresh and leaves the viewport
    and the media emulation as it found them."""
    browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "Europe/Rome"})
    yield browser
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    browser.get("about:blank")
