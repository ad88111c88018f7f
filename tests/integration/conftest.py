"""The check as a person runs it: an unprivileged user (nobody) in a child process. Run as root, `check`
starts dunebugger-check.service instead (root never parses GitHub's answer), which needs a real systemd:
tests/system/test_check_unit.py proves that side."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kits.devicekit import Device

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
