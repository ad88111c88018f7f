"""The remote stand-in inside a test systemd, and a test frontend that talks WebSocket to it."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from typing import Any

from websockets.sync.client import ClientConnection, connect

from kits.harness import Harness
from kits.productkit import REPO, VENV

PORT = 8765
FINAL = {"update_result", "update_check_result", "log"}
_ids = itertools.count(1)


def start_remote_standin(h: Harness, user: str = "remoteuser") -> None:
    """The polkit rule, an unprivileged `dunebugger` group member, and tests/kits/remote_standin.py run as it
    (it asks org.dunebugger.Updater1, which install_product put in place)."""
    h.write_file("/etc/polkit-1/rules.d/50-dunebugger-units.rules",
                 (REPO / "packaging/polkit/50-dunebugger-units.rules").read_bytes())
    h.write_file("/usr/local/lib/remote-standin.py", (REPO / "tests/kits/remote_standin.py").read_bytes())
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
             show: Callable[[dict[str, Any]], None] | None = None,
             broadcasts: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Send one message; collect the replies addressed to it, up to and including the final one. A message
    without a connectionId gets one; what arrives for `broadcast` meanwhile goes to `broadcasts`."""
    message = {"connectionId": f"frontend-{next(_ids)}", **message}
    ws.send(json.dumps(message))
    replies = []
    end = time.monotonic() + timeout
    while True:
        reply = receive(ws, end - time.monotonic())
        if show is not None:
            show(reply)
        if reply["destination"] != message["connectionId"]:
            assert reply["destination"] == "broadcast", reply
            if broadcasts is not None:
                broadcasts.append(reply)
            continue
        replies.append(reply)
        if reply["subject"] in FINAL:
            return replies


def receive(ws: ClientConnection, timeout: float) -> dict[str, Any]:
    reply: dict[str, Any] = json.loads(ws.recv(timeout=max(0.1, timeout)))
    assert set(reply) == {"subject", "body", "source", "destination"}
    return reply


def wait_broadcast(ws: ClientConnection, match: Callable[[dict[str, Any]], bool], timeout: float = 180,
                   heard: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The first broadcast that `match`es: among those already `heard` (e.g. while `converse` waited for its
    answer), else the next to arrive; others arriving meanwhile are added to `heard`."""
    for earlier in heard or []:
        if match(earlier):
            heard.remove(earlier)  # type: ignore[union-attr]
            return earlier
    end = time.monotonic() + timeout
    while True:
        reply = receive(ws, end - time.monotonic())
        if reply["destination"] == "broadcast" and match(reply):
            return reply
        if heard is not None:
            heard.append(reply)
