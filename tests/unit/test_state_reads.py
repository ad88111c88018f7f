"""Root reads the check's cache as hostile input: never through a link, never blocking, never unbounded."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from dunebugger_units import state
from dunebugger_units.errors import StateError


def test_a_fifo_in_place_of_the_cache_is_refused_at_once(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / state.CACHE_FILE)
    outcome: list[BaseException | object] = []
    reader = threading.Thread(target=lambda: outcome.append(_try(lambda: state.load_cache(tmp_path))), daemon=True)
    reader.start()
    reader.join(5)
    assert not reader.is_alive(), "reading a FIFO cache blocked"
    assert isinstance(outcome[0], StateError)
    assert "not a regular file" in str(outcome[0])


def test_a_directory_in_place_of_the_cache_is_refused(tmp_path: Path) -> None:
    (tmp_path / state.CACHE_FILE).mkdir()
    with pytest.raises(StateError, match="not a regular file"):
        state.load_cache(tmp_path)


def test_a_link_in_place_of_the_cache_is_refused(tmp_path: Path) -> None:
    (tmp_path / "elsewhere.json").write_text('{"schema": 1, "components": {}}')
    (tmp_path / state.CACHE_FILE).symlink_to(tmp_path / "elsewhere.json")
    with pytest.raises(StateError, match="symbolic link"):
        state.load_cache(tmp_path)


def test_an_oversized_cache_is_refused(tmp_path: Path) -> None:
    (tmp_path / state.CACHE_FILE).write_bytes(b" " * (state.MAX_CACHE_BYTES + 1))
    with pytest.raises(StateError, match="larger than"):
        state.load_cache(tmp_path)


def test_a_regular_cache_reads(tmp_path: Path) -> None:
    (tmp_path / state.CACHE_FILE).write_text('{"schema": 1, "components": {"core": {"latest": "1.2.0"}}}')
    assert state.load_cache(tmp_path)["components"]["core"]["latest"] == "1.2.0"


def _try(read: object) -> object:
    try:
        return read()  # type: ignore[operator]
    except BaseException as exc:  # the thread hands the exception to the test
        return exc
