"""Downloading a release asset from the loopback GitHub stand-in: redirects, Range resume, caps, checksums."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest
from kits.standin import GithubStandin

from dunebugger_units.download import (
    Checksum,
    ChecksumError,
    Download,
    DownloadError,
    download_verified,
    fetch_small,
)

NAME = "dunebugger-1.2.0.tar.gz"


def publish(standin: GithubStandin, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    sidecar = f"{digest}  {NAME}\n".encode()
    standin.add_release("dunebugger", "v1.2.0", assets={NAME: data, f"{NAME}.sha256": sidecar})
    return f"/download/dunebugger/v1.2.0/{NAME}"


def test_interrupted_download_resumes_with_range(standin: GithubStandin, tmp_path: Path) -> None:
    data = os.urandom(300_000)
    path = publish(standin, data)
    standin.drop_after[path] = 120_000  # the first answer breaks off part-way
    seen: list[int] = []
    got = download_verified(Download(standin.url + "/redirect" + path, tmp_path / NAME, 10**7, retry_pause=0,
                                     on_percent=seen.append),
                            [Checksum(hashlib.sha256(data).hexdigest(), "test")], allow_missing=False)
    assert got.read_bytes() == data
    ranges = [s.headers.get("range") for s in standin.requests_to(f"/download/dunebugger/v1.2.0/{NAME}")]
    assert ranges[0] is None
    assert ranges[-1] is not None and ranges[-1].startswith("bytes=") and ranges[-1] != "bytes=0-"
    assert int(ranges[-1][6:-1]) > 0
    assert seen[-1] == 100
    assert not (tmp_path / f"{NAME}.part").exists()


def test_part_file_from_an_earlier_run_is_resumed(standin: GithubStandin, tmp_path: Path) -> None:
    data = os.urandom(100_000)
    path = publish(standin, data)
    (tmp_path / f"{NAME}.part").write_bytes(data[:40_000])
    download_verified(Download(standin.url + path, tmp_path / NAME, 10**7),
                      [Checksum(hashlib.sha256(data).hexdigest(), "test")], allow_missing=False)
    assert standin.requests_to(path)[0].headers["range"] == "bytes=40000-"
    assert (tmp_path / NAME).read_bytes() == data


def test_size_cap_stops_the_download(standin: GithubStandin, tmp_path: Path) -> None:
    path = publish(standin, b"x" * 50_000)
    with pytest.raises(DownloadError, match="cap"):
        Download(standin.url + path, tmp_path / NAME, max_bytes=10_000).run()


def test_mismatch_is_refused_and_the_file_is_removed(standin: GithubStandin, tmp_path: Path) -> None:
    path = publish(standin, b"real content")
    with pytest.raises(ChecksumError, match="does not match"):
        download_verified(Download(standin.url + path, tmp_path / NAME, 10**6),
                          [Checksum("0" * 64, "x.sha256")], allow_missing=False)
    assert list(tmp_path.iterdir()) == []


def test_missing_checksum_is_refused_before_downloading(standin: GithubStandin, tmp_path: Path) -> None:
    path = publish(standin, b"content")
    with pytest.raises(ChecksumError, match="allow_missing_checksum"):
        download_verified(Download(standin.url + path, tmp_path / NAME, 10**6), [], allow_missing=False)
    assert not standin.requests_to(path)
    assert download_verified(Download(standin.url + path, tmp_path / NAME, 10**6), [], allow_missing=True)


def test_not_found_is_a_download_error(standin: GithubStandin, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="HTTP 404"):
        Download(standin.url + "/download/nothing", tmp_path / NAME, 10**6, retries=0).run()


def test_sidecar_fetch_follows_redirects(standin: GithubStandin) -> None:
    publish(standin, b"content")
    text = fetch_small(f"{standin.url}/redirect/download/dunebugger/v1.2.0/{NAME}.sha256")
    assert text.endswith(f"  {NAME}\n")


def test_a_small_file_cut_in_half_keeps_the_half_that_came(standin: GithubStandin, tmp_path: Path) -> None:
    data = os.urandom(1400)  # smaller than one read: the bytes that came must not be lost with the error
    path = publish(standin, data)
    standin.drop_after[path] = 700
    download_verified(Download(standin.url + path, tmp_path / NAME, 10**6, retry_pause=0),
                      [Checksum(hashlib.sha256(data).hexdigest(), "test")], allow_missing=False)
    ranges = [s.headers.get("range") for s in standin.seen if s.path == path]
    assert ranges == [None, "bytes=700-"]
    assert (tmp_path / NAME).read_bytes() == data


# Debian 12's own interpreter, as the package runs on it.
DEBIAN_PYTHON = "/usr/bin/python3"
ON_DEBIAN_LIBRARIES = """
import hashlib, sys
sys.path.insert(0, sys.argv[1])
from dunebugger_units.download import Checksum, Download, download_verified
url, dest, digest = sys.argv[2:]
download_verified(Download(url, __import__("pathlib").Path(dest), 10**6, retry_pause=0),
                  [Checksum(digest, "test")], allow_missing=False)
print("sys" if "requests" not in sys.modules else "requests")
"""


@pytest.mark.parametrize("size, cut", [(1400, 700), (300_000, 120_000)], ids=["within-one-read", "many-reads"])
def test_a_broken_off_download_resumes_on_debians_python(
    standin: GithubStandin, tmp_path: Path, size: int, cut: int
) -> None:
    """On the packaged interpreter, what came before the break is kept, only the rest is asked for, and the
    download needs no requests."""
    data = os.urandom(size)
    path = publish(standin, data)
    standin.drop_after[path] = cut
    repo = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [DEBIAN_PYTHON, "-I", "-c", ON_DEBIAN_LIBRARIES, str(repo), standin.url + "/redirect" + path,
         str(tmp_path / NAME), hashlib.sha256(data).hexdigest()],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "sys", result.stdout
    ranges = [s.headers.get("range") for s in standin.seen if s.path == path]
    assert ranges == [None, f"bytes={cut}-"]
    assert (tmp_path / NAME).read_bytes() == data
