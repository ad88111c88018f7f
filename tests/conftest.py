"""Fixtures shared by every tier: the GitHub stand-in and a device laid out under a temporary directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from devicekit import Device
from standin import GithubStandin


@pytest.fixture
def standin() -> Iterator[GithubStandin]:
    server = GithubStandin().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def device(tmp_path: Path) -> Device:
    return Device(tmp_path / "device").lay_out()
