"""Release lookup on GitHub's REST API: the only module that talks to GitHub.

Kind to the rate limit: conditional requests with the stored ETag (a 304 costs nothing when authenticated),
and a 403/429 with rate-limit headers becomes `RateLimited` with the time to wait for. The token is sent as a
header and never logged, stored or printed.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import CheckFailed, ConfigError, RateLimited
from .net import NetError, NetTimeout, Response, Session
from .versions import parse_version, strip_v

if TYPE_CHECKING:
    from collections.abc import Callable

    from .config import GithubConfig

T = TypeVar("T")
API_ATTEMPTS = 3  # tries of one API call that met a 5xx or a broken connection
MAX_RATE_WAIT = 60.0  # a rate limit lifting sooner is waited out within the check

USER_AGENT = "dunebugger-units/0.1 (+https://github.com/marco-svitol)"
CREDENTIAL_NAME = "github-token"
LIST_PAGE_SIZE = 50


@dataclass(frozen=True)
class Asset:
    name: str
    size: int
    url: str
    digest: str | None = None


@dataclass(frozen=True)
class Release:
    tag: str
    version: str
    name: str
    notes: str
    url: str
    published_at: str | None
    prerelease: bool
    assets: tuple[Asset, ...] = ()


@dataclass(frozen=True)
class Lookup:
    """What one lookup learnt: the chosen release (None: none published), and how it was obtained."""

    release: Release | None
    etag: str | None
    not_modified: bool = False
    skipped_tags: tuple[str, ...] = field(default_factory=tuple)


# ---- pure: JSON to releases -------------------------------------------------------------------------------


def _field(obj: Mapping[str, Any], key: str, kind: type, default: Any = ...) -> Any:
    value = obj.get(key, default)
    if value is ...:
        raise CheckFailed(f"release JSON has no {key!r}")
    if value is None and default is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise CheckFailed(f"release JSON field {key!r} is {type(value).__name__}, expected {kind.__name__}")
    return value


def parse_asset(obj: object) -> Asset:
    if not isinstance(obj, dict):
        raise CheckFailed("release JSON has an asset that is not an object")
    digest = _field(obj, "digest", str, None)
    return Asset(
        name=_field(obj, "name", str),
        size=_field(obj, "size", int, 0),
        url=_field(obj, "browser_download_url", str),
        digest=digest,
    )


def parse_release(obj: object) -> Release:
    """One release object of the API; wrong types and missing fields are a CheckFailed, never a crash."""
    if not isinstance(obj, dict):
        raise CheckFailed("release JSON is not an object")
    tag = _field(obj, "tag_name", str)
    assets = _field(obj, "assets", list, [])
    return Release(
        tag=tag,
        version=strip_v(tag),
        name=_field(obj, "name", str, None) or tag,
        notes=_field(obj, "body", str, None) or "",
        url=_field(obj, "html_url", str, None) or "",
        published_at=_field(obj, "published_at", str, None),
        prerelease=bool(_field(obj, "prerelease", bool, False)),
        assets=tuple(parse_asset(a) for a in assets),
    )


def choose_release(objs: list[Any], include_prerelease: bool) -> tuple[Release | None, tuple[str, ...]]:
    """The highest version among published releases; tags that are not versions are returned as skipped."""
    candidates: list[Release] = []
    skipped: list[str] = []
    for obj in objs:
        if isinstance(obj, dict) and obj.get("draft") is True:
            continue
        release = parse_release(obj)
        if release.prerelease and not include_prerelease:
            continue
        if parse_version(release.tag) is None:
            skipped.append(release.tag)
            continue
        candidates.append(release)
    if not candidates:
        return None, tuple(skipped)
    best = max(candidates, key=lambda r: parse_version(r.tag))  # type: ignore[arg-type,return-value]
    return best, tuple(skipped)


def sort_releases(objs: list[Any]) -> list[Release]:
    """Pure: published releases whose tags are versions, newest first."""
    releases = [parse_release(obj) for obj in objs if not (isinstance(obj, dict) and obj.get("draft") is True)]
    versioned = [(v, r) for r in releases if (v := parse_version(r.tag)) is not None]
    return [r for _, r in sorted(versioned, key=lambda pair: pair[0], reverse=True)]


def rate_limit_until(status: int, headers: Mapping[str, str], now: datetime) -> datetime | None:
    """When a 403/429 is GitHub's rate limit, the time it lifts; None when the reply is no rate limit."""
    if status not in (403, 429):
        return None
    retry_after = headers.get("retry-after")
    if retry_after:
        if retry_after.strip().isdigit():
            return now + timedelta(seconds=int(retry_after))
        try:
            return parsedate_to_datetime(retry_after).astimezone(UTC)
        except (TypeError, ValueError):
            pass
    reset = headers.get("x-ratelimit-reset", "")
    if headers.get("x-ratelimit-remaining") == "0" or (status == 429 and reset):
        if reset.strip().isdigit():
            return datetime.fromtimestamp(int(reset), UTC)
        return now + timedelta(minutes=1)
    if status == 429:
        return now + timedelta(minutes=1)
    return None


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# ---- I/O: the HTTP client ---------------------------------------------------------------------------------


def read_token(token_file: str | None) -> str | None:
    """The token from a systemd credential (LoadCredential=github-token:...) or from `token_file`."""
    creds = os.environ.get("CREDENTIALS_DIRECTORY")
    candidates = [Path(creds) / CREDENTIAL_NAME] if creds else []
    if token_file:
        candidates.append(Path(token_file))
    for path in candidates:
        try:
            token = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            if token_file and path == Path(token_file):
                raise ConfigError(f"github.token_file: {path} does not exist") from None
            continue
        except OSError as exc:
            raise ConfigError(f"github.token_file: reading {path}: {exc.strerror}") from None
        if token:
            return token
    return None


class GithubClient:
    """GitHub's API on one session: a connection kept alive across the calls of a check (one per worker
    thread). A call that meets a 5xx or a connection that broke (reset, cut short) is tried again, up to
    API_ATTEMPTS times; no network, a refused connection or a timeout is told at once. A rate
    limit that lifts within MAX_RATE_WAIT seconds is waited out, a longer one is RateLimited with its time."""

    def __init__(self, config: GithubConfig, token: str | None = None, retry_pause: float = 0.5) -> None:
        self.config = config
        self._token = token
        self.session = Session(config.timeout)
        self.retry_pause = retry_pause

    def releases_url(self, repo: str) -> str:
        base = f"{self.config.api_url.rstrip('/')}/repos/{self.config.owner}/{repo}/releases"
        if self.config.include_prerelease:
            return f"{base}?per_page={LIST_PAGE_SIZE}"
        return f"{base}/latest"

    def _headers(self, etag: str | None) -> dict[str, str]:
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": USER_AGENT,
        }
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        if etag:
            headers["If-None-Match"] = etag
        return headers

    def call(self, url: str, headers: dict[str, str], read: Callable[[Response], T]) -> T:
        """GET `url` and hand the answer to `read`, trying again as the class says. Raises CheckFailed with
        the reason (RateLimited when the limit lifts later than MAX_RATE_WAIT)."""
        failures, waited, last = 0, False, ""
        while failures < API_ATTEMPTS:
            try:
                with self.session.get_following(url, headers, self.config.redirect_hosts) as response:
                    until = rate_limit_until(response.status, response.headers, datetime.now(UTC))
                    if until is not None:
                        wait = (until - datetime.now(UTC)).total_seconds()
                        if waited or wait > MAX_RATE_WAIT:
                            raise RateLimited(iso(until))
                        waited = True
                        time.sleep(max(0.0, wait))
                        continue
                    if response.status < 500:
                        return read(response)
                    last = f"requesting {url}: GitHub answered HTTP {response.status}"
            except NetTimeout:
                # not tried again: a check that waits three timeouts holds its unit for minutes
                raise CheckFailed(f"no answer from {url} within {self.config.timeout:g} s") from None
            except NetError as exc:
                if not exc.transient:
                    raise CheckFailed(f"requesting {url} failed: {exc}") from None
                last = f"requesting {url} failed: {exc}"
            failures += 1
            if failures < API_ATTEMPTS:
                time.sleep(self.retry_pause * failures)
        raise CheckFailed(f"{last} ({API_ATTEMPTS} attempts)")

    def latest_release(self, repo: str, etag: str | None = None) -> Lookup:
        """GET the latest release (or the list, with prereleases); raises CheckFailed with the reason."""
        lookup = self.call(self.releases_url(repo), self._headers(etag), lambda r: self._interpret(r, etag))
        if lookup.release is None and not lookup.not_modified and lookup.etag is None:
            self._require_repository(repo)
        return lookup

    def _require_repository(self, repo: str) -> None:
        """/releases/latest answers 404 both for "no release yet" and for a repository that does not exist
        (a wrong owner or repo): only the second is an error."""
        url = f"{self.config.api_url.rstrip('/')}/repos/{self.config.owner}/{repo}"
        if self.call(url, self._headers(None), lambda r: r.status) == 404:
            raise CheckFailed(f"GitHub has no repository {self.config.owner}/{repo} (HTTP 404): check github.owner "
                              "and the component's repo")

    def _interpret(self, response: Response, etag: str | None) -> Lookup:
        status = response.status
        if status == 304 and etag:
            return Lookup(release=None, etag=etag, not_modified=True)
        if status == 404:
            # /releases/latest answers 404 when only prereleases (or nothing) are published
            return Lookup(release=None, etag=None)
        if status != 200:
            raise CheckFailed(f"GitHub answered HTTP {status}")
        data = self._read_json(response)
        objs = data if isinstance(data, list) else [data]
        release, skipped = choose_release(objs, self.config.include_prerelease)
        return Lookup(release=release, etag=response.headers.get("etag"), skipped_tags=skipped)

    def list_releases(self, repo: str) -> list[Release]:
        """Every published release (drafts and tags that are not versions left out), newest first; for
        `list` and for root's own lookup before an unattended update. Raises CheckFailed with the reason."""
        url = f"{self.config.api_url.rstrip('/')}/repos/{self.config.owner}/{repo}/releases?per_page=100"

        def read(response: Response) -> Any:
            if response.status == 404:  # no such repository: nothing published
                return []
            if response.status != 200:
                raise CheckFailed(f"listing the releases of {repo}: GitHub answered HTTP {response.status}")
            return self._read_json(response)

        data = self.call(url, self._headers(None), read)
        return sort_releases(data if isinstance(data, list) else [])

    def _read_json(self, response: Response) -> Any:
        try:
            return json.loads(read_capped(response, self.config.max_response_bytes, 2 * self.config.timeout))
        except ValueError:
            raise CheckFailed("GitHub answered with malformed JSON") from None

    def get_limited(self, url: str, headers: dict[str, str], cap: int) -> tuple[int, bytes]:
        """GET with a size cap: (status, body), the body read only for a 200."""
        return self.call(url, headers, lambda r: (r.status, read_capped(r, cap, 2 * self.config.timeout)
                                                  if r.status == 200 else b""))


def read_capped(response: Response, cap: int, seconds: float) -> bytes:
    """The body, at most `cap` bytes, within `seconds`: the timeout is per socket read, and a server that
    drips bytes is cut off by this deadline."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise CheckFailed(f"response of {declared} bytes is over the {cap}-byte cap")
    body = bytearray()
    deadline = time.monotonic() + seconds
    while chunk := response.read1(64 * 1024):
        body += chunk
        if len(body) > cap:
            raise CheckFailed(f"response is over the {cap}-byte cap")
        if time.monotonic() > deadline:
            raise CheckFailed(f"response took longer than {seconds:g} s")
    return bytes(body)


def fetch_release_by_version(client: GithubClient, repo: str, version: str) -> Release | None:
    """An explicit version's release (`v1.0.0`, else `1.0.0`), or None when GitHub has no such tag."""
    base = f"{client.config.api_url.rstrip('/')}/repos/{client.config.owner}/{repo}/releases/tags"
    for tag in (f"v{strip_v(version)}", strip_v(version)):
        status, body = client.get_limited(f"{base}/{tag}", client._headers(None), client.config.max_response_bytes)
        if status == 404:
            continue
        if status != 200:
            raise CheckFailed(f"looking up release {tag} of {repo}: GitHub answered HTTP {status}")
        try:
            return parse_release(json.loads(body))
        except ValueError:
            raise CheckFailed(f"looking up release {tag} of {repo}: malformed JSON") from None
    return None


def fetch_raw(client: GithubClient, url: str, cap: int) -> bytes | None:
    """A raw file of a release (the update manifest); None on 404."""
    status, body = client.get_limited(url, {"User-Agent": USER_AGENT}, cap + 1)
    if status == 404:
        return None
    if status != 200:
        raise CheckFailed(f"fetching {url}: HTTP {status}")
    return body
