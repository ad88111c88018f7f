"""The update panel (web/) in a real headless Chromium: a small server for the page, and the browser.

PanelServer serves web/ over HTTP on 127.0.0.1 and passes `/ws` through, byte for byte, to a WebSocket
upstream: the remote stand-in inside a test systemd (`lambda: h.connect_tcp(PORT)`), or a FakeRemote that
plays messages a test chose. The browser is Debian's chromium driven by its chromedriver through selenium.
"""

from __future__ import annotations

import contextlib
import json
import mimetypes
import queue
import socket
import socketserver
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "web"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-default-apps", "--disable-extensions", "--hide-scrollbars"]
TYPES = {".js": "text/javascript", ".html": "text/html; charset=utf-8", ".png": "image/png", ".css": "text/css"}


class PanelServer:
    """web/ over HTTP, and /ws tunnelled to `upstream()` (a fresh socket per browser connection)."""

    def __init__(self, upstream: Callable[[], socket.socket], host: str = "127.0.0.1", port: int = 0) -> None:
        self.upstream = upstream
        self.tunnels: set[socket.socket] = set()
        self.lock = threading.Lock()
        server = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                server._handle(self.request)

        self.server = socketserver.ThreadingTCPServer((host, port), Handler, bind_and_activate=False)
        self.server.allow_reuse_address = True
        self.server.daemon_threads = True
        self.server.server_bind()
        self.server.server_activate()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> PanelServer:
        threading.Thread(target=self.server.serve_forever, name="panel-server", daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.drop()

    def drop(self) -> None:
        """Cut every open WebSocket, as the remote's own update does when it recreates the remote."""
        with self.lock:
            tunnels, self.tunnels = self.tunnels, set()
        for sock in tunnels:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _handle(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            chunk = client.recv(4096)
            if not chunk:
                return
            head += chunk
        request_line, _, headers = head.partition(b"\r\n")
        parts = request_line.decode("latin-1").split()
        path = parts[1] if len(parts) == 3 else "/"
        if path.split("?", maxsplit=1)[0] == "/ws" and b"upgrade: websocket" in headers.lower():
            self._tunnel(client, head)
        else:
            self._static(client, path)

    def _static(self, client: socket.socket, path: str) -> None:
        name = path.split("?", maxsplit=1)[0].lstrip("/") or "demo.html"
        file = (WEB / name).resolve()
        if WEB.resolve() not in file.parents or not file.is_file():
            client.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        data = file.read_bytes()
        kind = TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        client.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {len(data)}\r\n"
                       "Cache-Control: no-store\r\nConnection: close\r\n\r\n".encode() + data)

    def _tunnel(self, client: socket.socket, head: bytes) -> None:
        try:
            up = self.upstream()
        except OSError:
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        up.settimeout(None)
        client.settimeout(None)
        with self.lock:
            self.tunnels |= {client, up}
        up.sendall(head)
        pump = threading.Thread(target=_pump, args=(up, client), daemon=True)
        pump.start()
        _pump(client, up)
        pump.join(timeout=5)
        with self.lock:
            self.tunnels -= {client, up}
        up.close()


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    for sock in (src, dst):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class FakeRemote:
    """A WebSocket server on loopback that records what the page sends and answers as `script` says.

    script(message) returns the replies to one message (it may also push later ones with `send`).
    """

    def __init__(self, script: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None) -> None:
        self.script = script or (lambda message: [])
        self.received: queue.Queue[dict[str, Any]] = queue.Queue()
        self.connections: list[ServerConnection] = []
        self.server = serve(self._session, "127.0.0.1", 0)
        threading.Thread(target=self.server.serve_forever, name="fake-remote", daemon=True).start()

    @property
    def port(self) -> int:
        return int(self.server.socket.getsockname()[1])

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=5)

    def _session(self, ws: ServerConnection) -> None:
        self.connections.append(ws)
        with contextlib.suppress(ConnectionClosed):  # a test cut the tunnel: the page reconnects
            for raw in ws:
                message = json.loads(raw)
                self.received.put(message)
                for reply in self.script(message):
                    ws.send(json.dumps(reply))

    def send(self, subject: str, body: Any, destination: str = "broadcast") -> None:
        """Push a message to every open connection."""
        for ws in list(self.connections):
            with contextlib.suppress(Exception):
                ws.send(json.dumps({"subject": subject, "body": body, "source": "controller",
                                    "destination": destination}))

    def next(self, subject: str, timeout: float = 10) -> dict[str, Any]:
        """The next message the page sent with this subject (others before it are dropped)."""
        end = time.monotonic() + timeout
        while True:
            message = self.received.get(timeout=max(0.01, end - time.monotonic()))
            if message.get("subject") == subject:
                return message

    def stop(self) -> None:
        self.server.shutdown()


def reply(subject: str, body: Any, destination: str = "broadcast") -> dict[str, Any]:
    return {"subject": subject, "body": body, "source": "controller", "destination": destination}


def components(**overrides: dict[str, Any]) -> dict[str, Any]:
    base = {
        "remote": {"current": "1.0.0", "latest": "1.0.0", "update_available": False, "release_notes": "",
                   "last_checked": "2026-12-02T00:00:00Z", "release_url": None, "published_at": None,
                   "error": None},
        "scheduler": {"current": "1.0.0", "latest": "1.2.0", "update_available": True,
                      "release_notes": "## Fixes\n\n- faster **start**", "last_checked": "2026-12-02T00:00:00Z",
                      "release_url": "https://github.com/marco-svitol/dunebugger-scheduler/releases/tag/v1.2.0",
                      "published_at": "2026-11-30T10:00:00Z", "error": None},
        "core": {"current": "1.0.0", "latest": "1.0.0", "update_available": False, "release_notes": "",
                 "last_checked": "2026-12-02T00:00:00Z", "release_url": None, "published_at": None,
                 "error": None},
    }
    for name, fields in overrides.items():
        base[name] = {**base[name], **fields}
    return {"components": base}


class Remote:
    """A FakeRemote that answers every check with `self.check` and is told what to say to the rest."""

    def __init__(self) -> None:
        self.check: dict[str, Any] = components()
        self.on_update: Callable[[dict[str, Any]], list[dict[str, Any]]] = lambda message: []
        self.fake = FakeRemote(self._script)

    def _script(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        if message["subject"] == "updater.check_updates":
            return [reply("update_check_result", self.check, message["connectionId"])]
        return self.on_update(message)


@contextlib.contextmanager
def chromium(width: int = 1000, height: int = 900) -> Iterator[Any]:
    """Debian's headless chromium through its chromedriver (selenium never downloads a driver: both paths given)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not Path(path).exists()]
    if missing:  # fail, never skip
        raise RuntimeError(f"the browser tests need {', '.join(missing)}; run `bash scripts/install-test-deps.sh`")

    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"]:
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        try:
            yield driver
        finally:
            driver.quit()


class Page:
    """The demo page with the panel, as a test sees it (the panel's nodes live in its open shadow root)."""

    ROOT = "const root = document.querySelector('dunebugger-updates').shadowRoot;"

    def __init__(self, driver: Any, url: str) -> None:
        self.driver = driver
        driver.get(url)
        self.wait(lambda: self.js("return root.querySelector('section') !== null"), 10, "the panel to render")

    def js(self, body: str, *args: Any) -> Any:
        return self.driver.execute_script(self.ROOT + body, *args)

    def wait(self, predicate: Callable[[], Any], timeout: float, what: str) -> Any:
        end = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > end:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}; panel: {self.text()!r}")
            time.sleep(0.05)

    def text(self, selector: str = "section") -> str:
        return str(self.js("const n = root.querySelector(arguments[0]); return n ? n.innerText : '';", selector))

    def row(self, component: str) -> str:
        return self.text(f"li[data-component={component}]")

    def result(self, component: str) -> dict[str, str] | None:
        return self.js("""const r = root.querySelector(`li[data-component=${arguments[0]}] .result`);
            return r && !r.hidden ? {kind: r.dataset.kind, tone: r.dataset.tone, text: r.innerText} : null;""",
                       component)  # type: ignore[no-any-return]

    def wait_result(self, component: str, timeout: float = 60) -> dict[str, str]:
        return self.wait(lambda: self.result(component), timeout, f"a result for {component}")  # type: ignore[no-any-return]

    def button(self, component: str, action: str) -> Any:
        host = self.driver.find_element("css selector", "dunebugger-updates")
        return host.shadow_root.find_element("css selector", f"li[data-component={component}] "
                                                             f"button[data-action={action}]")

    def enabled(self) -> list[str]:
        """component:action of every enabled button in the rows."""
        return self.js("""return [...root.querySelectorAll('li.row button:not([disabled])')]
            .map((b) => `${b.closest('li').dataset.component}:${b.dataset.action}`);""")  # type: ignore[no-any-return]

    def sent(self) -> list[dict[str, Any]]:
        return [t["message"] for t in self.driver.execute_script("return window.dunebuggerDemo.trace")
                if t["direction"] == "→"]

    def received(self) -> list[dict[str, Any]]:
        return [t["message"] for t in self.driver.execute_script("return window.dunebuggerDemo.trace")
                if t["direction"] == "←"]

    def badge(self, component: str) -> str:
        return self.text(f"li[data-component={component}] .badge")

    def events(self, *types: str) -> list[dict[str, Any]]:
        """The panel's events the demo page heard on `document` ({type, detail, bubbles, composed}), in order."""
        fired = self.driver.execute_script("return window.dunebuggerDemo.events")
        return [e for e in fired if not types or e["type"] in types]

    def colour(self, selector: str, prop: str = "background-color") -> str:
        """A computed colour in the panel."""
        return str(self.js("return getComputedStyle(root.querySelector(arguments[0])).getPropertyValue(arguments[1])",
                           selector, prop))

    def check(self) -> None:
        """Click "Check for updates" once it is enabled (it is off while a check runs)."""
        self.wait(lambda: self.js("return !root.querySelector('button.check').disabled"), 10, "the check button")
        self.js("root.querySelector('button.check').click()")

    def activity(self) -> str:
        return self.text(".activity")

    def watch_activity(self) -> None:
        """Record every text the progress region shows (a MutationObserver), for `seen_activity`."""
        self.js("""window.__activity = []; const a = root.querySelector('.activity');
            new MutationObserver(() => window.__activity.push(a.innerText))
              .observe(a, {subtree: true, childList: true, characterData: true, attributes: true});""")

    def seen_activity(self) -> list[str]:
        return self.driver.execute_script("return window.__activity || []")  # type: ignore[no-any-return]
