"""A loopback stand-in for GitHub: the releases API, asset downloads (with redirects and Range) and raw files.

The only stand-in the tests use: GitHub is the outside world we cannot reach. It speaks enough of the real API
(ETag / If-None-Match / 304, rate-limit headers, 404 for /releases/latest without a full release) and can be
told to misbehave per repository.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

OWNER = "marco-svitol"


class SocketGone(Exception):
    """The listening socket was closed under the server: the test systemd whose network it was in is gone."""


class QuietServer(ThreadingHTTPServer):
    """Clients that hang up early (timeouts, size caps) are expected here: no tracebacks on stderr.

    A harness closes the sockets it made when it powers off or its power is cut. A server still polling such a
    socket would be woken at once, every time, and spin a core until the test ends: it stops serving instead.
    """

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass

    def get_request(self) -> tuple[socket.socket, Any]:
        try:
            return super().get_request()
        except OSError as exc:
            if exc.errno in (errno.EBADF, errno.ENOTSOCK, errno.EINVAL):
                raise SocketGone(str(exc)) from None
            raise

    def serve_until_gone(self) -> None:
        with contextlib.suppress(SocketGone):
            self.serve_forever()


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class GithubStandin:
    """Releases per repo; `faults[repo]` names a misbehaviour for that repo's API calls."""

    releases: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)
    raw: dict[str, bytes] = field(default_factory=dict)
    faults: dict[str, str] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    drop_after: dict[str, int] = field(default_factory=dict)  # blob path -> bytes to send, then hang up
    # blob path -> (bytes sent at full speed, seconds between the single bytes that follow): a stall by a
    # trickle, once (the next answer for the path is whole)
    trickle_after: dict[str, tuple[int, float]] = field(default_factory=dict)
    # repo -> faults answered one per API call, before `faults` applies (None: answer normally)
    fault_queue: dict[str, list[str | None]] = field(default_factory=dict)
    owner: str | None = None  # when set, another owner's repositories do not exist (404), as on GitHub
    server: QuietServer | None = None
    thread: threading.Thread | None = None
    latency: float = 0.0  # seconds added to every API answer: GitHub is not on loopback
    in_flight: int = 0
    max_in_flight: int = 0
    _count_lock: threading.Lock = field(default_factory=threading.Lock)

    # ---- content ------------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def add_release(
        self,
        repo: str,
        tag: str,
        *,
        prerelease: bool = False,
        draft: bool = False,
        body: str = "",
        assets: dict[str, bytes] | None = None,
        digests: bool = True,
    ) -> dict[str, Any]:
        entries = []
        for name, data in (assets or {}).items():
            path = f"/download/{repo}/{tag}/{name}"
            self.blobs[path] = data
            entry = {"name": name, "size": len(data), "browser_download_url": f"{self.url}{path}"}
            if digests:
                entry["digest"] = "sha256:" + hashlib.sha256(data).hexdigest()
            entries.append(entry)
        release = {
            "tag_name": tag,
            "name": tag,
            "html_url": f"https://github.com/{OWNER}/{repo}/releases/tag/{tag}",
            "body": body or f"Notes for {tag}",
            "draft": draft,
            "prerelease": prerelease,
            "published_at": "2026-11-01T10:00:00Z",
            "assets": entries,
        }
        # GitHub lists newest first; tests add in any order, the client must not rely on it
        self.releases.setdefault(repo, []).insert(0, release)
        return release

    def add_raw(self, repo: str, tag: str, name: str, data: bytes) -> None:
        self.raw[f"/raw/{OWNER}/{repo}/{tag}/{name}"] = data

    def requests_to(self, fragment: str) -> list[Seen]:
        return [s for s in self.seen if fragment in s.path]

    # ---- lifecycle ----------------------------------------------------------------------------------------
    def start(self, sock: socket.socket | None = None) -> GithubStandin:
        handler = _make_handler(self)
        if sock is None:
            self.server = QuietServer(("127.0.0.1", 0), handler)
        else:
            # a socket made elsewhere, e.g. inside a test systemd's network namespace
            self.server = QuietServer(sock.getsockname()[:2], handler, bind_and_activate=False)
            self.server.socket.close()
            self.server.socket = sock
            self.server.server_address = sock.getsockname()[:2]
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_until_gone, name="github-standin", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def _make_handler(standin: GithubStandin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # the headers and the body go out in two writes: with Nagle's algorithm the body waits for the
        # client's delayed ACK of the headers, a stall of up to 40 ms per answer that GitHub does not have
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            standin.seen.append(Seen("GET", self.path, {k.lower(): v for k, v in self.headers.items()}))
            if path.startswith("/repos/"):
                self._api(path)
            elif path.startswith("/redirect/"):
                self._send(302, b"", {"Location": standin.url + path.removeprefix("/redirect")})
            elif path in standin.blobs:
                self._blob(path)
            elif path in standin.raw:
                self._send(200, standin.raw[path], {"Content-Type": "text/plain"})
            else:
                self._send(404, b'{"message": "Not Found"}')

        def _api(self, path: str) -> None:
            parts = path.strip("/").split("/")  # repos/{owner}/{repo}[/releases[/latest]]
            if len(parts) < 3 or (standin.owner is not None and parts[1] != standin.owner):
                self._send(404, b'{"message": "Not Found"}')
                return
            if len(parts) == 3:  # the repository itself: every repository of the owner exists
                self._send(200, json.dumps({"full_name": f"{parts[1]}/{parts[2]}"}).encode(),
                           {"Content-Type": "application/json"})
                return
            if parts[3] != "releases":
                self._send(404, b'{"message": "Not Found"}')
                return
            repo = parts[2]
            with standin._count_lock:
                standin.in_flight += 1
                standin.max_in_flight = max(standin.max_in_flight, standin.in_flight)
            try:
                self._releases(parts, repo)
            finally:
                with standin._count_lock:
                    standin.in_flight -= 1

        def _releases(self, parts: list[str], repo: str) -> None:
            if standin.latency:
                time.sleep(standin.latency)
            queued = standin.fault_queue.get(repo)
            if self._fault(queued.pop(0) if queued else standin.faults.get(repo)):
                return
            releases = standin.releases.get(repo, [])
            if len(parts) == 6 and parts[4] == "tags":
                match = [r for r in releases if r["tag_name"] == parts[5] and not r["draft"]]
                if match:
                    self._send(200, json.dumps(match[0]).encode(), {"Content-Type": "application/json"})
                else:
                    self._send(404, b'{"message": "Not Found"}')
                return
            if parts[-1] == "latest":
                full = [r for r in releases if not r["draft"] and not r["prerelease"]]
                if not full:
                    self._send(404, b'{"message": "Not Found"}')
                    return
                body = json.dumps(full[0]).encode()
            else:
                body = json.dumps(releases).encode()
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            if self.headers.get("If-None-Match") == etag:
                self._send(304, b"", {"ETag": etag})
                return
            self._send(200, body, {"ETag": etag, "Content-Type": "application/json"})

        def _fault(self, fault: str | None) -> bool:
            if fault is None:
                return False
            reset = str(int(time.time()) + 3600)
            if fault == "ratelimit403":
                self._send(403, b'{"message": "API rate limit exceeded"}',
                           {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset})
            elif fault == "ratelimit429":
                self._send(429, b'{"message": "slow down"}', {"Retry-After": "120"})
            elif fault == "500":
                self._send(500, b'{"message": "boom"}')
            elif fault == "ratelimit403-soon":  # the limit lifts within a second or two
                self._send(403, b'{"message": "API rate limit exceeded"}',
                           {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time()) + 1)})
            elif fault == "reset":  # the connection dropped before any answer
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
            elif fault == "cut-body":  # the connection dropped in the middle of the answer
                self.send_response(200)
                self.send_header("Content-Length", "1000")
                self.end_headers()
                self.wfile.write(b'{"tag_name": "v9.9.9", ')
                self.close_connection = True
            elif fault == "timeout":
                time.sleep(3)
                self._send(200, b"[]")
            elif fault == "truncated":
                self._send(200, b'{"tag_name": "v9.9.9", "assets": [', {"Content-Type": "application/json"})
            elif fault == "huge":
                self._send(200, b"[" + b" " * (8 * 1024 * 1024) + b"]")
            elif fault == "missingfields":
                self._send(200, b'{"name": "no tag here", "assets": []}')
            elif fault == "redirect-other-host":
                self._send(302, b"", {"Location": "https://other.invalid/releases/latest"})
            elif fault == "redirect-file":
                self._send(302, b"", {"Location": "file:///etc/passwd"})
            elif fault == "redirect-loop":
                self._send(302, b"", {"Location": self.path})
            elif fault == "notjson":
                self._send(200, b"<html>not json</html>", {"Content-Type": "text/html"})
            elif fault == "wrongtypes":
                self._send(200, b'{"tag_name": 12, "assets": "none"}')
            else:
                raise AssertionError(f"unknown fault {fault}")
            return True

        def _blob(self, path: str) -> None:
            data = standin.blobs[path]
            start = 0
            rng = self.headers.get("Range", "")
            if rng.startswith("bytes=") and rng.endswith("-"):
                start = int(rng[6:-1])
            status = 206 if start else 200
            headers = {"Content-Type": "application/octet-stream", "Accept-Ranges": "bytes"}
            if start:
                headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
            chunk = data[start:]
            trickle = standin.trickle_after.pop(path, None)
            if trickle is not None:
                self._trickle(status, chunk, headers, *trickle)
                return
            limit = standin.drop_after.pop(path, None)
            if limit is not None:
                # announce the whole body, send part of it, hang up: an interrupted download
                self._send(status, chunk[:limit], headers, length=len(chunk))
                self.close_connection = True
                return
            self._send(status, chunk, headers)

        def _trickle(self, status: int, chunk: bytes, headers: dict[str, str], fast: int, pause: float) -> None:
            """Announce the whole body, send `fast` bytes, then one byte every `pause` s until the client
            hangs up."""
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(chunk)))
            self.end_headers()
            self.close_connection = True
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(chunk[:fast])
                self.wfile.flush()
                for index in range(fast, len(chunk)):
                    time.sleep(pause)
                    self.wfile.write(chunk[index:index + 1])
                    self.wfile.flush()

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None,
                  length: int | None = None) -> None:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body) if length is None else length))
            self.end_headers()
            if self.command != "HEAD":
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

    return Handler
