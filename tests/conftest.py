"""Fixtures shared by every tier: the GitHub stand-in and a device laid out under a temporary directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from kits.buildonce import SHARED
from kits.devicekit import Device
from kits.standin import GithubStandin


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On pytest-xdist workers (scripts/test.sh), system tests first: the long ones start at once, and the many
    short unit and integration tests fill the gaps at the end. A run in one process keeps the file order."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        system = Path(__file__).parent / "system"
        items.sort(key=lambda item: system not in item.path.parents)


@pytest.fixture(scope="session", autouse=True)
def shared_builds(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Where the run's workers keep what one builds for all (kits/buildonce.py): the run's temp dir, above
    each worker's own."""
    base = tmp_path_factory.getbasetemp()
    os.environ[SHARED] = str(base.parent / "shared" if os.environ.get("PYTEST_XDIST_WORKER") else base / "shared")


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
