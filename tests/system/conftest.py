"""System tier: every test here runs against a throw-away real systemd (see tests/harness)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import INSTALL_HINT, Harness, missing_dependencies


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.system)


@pytest.fixture(scope="session")
def system_deps() -> None:
    """Fail, never skip: a system tier that silently skips proves nothing."""
    missing = missing_dependencies()
    if missing:
        pytest.fail(f"system tests need {', '.join(missing)}; {INSTALL_HINT}", pytrace=False)


@pytest.fixture
def harness(system_deps: None, tmp_path: Path) -> Iterator[Harness]:
    h = Harness.boot(tmp_path / "harness")
    try:
        yield h
    finally:
        h.poweroff()


@pytest.fixture
def docker_harness(system_deps: None, tmp_path: Path) -> Iterator[Harness]:
    h = Harness.boot(tmp_path / "harness", docker=True)
    try:
        yield h
    finally:
        h.poweroff()
