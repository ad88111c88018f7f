"""Streamed, capped, resumable download of a release asset, and its SHA-256 verification.

Asset downloads on GitHub answer with a redirect to another host: redirects are followed (at most a few) under
the GitHub client's rules (`github.open_following`): only to the host asked or to `github.redirect_hosts`, and
never from https to a weaker scheme.
The file is streamed to `<dest>.part`; a broken connection is retried with `Range: bytes=<have>-`, so what
arrived is kept (across runs too: the `.part` file stays until the whole file is verified). Only a verified
file is renamed to `dest`. `parse_sha256_file` and `expected_sha256` are pure.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import CheckFailed, UnitsError
from .files import fsync_dir

if TYPE_CHECKING:
    import requests

    from .github import Asset

USER_AGENT = "dunebugger-units/0.1 (+https://github.com/marco-svitol)"
CHUNK = 64 * 1024
MAX_CHECKSUM_BYTES = 4096
HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


class DownloadError(UnitsError):
    """The asset could not be fetched whole (network, size cap, server answer)."""


class ChecksumError(UnitsError):
    """The checksum is missing, unreadable, or does not match: the file is not used."""


@dataclass(frozen=True)
class Checksum:
    """The expected SHA-256 and where it came from (for the journal and the check outcome)."""

    sha256: str
    source: str


# ---- pure -------------------------------------------------------------------------------------------


def parse_sha256_file(text: str, asset_name: str) -> str | None:
    """The digest for `asset_name` in `sha256sum` output (`<hex>  name`, `<hex> *name`) or a bare digest.

    With several lines, only the one naming the asset counts; None when there is no usable line.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    for line in lines:
        parts = line.split(None, 1)
        digest = parts[0]
        if not HEX64.match(digest):
            continue
        if len(parts) == 1:
            if len(lines) == 1:
                return digest.lower()
            continue
        name = parts[1].strip().lstrip("*")
        if name == asset_name or os.path.basename(name) == asset_name:
            return digest.lower()
    return None


def parse_api_digest(digest: str | None) -> str | None:
    """GitHub's asset `digest` field, `sha256:<hex>`; None for anything else."""
    if not digest or not digest.lower().startswith("sha256:"):
        return None
    value = digest.split(":", 1)[1]
    return value.lower() if HEX64.match(value) else None


def find_asset(assets: tuple[Asset, ...], name: str) -> Asset | None:
    return next((a for a in assets if a.name == name), None)


def expected_sha256(api_digest: str | None, sidecar: str | None, asset_name: str) -> list[Checksum]:
    """Every checksum the release offers for the asset (`.sha256` file, API digest): all must match."""
    found: list[Checksum] = []
    if sidecar is not None:
        digest = parse_sha256_file(sidecar, asset_name)
        if digest is None:
            raise ChecksumError(f"reading {asset_name}.sha256: no SHA-256 line for {asset_name}")
        found.append(Checksum(digest, f"{asset_name}.sha256"))
    api = parse_api_digest(api_digest)
    if api is not None:
        found.append(Checksum(api, "the release's asset digest"))
    return found


def percent(done: int, total: int | None) -> int | None:
    if not total:
        return None
    return min(100, done * 100 // total)


# ---- I/O --------------------------------------------------------------------------------------------


def _get(url: str, headers: dict[str, str], timeout: float, redirect_hosts: tuple[str, ...]) -> requests.Response:
    """GET (streamed), following only the redirects the GitHub client would follow."""
    from .config import GithubConfig
    from .github import open_following

    try:
        return open_following(url, {"User-Agent": USER_AGENT, **headers},
                              GithubConfig(timeout=timeout, redirect_hosts=redirect_hosts))
    except CheckFailed as exc:
        raise DownloadError(str(exc)) from None


def fetch_small(url: str, max_bytes: int = MAX_CHECKSUM_BYTES, timeout: float = 15.0,
                redirect_hosts: tuple[str, ...] = ()) -> str:
    """A small text asset (the `.sha256` file), capped."""
    return fetch_bytes(url, max_bytes, timeout, redirect_hosts).decode("utf-8", "replace")


def fetch_bytes(url: str, max_bytes: int, timeout: float, redirect_hosts: tuple[str, ...]) -> bytes:
    """A small asset as it is (a signature is binary), capped."""
    import requests  # deferred: keeps `--help` fast on a Pi

    try:
        with _get(url, {}, timeout, redirect_hosts) as response:
            if response.status_code != 200:
                raise DownloadError(f"downloading {url}: HTTP {response.status_code}")
            body = response.raw.read(max_bytes + 1, decode_content=True)
    except requests.RequestException as exc:
        raise DownloadError(f"downloading {url}: {type(exc).__name__}") from None
    if len(body) > max_bytes:
        raise DownloadError(f"downloading {url}: larger than {max_bytes} bytes")
    return bytes(body)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class Download:
    """One asset to fetch into `dest` (through `dest.part`), with its limits."""

    url: str
    dest: Path
    max_bytes: int
    timeout: float = 30.0
    attempts: int = 4
    on_percent: Callable[[int], None] | None = None
    retry_pause: float = 1.0
    redirect_hosts: tuple[str, ...] = ()  # besides the host asked (github.redirect_hosts)

    @property
    def part(self) -> Path:
        return self.dest.with_name(self.dest.name + ".part")

    def run(self) -> Path:
        """Fetch until whole, resuming with Range after a break; return `part` (not yet verified)."""
        import requests  # deferred: keeps `--help` fast on a Pi
        import urllib3  # deferred, as requests

        self.dest.parent.mkdir(parents=True, exist_ok=True)
        last = ""
        for attempt in range(self.attempts):
            if attempt:
                time.sleep(self.retry_pause * attempt)
            try:
                if self._attempt():
                    return self.part
                last = "the connection closed early"
            except (requests.RequestException, urllib3.exceptions.HTTPError, ConnectionError) as exc:
                last = f"{type(exc).__name__}"
        raise DownloadError(f"downloading {self.url}: {last} after {self.attempts} attempts")

    def _attempt(self) -> bool:
        """One GET (ranged when part of the file is here); True when the file is complete."""
        have = self.part.stat().st_size if self.part.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        with _get(self.url, headers, self.timeout, self.redirect_hosts) as response:
            if response.status_code == 416 and have:
                # the server says we asked past the end: the part is suspect, start over
                self.part.unlink()
                return False
            if response.status_code == 200:
                have = 0  # the server ignored Range: take the whole body again
            elif response.status_code != 206 or not have:
                raise DownloadError(f"downloading {self.url}: HTTP {response.status_code}")
            elif not response.headers.get("content-range", "").startswith(f"bytes {have}-"):
                raise DownloadError(f"downloading {self.url}: the server resumed at the wrong offset")
            total = self._total(response, have)
            return self._stream(response, have, total)

    def _total(self, response: requests.Response, have: int) -> int | None:
        length = response.headers.get("content-length", "")
        total = have + int(length) if length.isdigit() else None
        if total is not None and total > self.max_bytes:
            raise DownloadError(f"downloading {self.url}: {total} bytes, over the {self.max_bytes}-byte cap")
        return total

    def _stream(self, response: requests.Response, have: int, total: int | None) -> bool:
        mode = "ab" if have else "wb"
        done = have
        shown = -1
        flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | (os.O_APPEND if have else os.O_TRUNC)
        with os.fdopen(os.open(self.part, flags, 0o600), mode) as out:
            try:
                # read1: whatever has arrived, so a transfer that breaks off keeps every byte that came
                # (iter_content would wait for a whole chunk and lose the tail of a short answer)
                while chunk := read_arrived(response.raw):
                    done += len(chunk)
                    if done > self.max_bytes:
                        raise DownloadError(f"downloading {self.url}: over the {self.max_bytes}-byte cap")
                    out.write(chunk)
                    now = percent(done, total)
                    if now is not None and now != shown and self.on_percent is not None:
                        shown = now
                        self.on_percent(now)
            finally:
                out.flush()
                os.fsync(out.fileno())
        return total is None or done >= total


def read_arrived(raw: Any) -> bytes:  # raw: urllib3's HTTPResponse, 1.26 or 2.x
    """Up to CHUNK bytes of whatever has arrived, undecoded; b"" at the end of the body.

    urllib3 2.x has `read1`. urllib3 1.26 (Debian 12's) has not, and its `read(n)` waits for n bytes, losing
    what came when the connection then breaks; the http.client response it wraps has `read1`, and with
    decoding off urllib3 would only pass the bytes through. A socket error there is what urllib3 2.x would
    report as a broken connection, so it becomes one (and is retried with Range).
    """
    read1 = getattr(raw, "read1", None)
    if read1 is not None:
        return bytes(read1(CHUNK, decode_content=False))
    try:
        return bytes(raw._fp.read1(CHUNK))
    except (OSError, http.client.HTTPException) as exc:
        raise ConnectionError(f"reading the body: {type(exc).__name__}") from exc


def download_verified(download: Download, checksums: list[Checksum], allow_missing: bool) -> Path:
    """Fetch, check every checksum, then rename to `dest`; a mismatch deletes the file and raises."""
    if not checksums and not allow_missing:
        raise ChecksumError(f"no checksum published for {download.dest.name} (neither a .sha256 asset nor "
                            "a digest); refused (update.allow_missing_checksum is off)")
    if download.dest.exists() and checksums and all(sha256_of(download.dest) == c.sha256 for c in checksums):
        return download.dest  # verified earlier (a dry run, or a run that stopped after preflight)
    download.dest.unlink(missing_ok=True)
    part = download.run()
    actual = sha256_of(part)
    for checksum in checksums:
        if actual != checksum.sha256:
            part.unlink(missing_ok=True)
            raise ChecksumError(f"verifying {download.dest.name}: SHA-256 {actual[:12]}… does not match "
                                f"{checksum.sha256[:12]}… from {checksum.source}")
    os.replace(part, download.dest)
    fsync_dir(download.dest.parent)
    return download.dest
