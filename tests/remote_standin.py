"""A small remote stand-in built on the real message handler: a WebSocket server for the test frontend.

The real remote runs in a container with the host's system bus socket mounted; this one runs inside the test
systemd as an unprivileged member of the `dunebugger` group (polkit decides what it may start). Each frontend
message is answered in its own thread, so concurrent requests really are concurrent.

    python tests/remote_standin.py --port 8765 --state-dir /var/lib/dunebugger-units
"""

from __future__ import annotations

import argparse
import json
import threading
from typing import Any

from websockets.sync.server import ServerConnection, serve

from dunebugger_units.client import UpdaterClient
from dunebugger_units.messages import handle


def session(client: UpdaterClient) -> Any:
    def serve_one(ws: ServerConnection) -> None:
        send_lock = threading.Lock()

        def answer(message: Any) -> None:
            for reply in handle(message, client):
                with send_lock:
                    ws.send(json.dumps(reply))

        for raw in ws:
            try:
                message = json.loads(raw)
            except ValueError:
                message = None
            threading.Thread(target=answer, args=(message,), daemon=True).start()

    return serve_one


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--state-dir", default="/var/lib/dunebugger-units")
    args = parser.parse_args()
    client = UpdaterClient(args.state_dir, deadline=600)
    with serve(session(client), "127.0.0.1", args.port) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
