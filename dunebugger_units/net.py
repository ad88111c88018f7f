"""HTTP GET on the standard library, for GitHub's API and the release downloads: one kept-alive connection per
host, reused by every request of a session, and the redirect rules of github.redirect_hosts.

Built on http.client rather than requests: a `check` must start fast on a Pi (docs/performance.md), and
importing requests with urllib3 costs more than the whole rest of the command. Bodies are never decoded (no
Accept-Encoding is sent), so what arrives is what the checksum sees.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from urllib.parse import urljoin, urlsplit

from .errors import CheckFailed

MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)
DRAIN_BYTES = 64 * 1024
UNREACHABLE = ("the host name does not resolve (DNS or no network)", "connection refused", "network unreachable")
# what a kept-alive connection the server has closed looks like when it is used again
STALE = (http.client.RemoteDisconnected, http.client.ImproperConnectionState, ConnectionError)


class NetError(Exception):
    """No (whole) answer: the connection failed, broke off or timed out. `transient`: it broke once made (a
    reset, an answer cut short), worth another try; a name that does not resolve or a refused connection
    is not."""

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


class NetTimeout(NetError):
    """No answer within the timeout."""


def net_error(exc: BaseException) -> NetError:
    """A socket or protocol failure as a NetError that says what happened in words."""
    if isinstance(exc, TimeoutError):
        return NetTimeout("timed out", transient=False)
    why = connection_failure(exc)
    return NetError(why, transient=why not in UNREACHABLE)


def connection_failure(exc: BaseException) -> str:
    """Why a request did not get an answer, in words: a name that does not resolve (DNS, no network) is not a
    server that refuses the connection."""
    text = str(exc)
    if any(s in text for s in ("Name or service not known", "Temporary failure in name resolution",
                               "nodename nor", "No address associated")):
        return "the host name does not resolve (DNS or no network)"
    if isinstance(exc, ConnectionRefusedError) or "Connection refused" in text:
        return "connection refused"
    if "Network is unreachable" in text or "No route to host" in text:
        return "network unreachable"
    if isinstance(exc, ConnectionResetError) or "reset by peer" in text:
        return "connection reset"
    if isinstance(exc, NetError):
        return str(exc)
    return type(exc).__name__


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


@dataclass
class Response:
    """One answer; the body is read with `read` or `read1`. Closing it before the body ends drops the
    connection (it cannot carry another request then)."""

    status: int
    headers: Mapping[str, str]  # names in lower case
    raw: http.client.HTTPResponse
    connection: http.client.HTTPConnection

    def read(self, limit: int | None = None) -> bytes:
        try:
            return self._whole(self.raw.read(limit))
        except (OSError, http.client.HTTPException) as exc:
            raise net_error(exc) from None

    def read1(self, limit: int) -> bytes:
        """Whatever has arrived, up to `limit`; b"" at the end of the body."""
        try:
            return self._whole(self.raw.read1(limit))
        except (OSError, http.client.HTTPException) as exc:
            raise net_error(exc) from None

    def _whole(self, data: bytes) -> bytes:
        """`data`, unless the connection closed before the length the answer announced."""
        if self.raw.isclosed() and self.raw.length:
            raise NetError(f"the connection closed {self.raw.length} bytes before the end")
        return data

    def close(self) -> None:
        """Done with the answer: a short unread rest (an error's message) is read so that the connection
        carries the next request; a long one drops the connection."""
        if self.raw.isclosed():
            return
        if self.raw.length is not None and self.raw.length <= DRAIN_BYTES:
            try:
                self.raw.read()
            except (OSError, http.client.HTTPException):
                self.connection.close()
            return
        self.connection.close()

    def __enter__(self) -> Response:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if kind is not None:
            # a stop (SIGTERM) or an error mid-body: never wait for the rest of a slow answer, drop the connection
            self.connection.close()
            return
        self.close()


@dataclass
class Session:
    """Kept-alive connections by scheme, host and port, one set per thread (a connection carries one request
    at a time); a stale one is replaced once, transparently."""

    timeout: float
    _local: threading.local = field(default_factory=threading.local)

    @property
    def _connections(self) -> dict[tuple[str, str, int | None], http.client.HTTPConnection]:
        if not hasattr(self._local, "connections"):
            self._local.connections = {}
        return self._local.connections  # type: ignore[no-any-return]  # set just above, per thread

    def _connection(self, scheme: str, host: str, port: int | None) -> http.client.HTTPConnection:
        key = (scheme, host, port)
        if key not in self._connections:
            if scheme == "https":
                import ssl  # deferred: most of a check's time would be TLS setup otherwise

                self._connections[key] = http.client.HTTPSConnection(
                    host, port, timeout=self.timeout, context=ssl.create_default_context())
            else:
                self._connections[key] = http.client.HTTPConnection(host, port, timeout=self.timeout)
        return self._connections[key]

    def get(self, url: str, headers: Mapping[str, str]) -> Response:
        """One GET, no redirect followed. Raises NetError when no answer came."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CheckFailed(f"requesting {url}: not an http(s) URL")
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        for fresh in (False, True):
            connection = self._connection(parts.scheme, parts.hostname, parts.port)
            reused = connection.sock is not None
            try:
                connection.request("GET", target, headers=dict(headers))
                raw = connection.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                # a kept-alive connection the server closed in the meantime: once more on a new one
                if reused and not fresh and isinstance(exc, STALE):
                    continue
                raise net_error(exc) from None
            return Response(raw.status, {k.lower(): v for k, v in raw.getheaders()}, raw, connection)
        raise NetError("connection reset")  # pragma: no cover - the loop returns or raises

    def get_following(self, url: str, headers: Mapping[str, str], redirect_hosts: tuple[str, ...]) -> Response:
        """GET `url`, following at most MAX_REDIRECTS redirects that `redirect_allowed` accepts. The token is
        dropped when a redirect leaves the host it was meant for."""
        headers = dict(headers)
        for _ in range(MAX_REDIRECTS + 1):
            response = self.get(url, headers)
            location = response.headers.get("location")
            if response.status not in REDIRECTS or not location:
                return response
            response.close()
            target = urljoin(url, location)
            if (why := redirect_allowed(url, target, redirect_hosts)) is not None:
                raise CheckFailed(f"requesting {url}: {why}")
            if urlsplit(target).hostname != urlsplit(url).hostname:
                headers = {k: v for k, v in headers.items() if k != "Authorization"}
            url = target
        raise CheckFailed(f"requesting {url}: more than {MAX_REDIRECTS} redirects")

    def close(self) -> None:
        """Close this thread's connections (a worker thread's are closed when it ends)."""
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
