"""files.atomic_write and its temp file (files.create_temp, mkstemp's contract without tempfile): the new file
appears whole or not at all, no temp file stays behind, and a name someone planted is never opened."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from dunebugger_units import files


def test_the_file_is_replaced_whole_and_no_temp_file_stays(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    target.write_text("old")
    files.atomic_write(target, b"new", mode=0o640)
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_without_a_mode_the_file_is_private(tmp_path: Path) -> None:
    target = tmp_path / "cache.json"
    files.atomic_write(target, b"{}")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "state.json"
    target.write_text("old")

    def no_rename(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", no_rename)
    with pytest.raises(OSError, match="No space left"):
        files.atomic_write(target, b"new")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_a_planted_link_under_the_next_temp_name_is_never_followed(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "secret"
    secret.write_text("root's")
    draws = iter([b"\x00" * 6, b"\x01" * 6])
    monkeypatch.setattr(os, "urandom", lambda n: next(draws))
    planted = tmp_path / f".state.json.{'00' * 6}.tmp"
    planted.symlink_to(secret)  # what another user guessed the first name to be
    files.atomic_write(tmp_path / "state.json", b"new")
    assert secret.read_text() == "root's"
    assert planted.is_symlink()  # untouched: the second name was taken instead
    assert (tmp_path / "state.json").read_bytes() == b"new"


def test_when_every_name_is_taken_it_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "urandom", lambda n: b"\x00" * n)
    (tmp_path / f".x.{'00' * 6}.tmp").write_text("taken")
    with pytest.raises(FileExistsError, match=f"no free temp file name in {tmp_path}"):
        files.create_temp(tmp_path, ".x.", ".tmp")
    assert os.listdir(tmp_path) == [f".x.{'00' * 6}.tmp"]
