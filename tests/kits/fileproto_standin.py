"""A stand-in for the shipped remote's side of the file protocol, run inside the remote's container as its user.

It writes and polls exactly as dunebugger-remote does (branch 23-remote-update, app/dunebugger_updater.py),
rewritten here, not copied:
- a request is `requests/<uuid>.json` written with a plain open() and json.dump(indent=2); for `remote` the id
  then goes to `.pending_remote_request`;
- the status file is polled once a second for up to 600 s; `message == "in_progress"` is progress, anything
  else is final: the file is removed and the answer taken; a status it cannot parse ends the wait at once;
- at start (`main`), a pending remote request is looked up: up to 10 tries a second apart for the status file,
  then a plain open() and json.load of whatever is there; status and pending files are removed.

Every observation is printed as one JSON line, for the test to read (`docker exec` output or `docker logs`).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

UPDATES = Path("/var/dunebugger/updates")
REQUESTS = UPDATES / "requests"
STATUS = UPDATES / "status"
PENDING = UPDATES / ".pending_remote_request"


def say(**event: object) -> None:
    print(json.dumps(event), flush=True)


def poll(request_id: str, timeout: float = 600) -> int:
    status_file = STATUS / f"{request_id}.json"
    start, last_phase = time.time(), None
    while time.time() - start < timeout:
        if status_file.exists():
            try:
                with open(status_file) as f:  # as the remote does
                    status = json.load(f)
                if status.get("message") == "in_progress":
                    if status.get("phase") != last_phase:
                        last_phase = status.get("phase")
                        say(event="progress", status=status)
                    time.sleep(1)
                    continue
                status_file.unlink()
                say(event="final", status=status)
                return 0
            except json.JSONDecodeError as exc:
                say(event="unparsable", error=str(exc))
                return 2
            except Exception as exc:  # the remote: "Error reading status file", then "Update timeout"
                say(event="error", error=f"{type(exc).__name__}: {exc}")
                return 3
        time.sleep(1)
    say(event="timeout")
    return 4


def request(component: str, action: str, version: str | None, slow: bool) -> int:
    request_id = str(uuid.uuid4())
    body = {"component": component, "action": action, "version": version, "request_id": request_id,
            "timestamp": datetime.now().isoformat()}
    REQUESTS.mkdir(parents=True, exist_ok=True)
    with open(REQUESTS / f"{request_id}.json", "w") as f:  # a plain open and write, as the remote
        if slow:  # written in two pieces, a while apart
            text = json.dumps(body, indent=2)
            f.write(text[:30])
            f.flush()
            time.sleep(3)
            f.write(text[30:])
        else:
            json.dump(body, f, indent=2)
    say(event="requested", request_id=request_id)
    if component == "remote":
        PENDING.parent.mkdir(parents=True, exist_ok=True)
        PENDING.write_text(request_id)
    return poll(request_id)


def pending_outcome() -> None:
    if not PENDING.exists():
        say(event="no-pending")
        return
    request_id = PENDING.read_text().strip()
    status_file = STATUS / f"{request_id}.json"
    for _ in range(10):
        if status_file.exists():
            break
        time.sleep(1)
    if not status_file.exists():
        say(event="pending-without-status", request_id=request_id)
        return
    with open(status_file) as f:  # a plain open: it waits on a FIFO until a writer comes
        status = json.load(f)
    status_file.unlink(missing_ok=True)
    PENDING.unlink(missing_ok=True)
    say(event="pending-outcome", request_id=request_id, status=status)


def main() -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("main")
    run.add_argument("--version", required=True)
    ask = sub.add_parser("request")
    ask.add_argument("component")
    ask.add_argument("--action", default="update")
    ask.add_argument("--version")
    ask.add_argument("--slow", action="store_true")
    wait = sub.add_parser("poll")
    wait.add_argument("request_id")
    wait.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    if args.command == "request":
        return request(args.component, args.action, args.version, args.slow)
    if args.command == "poll":
        return poll(args.request_id, args.timeout)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    say(event="started", version=args.version)
    pending_outcome()
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
