"""Streamed, capped, resumable download of a release asset, and its SHA-256 verification.

Asset downloads on GitHub answer with a redirect to another host: redirects are followed (at most a few) under
the GitHub client's rules (`net.Session.get_following`): only to the host asked or to `github.redirect_hosts`,
and never from https to a weaker scheme.
The file is streamed to `<dest>.part`; a broken connection, a 5xx or a stall (`update.stall_bytes_per_second`
for `update.stall_seconds`) is retried with `Range: bytes=<have>-` after a backoff, up to
`update.download_retries` times, so what arrived is kept (across runs too: the `.part` file stays until the
whole file is verified); a 4xx stops at once. Only a verified file is renamed to `dest`.
`parse_sha256_file`, `expected_sha256` and `StallWatch` are pure.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import CheckFailed, UnitsError
from .files import fsync_dir
from .net import NetError, NetTimeout, Response, Session

if TYPE_CHECKING:
    from .github import Asset

USER_AGENT = "dunebugger-units/0.1 (+https://github.com/marco-svitol)"
CHUNK = 64 * 1024
MAX_CHECKSUM_BYTES = 4096
MAX_PAUSE = 60.0  # the longest backoff between two tries of a download
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


def _get(session: Session, url: str, headers: dict[str, str], redirect_hosts: tuple[str, ...]) -> Response:
    """GET, following only the redirects the GitHub client would follow."""
    try:
        return session.get_following(url, {"User-Agent": USER_AGENT, **headers}, redirect_hosts)
    except CheckFailed as exc:
        raise DownloadError(str(exc)) from None


def fetch_small(url: str, max_bytes: int = MAX_CHECKSUM_BYTES, timeout: float = 15.0,
                redirect_hosts: tuple[str, ...] = ()) -> str:
    """A small text asset (the `.sha256` file), capped."""
    return fetch_bytes(url, max_bytes, timeout, redirect_hosts).decode("utf-8", "replace")


def fetch_bytes(url: str, max_bytes: int, timeout: float, redirect_hosts: tuple[str, ...]) -> bytes:
    """A small asset as it is (a signature is binary), capped."""
    try:
        with Session(timeout) as session, _get(session, url, {}, redirect_hosts) as response:
            if response.status != 200:
                raise DownloadError(f"downloading {url}: HTTP {response.status} {response.raw.reason}".rstrip())
            body = response.read(max_bytes + 1)
    except NetError as exc:
        raise DownloadError(f"downloading {url}: {exc}") from None
    if len(body) > max_bytes:
        raise DownloadError(f"downloading {url}: larger than {max_bytes} bytes")
    return bytes(body)


def sha256_of(path: Path) -> str:
    import hashlib  # deferred: a person's check imports this module, never hashes (docs/performance.md)

    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


class Stalled(NetError):
    """Less than the stall rate arrived over a whole stall window."""


@dataclass
class StallWatch:
    """Pure: has less than `rate` bytes a second arrived over the last whole `seconds`? A trickle is a stall
    as much as silence is."""

    rate: float
    seconds: float
    started: float
    got: int = 0

    def arrived(self, count: int, now: float) -> bool:
        """Count what arrived; True when the window that just ended was a stall."""
        self.got += count
        if now - self.started < self.seconds:
            return False
        stalled = self.got < self.rate * (now - self.started)
        self.started, self.got = now, 0
        return stalled


@dataclass
class Download:
    """One asset to fetch into `dest` (through `dest.part`), with its limits: a stall (below
    `stall_bytes_per_second` for `stall_seconds`) or a broken connection is resumed with Range after a
    backoff, up to `retries` times; a 4xx stops at once."""

    url: str
    dest: Path
    max_bytes: int
    timeout: float = 30.0
    retries: int = 5
    on_percent: Callable[[int], None] | None = None
    retry_pause: float = 1.0  # doubled at each retry, at most MAX_PAUSE
    redirect_hosts: tuple[str, ...] = ()  # besides the host asked (github.redirect_hosts)
    stall_bytes_per_second: int = 1024
    stall_seconds: float = 60.0

    @property
    def part(self) -> Path:
        return self.dest.with_name(self.dest.name + ".part")

    def run(self) -> Path:
        """Fetch until whole, resuming with Range after a break; return `part` (not yet verified)."""
        self.dest.parent.mkdir(parents=True, exist_ok=True)
        last = ""
        # silence is seen within one stall window: a read waits no longer than that
        with Session(min(self.timeout, self.stall_seconds)) as session:
            for attempt in range(self.retries + 1):
                if attempt:
                    time.sleep(min(MAX_PAUSE, self.retry_pause * 2 ** (attempt - 1)))
                try:
                    if self._attempt(session):
                        return self.part
                    last = "the connection closed early"
                except Stalled as exc:
                    last = str(exc)
                except NetError as exc:
                    last = f"the connection broke ({exc})"
        raise DownloadError(f"downloading {self.url}: {last}, after {self.retries} retries")

    def _attempt(self, session: Session) -> bool:
        """One GET (ranged when part of the file is here); True when the file is complete."""
        have = self.part.stat().st_size if self.part.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        with _get(session, self.url, headers, self.redirect_hosts) as response:
            status = response.status
            if status == 416 and have:
                # the server says we asked past the end: the part is suspect, start over
                self.part.unlink()
                return False
            if status >= 500:
                raise NetError(f"HTTP {status} {response.raw.reason}".rstrip())
            if status == 200:
                have = 0  # the server ignored Range: take the whole body again
            elif status != 206 or not have:
                raise DownloadError(f"downloading {self.url}: HTTP {status} {response.raw.reason}".rstrip())
            elif not response.headers.get("content-range", "").startswith(f"bytes {have}-"):
                raise DownloadError(f"downloading {self.url}: the server resumed at the wrong offset")
            total = self._total(response, have)
            return self._stream(response, have, total)

    def _total(self, response: Response, have: int) -> int | None:
        length = response.headers.get("content-length", "")
        total = have + int(length) if length.isdigit() else None
        if total is not None and total > self.max_bytes:
            raise DownloadError(f"downloading {self.url}: {total} bytes, over the {self.max_bytes}-byte cap")
        return total

    def _stream(self, response: Response, have: int, total: int | None) -> bool:
        mode = "ab" if have else "wb"
        done = have
        shown = -1
        watch = StallWatch(self.stall_bytes_per_second, self.stall_seconds, time.monotonic())
        flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | (os.O_APPEND if have else os.O_TRUNC)
        with os.fdopen(os.open(self.part, flags, 0o600), mode) as out:
            try:
                # read1: whatever has arrived, so a transfer that breaks off keeps every byte that came
                while chunk := self._read(response):
                    done += len(chunk)
                    if done > self.max_bytes:
                        raise DownloadError(f"downloading {self.url}: over the {self.max_bytes}-byte cap")
                    out.write(chunk)
                    if watch.arrived(len(chunk), time.monotonic()):
                        raise Stalled(f"stalled: below {self.stall_bytes_per_second} bytes/s for "
                                      f"{self.stall_seconds:g} s")
                    now = percent(done, total)
                    if now is not None and now != shown and self.on_percent is not None:
                        shown = now
                        self.on_percent(now)
            finally:
                out.flush()
                os.fsync(out.fileno())
        return total is None or done >= total

    def _read(self, response: Response) -> bytes:
        try:
            return response.read1(CHUNK)
        except NetTimeout:
            raise Stalled(f"stalled: nothing arrived for {min(self.timeout, self.stall_seconds):g} s") from None


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
