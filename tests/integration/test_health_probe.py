"""The post-update HTTP probe (kinds/health.http_health) against a real loopback HTTP server: it waits for the
expected answer within its deadline, judges the version the service reports, and reads no more of an answer
than it needs."""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import threading
from collections.abc import Iterator

import pytest

from dunebugger_units.kinds.health import MAX_BODY, http_health


class Service(http.server.ThreadingHTTPServer):
    """Answers /health with each of `answers` in turn (status, body), then the last one again."""

    daemon_threads = True

    def __init__(self, answers: list[tuple[int, bytes]]) -> None:
        self.answers, self.asked, self.connections = answers, 0, set[int]()
        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/health"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Service

    def do_GET(self) -> None:
        status, body = self.server.answers[min(self.server.asked, len(self.server.answers) - 1)]
        self.server.asked += 1
        self.server.connections.add(self.client_address[1])
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the probe read what it needed
            self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def serve() -> Iterator[list[Service]]:
    started: list[Service] = []
    yield started
    for service in started:
        service.shutdown()
        service.server_close()


def running(serve: list[Service], answers: list[tuple[int, bytes]]) -> Service:
    service = Service(answers)
    threading.Thread(target=service.serve_forever, daemon=True).start()
    serve.append(service)
    return service


def version(v: str) -> bytes:
    return json.dumps({"version": v}).encode()


def test_it_waits_through_errors_for_the_expected_answer_on_one_connection(serve: list[Service]) -> None:
    service = running(serve, [(503, b"starting"), (503, b"starting"), (200, version("1.2.0"))])
    outcome = http_health(service.url, 200, "1.2.0", deadline=10, interval=0.05)
    assert outcome.ok, outcome.detail
    assert outcome.detail == f"{service.url} answered 200"
    assert service.asked == 3
    assert len(service.connections) == 1  # kept alive between the polls


def test_a_service_that_reports_another_version_fails_at_the_deadline(serve: list[Service]) -> None:
    service = running(serve, [(200, version("1.0.0"))])
    outcome = http_health(service.url, 200, "1.2.0", deadline=0.3, interval=0.05)
    assert not outcome.ok
    assert outcome.detail == f"{service.url}: it reports version 1.0.0, expected 1.2.0 within 0.3 s"
    assert service.asked >= 2


def test_an_answer_without_a_version_is_judged_by_its_status(serve: list[Service]) -> None:
    service = running(serve, [(202, b'{"status": "ok"}')])
    assert not http_health(service.url, 200, "1.2.0", deadline=0.1, interval=0.05).ok
    assert http_health(service.url, 202, "1.2.0", deadline=0.1, interval=0.05).ok
    empty = running(serve, [(200, b"")])  # asked for a version, an empty answer is no JSON object
    outcome = http_health(empty.url, 200, "1.2.0", deadline=0.1, interval=0.05)
    assert outcome.detail == f"{empty.url}: the answer is not a JSON object with a version within 0.1 s"


def test_nothing_listening_says_so(serve: list[Service]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # free now, and nothing listens on it
    outcome = http_health(f"http://127.0.0.1:{port}/health", 200, None, deadline=0.2, interval=0.05)
    assert not outcome.ok
    assert outcome.detail == f"http://127.0.0.1:{port}/health: no answer (connection refused) within 0.2 s"


def test_a_huge_answer_is_read_only_as_far_as_the_probe_needs(serve: list[Service]) -> None:
    body = b'{"padding": "' + b"x" * (16 * MAX_BODY) + b'", "version": "1.2.0"}'
    service = running(serve, [(200, body)])
    outcome = http_health(service.url, 200, None, deadline=5, interval=0.05)
    assert outcome.ok, outcome.detail
    # the version is judged from the first MAX_BODY bytes only: there this answer is no whole JSON object
    outcome = http_health(service.url, 200, "1.2.0", deadline=0.1, interval=0.05)
    assert outcome.detail == f"{service.url}: the answer is not a JSON object with a version within 0.1 s"


def test_a_url_that_is_not_http_fails_at_once() -> None:
    outcome = http_health("file:///etc/passwd", 200, None, deadline=30)
    assert not outcome.ok
    assert "not an http(s) URL" in outcome.detail
