"""The remote stand-in inside a test systemd, and a test frontend that talks WebSocket to it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from harness import Harness
from productkit import REPO, VENV
from websockets.sync.client import ClientConnection, connect

PORT = 8765
FINAL = {"update_result", "update_check_result", "log"}


def start_remote_standin(h: Harness, user: str = "remoteuser") -> None:
    """The polkit rule, an unprivileged `dunebugger` group member, and tests/remote_standin.py run as it."""
    h.write_file("/etc/polkit-1/rules.d/50-dunebugger-units.rules",
                 (REPO / "packaging/polkit/50-dunebugger-units.rules").read_bytes())
    h.write_file("/usr/local/lib/remote-standin.py", (REPO / "tests/remote_standin.py").read_bytes())
    h.run(["useradd", "--create-home", "--groups", "dunebugger", user])
    h.run(["systemd-run", "--unit=remote-standin", "-p", f"User={user}",
           str(VENV / "bin/python"), "/usr/local/lib/remote-standin.py", "--port", str(PORT)])
    h.wait_for(lambda: _listening(h), 30, "the remote stand-in to listen")


def _listening(h: Harness) -> bool:
    try:
        h.connect_tcp(PORT, timeout=1).close()
    except OSError:
        return False
    return True


def frontend(h: Harness) -> ClientConnection:
    return connect(f"ws://127.0.0.1:{PORT}", sock=h.connect_tcp(PORT), open_timeout=10)


def converse(ws: ClientConnection, message: dict[str, Any], timeout: float = 180,
             show: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Send one message; collect the replies up to and including the final one."""
    ws.send(json.dumps(message))
    replies = []
    end = time.monotonic() + timeout
    while True:
        reply = json.loads(ws.recv(timeout=max(0.1, end - time.monotonic())))
        assert set(reply) == {"subject", "body", "source", "destination"}
        if show is not None:
            show(reply)
        replies.append(reply)
        if reply["subject"] in FINAL:
            return replies
