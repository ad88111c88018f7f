"""Root's staged copy of a release file, on a real filesystem: what is copied (the file and the checksum files
beside it), what is refused (a link, something that is not a regular file, a file over the cap), and the
request the update unit takes (only a release file's plain name in root's staging dir)."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from dunebugger_units.config import Config, parse_config
from dunebugger_units.errors import Refused
from dunebugger_units.fromfile import request_of, stage, staged_from_request


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return parse_config({"state_dir": str(tmp_path / "state")})


def usb(tmp_path: Path, files: dict[str, bytes]) -> Path:
    where = tmp_path / "usb"
    where.mkdir(exist_ok=True)
    for name, data in files.items():
        (where / name).write_bytes(data)
    return where


def test_the_file_and_the_checksums_beside_it_are_copied_into_roots_staging_dir(config: Config,
                                                                                 tmp_path: Path) -> None:
    where = usb(tmp_path, {"dunebugger-1.3.0.tar.gz": b"release", "dunebugger-1.3.0.tar.gz.sha256": b"sum",
                           "SHA256SUMS": b"sums", "SHA256SUMS.gpg": b"sig", "scheduler-1.3.0.tar": b"other"})
    staged = stage(config, config.component("core"), where / "dunebugger-1.3.0.tar.gz")
    assert (staged.component, staged.version, staged.source) == ("core", "1.3.0",
                                                                  str(where / "dunebugger-1.3.0.tar.gz"))
    assert staged.dir == tmp_path / "state/imports/core"
    assert sorted(p.name for p in staged.dir.iterdir()) == ["SHA256SUMS", "SHA256SUMS.gpg", "dunebugger-1.3.0.tar.gz",
                                                            "dunebugger-1.3.0.tar.gz.sha256"]
    assert staged.file.read_bytes() == b"release"
    assert staged.dir.stat().st_mode & 0o777 == 0o700
    # a second staging starts from an empty dir: nothing of the first is left to vouch for the second
    (where / "SHA256SUMS").unlink()
    again = stage(config, config.component("core"), where / "dunebugger-1.3.0.tar.gz")
    assert not (again.dir / "SHA256SUMS").exists()


def test_a_relative_path_is_staged_with_its_absolute_source(config: Config, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    where = usb(tmp_path, {"scheduler-2.0.0.tar": b"image"})
    monkeypatch.chdir(where)
    staged = stage(config, config.component("scheduler"), Path("scheduler-2.0.0.tar"))
    assert (staged.version, staged.source) == ("2.0.0", str(where / "scheduler-2.0.0.tar"))


def test_refusals_name_the_file_and_why(config: Config, tmp_path: Path) -> None:
    where = usb(tmp_path, {"real.tar.gz": b"release", "dunebugger-1.4.0.tar.gz": b"x" * 2048})
    (where / "dunebugger-1.3.0.tar.gz").symlink_to(where / "real.tar.gz")
    os.mkfifo(where / "dunebugger-1.5.0.tar.gz")
    core = config.component("core")
    cases = {
        "dunebugger-1.3.0.tar.gz": "it is a symbolic link, refused",
        "dunebugger-1.5.0.tar.gz": "not a regular file, refused",
        "dunebugger-1.6.0.tar.gz": "no such file",
        "dunebugger-latest.tar.gz": "the name gives no version (expected dunebugger-<version>.tar.gz)",
    }
    for name, why in cases.items():
        with pytest.raises(Refused, match=why.replace("(", r"\(").replace(")", r"\)")):
            stage(config, core, where / name)
    small = replace(config, update=replace(config.update, max_download_bytes=1024))
    with pytest.raises(Refused, match=r"over the 1024-byte cap \(update.max_download_bytes\)"):
        stage(small, core, where / "dunebugger-1.4.0.tar.gz")
    assert sorted(p.name for p in (tmp_path / "state/imports/core").iterdir()) == []  # no part file is left


def test_the_unit_takes_only_a_release_file_in_roots_staging_dir(config: Config, tmp_path: Path) -> None:
    where = usb(tmp_path, {"dunebugger-1.3.0.tar.gz": b"release"})
    core = config.component("core")
    staged = stage(config, core, where / "dunebugger-1.3.0.tar.gz")
    assert staged_from_request(config, core, request_of(staged)) == staged
    assert staged_from_request(config, core, {}) is None
    for bad in ({"file": "../../etc/shadow", "version": "1.3.0", "source": "/x"},
                {"file": "dunebugger-1.3.0.tar.gz", "version": "1.4.0", "source": "/x"},
                {"file": "dunebugger-1.3.0.tar.gz", "version": "1.3.0"}):
        with pytest.raises(Refused, match="installing core from a file: the request names"):
            staged_from_request(config, core, bad)
