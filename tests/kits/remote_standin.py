"""A small remote stand-in built on the real message handler: a WebSocket server for the test frontend.

It runs either inside the test systemd as an unprivileged `dunebugger` group member, or (tests/system/
test_remote_kit.py) as the `remote` service of the compose file, in a real container configured as
packaging/compose says, with only the client's modules, sdbus and websockets installed. Each frontend message
is answered in its own thread, so concurrent requests really are concurrent. Like the real remote it also
broadcasts every recorded result (`UpdaterClient.follow_results` in a thread), whoever started the run; what is
broadcast while no frontend is connected waits for the next one (the real remote sends it once it is
connected to the cloud again).

    python tests/kits/remote_standin.py --port 8765 --state-dir /var/lib/dunebugger-units [--health-port N --version V]
"""

from __future__ import annotations

import argparse
import http.server
import json
import threading
from typing import Any

from websockets.sync.server import ServerConnection, serve

from dunebugger_units.remote.client import UpdaterClient
from dunebugger_units.remote.messages import BROADCAST, broadcast_replies, handle


class Frontends:
    """The connected frontends; a broadcast with none connected is kept for the next one."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.connections: set[ServerConnection] = set()
        self.backlog: list[str] = []

    def join(self, ws: ServerConnection) -> None:
        with self.lock:
            self.connections.add(ws)
            for text in self.backlog:
                ws.send(text)
            self.backlog.clear()

    def leave(self, ws: ServerConnection) -> None:
        with self.lock:
            self.connections.discard(ws)

    def send(self, origin: ServerConnection | None, reply: dict[str, Any]) -> None:
        text = json.dumps(reply)
        with self.lock:
            targets = list(self.connections) if reply["destination"] == BROADCAST else [origin]
            if not targets or targets == [None]:
                self.backlog.append(text)
            for ws in targets:
                if ws is not None:
                    try:
                        ws.send(text)
                    except Exception:  # a frontend that went away misses it, as with the real cloud
                        self.connections.discard(ws)


def session(client: UpdaterClient, frontends: Frontends) -> Any:
    def serve_one(ws: ServerConnection) -> None:
        frontends.join(ws)

        def answer(message: Any) -> None:
            for reply in handle(message, client):
                frontends.send(ws, reply)

        try:
            for raw in ws:
                try:
                    message = json.loads(raw)
                except ValueError:
                    message = None
                threading.Thread(target=answer, args=(message,), daemon=True).start()
        finally:
            frontends.leave(ws)

    return serve_one


def broadcast_results(client: UpdaterClient, frontends: Frontends) -> None:
    for result in client.follow_results():
        for reply in broadcast_replies(result):
            frontends.send(None, reply)


def serve_health(port: int, version: str) -> None:
    body = json.dumps({"status": "healthy", "version": version, "uptime": 1}).encode()

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/health" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--state-dir", default="/var/lib/dunebugger-units")
    parser.add_argument("--health-port", type=int)
    parser.add_argument("--version", default="0")
    args = parser.parse_args()
    client = UpdaterClient(args.state_dir, deadline=600)
    frontends = Frontends()
    threading.Thread(target=broadcast_results, args=(client, frontends), daemon=True).start()
    with serve(session(client, frontends), "127.0.0.1", args.port) as server:
        if args.health_port:
            serve_health(args.health_port, args.version)
        server.serve_forever()


if __name__ == "__main__":
    main()
