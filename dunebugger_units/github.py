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
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from .errors import CheckFailed, ConfigError, RateLimited
from .versions import parse_version, strip_v

if TYPE_CHECKING:
    import requests

    from .config import GithubConfig

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


def redirect_allowed(origin: str, target: str, extra_hosts: tuple[str, ...]) -> str | None:
    """Pure: None when following `origin` -> `target` is fine, else why not. The scheme may not get weaker
    (https -> http) or leave http(s), and the host must be the one asked or one the config allows."""
    src, dst = urlsplit(origin), urlsplit(target)
    if dst.scheme not in ("http", "https"):
        return f"a redirect to a {dst.scheme or 'relative'!s} URL is refused"
    if src.scheme == "https" and dst.scheme != "https":
        return "a redirect from https to http is refused"
    if dst.hostname != src.hostname and dst.hostname not in extra_hosts:
        return f"a redirect to host {dst.hostname} is refused (not in github.redirect_hosts)"
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
    def __init__(self, config: GithubConfig, token: str | None = None) -> None:
        self.config = config
        self._token = token

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

    def latest_release(self, repo: str, etag: str | None = None) -> Lookup:
        """GET the latest release (or the list, with prereleases); raises CheckFailed with the reason."""
        import requests  # deferred: keeps `--help` fast on a Pi

        url = self.releases_url(repo)
        try:
            with open_following(url, self._headers(etag), self.config) as response:
                lookup = self._interpret(response, etag)
        except requests.Timeout:
            raise CheckFailed(f"no answer from {url} within {self.config.timeout:g} s") from None
        except requests.RequestException as exc:
            raise CheckFailed(f"requesting {url} failed: {connection_failure(exc)}") from None
        if lookup.release is None and not lookup.not_modified and lookup.etag is None:
            self._require_repository(repo)
        return lookup

    def _require_repository(self, repo: str) -> None:
        """/releases/latest answers 404 both for "no release yet" and for a repository that does not exist
        (a wrong owner or repo): only the second is an error."""
        import requests  # deferred: keeps `--help` fast on a Pi

        url = f"{self.config.api_url.rstrip('/')}/repos/{self.config.owner}/{repo}"
        try:
            with open_following(url, self._headers(None), self.config) as response:
                status = response.status_code
        except requests.RequestException as exc:
            raise CheckFailed(f"requesting {url} failed: {connection_failure(exc)}") from None
        if status == 404:
            raise CheckFailed(f"GitHub has no repository {self.config.owner}/{repo} (HTTP 404): check github.owner "
                              "and the component's repo")

    def _interpret(self, response: requests.Response, etag: str | None) -> Lookup:
        status = response.status_code
        if status == 304 and etag:
            return Lookup(release=None, etag=etag, not_modified=True)
        until = rate_limit_until(status, response.headers, datetime.now(UTC))
        if until is not None:
            raise RateLimited(iso(until))
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
        import requests  # deferred: keeps `--help` fast on a Pi

        url = f"{self.config.api_url.rstrip('/')}/repos/{self.config.owner}/{repo}/releases?per_page=100"
        try:
            with open_following(url, self._headers(None), self.config) as response:
                until = rate_limit_until(response.status_code, response.headers, datetime.now(UTC))
                if until is not None:
                    raise RateLimited(iso(until))
                if response.status_code == 404:  # no such repository: nothing published
                    return []
                if response.status_code != 200:
                    raise CheckFailed(f"listing the releases of {repo}: GitHub answered HTTP {response.status_code}")
                data = self._read_json(response)
        except requests.Timeout:
            raise CheckFailed(f"no answer from {url} within {self.config.timeout:g} s") from None
        except requests.RequestException as exc:
            raise CheckFailed(f"requesting {url} failed ({type(exc).__name__})") from None
        return sort_releases(data if isinstance(data, list) else [])

    def _read_json(self, response: requests.Response) -> Any:
        cap = self.config.max_response_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise CheckFailed(f"response of {declared} bytes is over the {cap}-byte cap")
        body = bytearray()
        # the read timeout is per socket read; a server that drips bytes is cut off by this deadline
        deadline = time.monotonic() + 2 * self.config.timeout
        for chunk in response.iter_content(64 * 1024):
            body += chunk
            if len(body) > cap:
                raise CheckFailed(f"response is over the {cap}-byte cap")
            if time.monotonic() > deadline:
                raise CheckFailed(f"response took longer than {2 * self.config.timeout:g} s")
        try:
            return json.loads(body)
        except ValueError:
            raise CheckFailed("GitHub answered with malformed JSON") from None


MAX_REDIRECTS = 5


def connection_failure(exc: Exception) -> str:
    """Why a request did not get an answer, in words: a name that does not resolve (DNS, no network) is not a
    server that refuses the connection."""
    text = str(exc)
    if any(s in text for s in ("NameResolutionError", "Name or service not known", "Temporary failure in name "
                                                                                     "resolution", "nodename nor")):
        return "the host name does not resolve (DNS or no network)"
    if "Connection refused" in text:
        return "connection refused"
    if "Network is unreachable" in text or "No route to host" in text:
        return "network unreachable"
    return type(exc).__name__


def open_following(url: str, headers: dict[str, str], config: GithubConfig) -> requests.Response:
    """GET `url` (streamed), following at most MAX_REDIRECTS redirects that `redirect_allowed` accepts.

    The token is dropped when a redirect leaves the host it was meant for.
    """
    import requests  # deferred: keeps `--help` fast on a Pi

    for _ in range(MAX_REDIRECTS + 1):
        response = requests.get(url, headers=headers, timeout=config.timeout, stream=True, allow_redirects=False)
        location = response.headers.get("location")
        if response.status_code not in (301, 302, 303, 307, 308) or not location:
            return response
        response.close()
        target = urljoin(url, location)
        if (why := redirect_allowed(url, target, config.redirect_hosts)) is not None:
            raise CheckFailed(f"requesting {url}: {why}")
        if urlsplit(target).hostname != urlsplit(url).hostname:
            headers = {k: v for k, v in headers.items() if k != "Authorization"}
        url = target
    raise CheckFailed(f"requesting {url}: more than {MAX_REDIRECTS} redirects")


def _get_limited(url: str, headers: dict[str, str], config: GithubConfig, cap: int) -> tuple[int, bytes]:
    """GET with a size cap; returns (status, body). Raises CheckFailed on network errors."""
    import requests  # deferred: keeps `--help` fast on a Pi

    timeout = config.timeout
    try:
        with open_following(url, headers, config) as response:
            body = bytearray()
            if response.status_code == 200:
                for chunk in response.iter_content(64 * 1024):
                    body += chunk
                    if len(body) > cap:
                        raise CheckFailed(f"{url}: larger than {cap} bytes")
            return response.status_code, bytes(body)
    except requests.Timeout:
        raise CheckFailed(f"no answer from {url} within {timeout:g} s") from None
    except requests.RequestException as exc:
        raise CheckFailed(f"requesting {url} failed: {connection_failure(exc)}") from None


def fetch_release_by_version(client: GithubClient, repo: str, version: str) -> Release | None:
    """An explicit version's release (`v1.0.0`, else `1.0.0`), or None when GitHub has no such tag."""
    base = f"{client.config.api_url.rstrip('/')}/repos/{client.config.owner}/{repo}/releases/tags"
    for tag in (f"v{strip_v(version)}", strip_v(version)):
        status, body = _get_limited(f"{base}/{tag}", client._headers(None), client.config,
                                    client.config.max_response_bytes)
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
    status, body = _get_limited(url, {"User-Agent": USER_AGENT}, client.config, cap + 1)
    if status == 404:
        return None
    if status != 200:
        raise CheckFailed(f"fetching {url}: HTTP {status}")
    return body
