"""The whole update story on a simulated device in a throw-away systemd (run it through scripts/demo.sh).

The device: the fixture core app under a real dunebugger.service, scheduler and remote containers from a
local registry, a loopback GitHub stand-in. A test frontend talks WebSocket to a remote stand-in built on
the real message handler; every message the frontend receives is printed as it comes.

Story: a check; an update of scheduler, which succeeds; an update of core to a broken release, which rolls
back automatically; a status. Then everything is torn down.

With --web [--port N], the same device stays up and the update panel (web/) is served on
http://127.0.0.1:N/ instead: its WebSocket reaches the remote stand-in, and the events the panel fires are
logged beside it (docs/panel.md). Ctrl-C tears everything down.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from kits import containerkit, corekit, remotekit  # noqa: E402
from kits.devicekit import Device  # noqa: E402
from kits.harness import Harness  # noqa: E402
from kits.productkit import install_product  # noqa: E402
from kits.remotekit import converse, frontend, start_remote_standin  # noqa: E402
from kits.standin import GithubStandin  # noqa: E402
from kits.webkit import PanelServer  # noqa: E402


def say(text: str) -> None:
    print(f"\n\033[1m=== {text}\033[0m", flush=True)


def show(message: dict[str, Any]) -> None:
    body = message["body"]
    if message["subject"] == "update_check_result":
        for name, c in body["components"].items():
            state = "update available" if c["update_available"] else "up to date"
            print(f"  <- update_check_result  {name:<10} {c['current']:<8} latest {c['latest']!s:<8} {state}")
        return
    print(f"  <- {message['subject']}: {json.dumps(body)}", flush=True)


def config_for(api_url: str, device: Device) -> dict[str, Any]:
    config = corekit.updater_config(device, api_url)  # core: health, wheelhouse, short windows
    for component, port in containerkit.PORTS.items():
        config["components"][component] = {"health_url": f"http://127.0.0.1:{port}/health"}
    config["update"] |= {"stability_seconds": 3, "health_timeout": 15}
    return config


def story(h: Harness, device: Device) -> None:
    with frontend(h) as ws:
        say("frontend -> updater.check_updates")
        converse(ws, {"subject": "updater.check_updates", "connectionId": "demo"}, show=show)

        say("frontend -> updater.perform_update {component: scheduler}")
        converse(ws, {"subject": "updater.perform_update", "body": {"component": "scheduler", "dry_run": False},
                      "connectionId": "demo"}, show=show)

        say("frontend -> updater.perform_update {component: core}   (1.3.0 crashes at start)")
        converse(ws, {"subject": "updater.perform_update", "body": {"component": "core", "dry_run": False},
                      "connectionId": "demo"}, timeout=300, show=show)
    say("settings on the device after all that (byte-identical to before)")
    print((device.core_dir / "app/config/dunebugger.conf").read_text())
    say("dunebugger-units status")
    print(h.run(["dunebugger-units", "status"]).stdout)
    say("journalctl -o cat SYSLOG_IDENTIFIER=dunebugger-rollback")
    print(h.run(["journalctl", "--no-pager", "-o", "cat", "SYSLOG_IDENTIFIER=dunebugger-rollback"]).stdout)


def _stop(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def serve_panel(h: Harness, port: int) -> None:
    # SIGTERM too, and SIGINT even when started in the background (where it comes ignored): either way the
    # throw-away systemd is powered off, not left behind.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _stop)
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1`: where a stuck demo waits
    server = PanelServer(lambda: h.connect_tcp(remotekit.PORT), port=port).start()
    say(f"the update panel: open {server.url} in a browser on this machine (Ctrl-C ends the demo)")
    print("  scheduler 1.0.0 -> 1.2.0 succeeds; core 1.0.0 -> 1.3.0 crashes at start and is rolled back")
    print("  beside the panel, the events it fires; the dark theme and Italian are one click away "
          "(or open it with ?theme=dark&lang=it)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print()
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description="the update story on a throw-away systemd")
    parser.add_argument("--web", action="store_true", help="serve the update panel instead of playing the story")
    parser.add_argument("--port", type=int, default=8642, help="port of the panel with --web (default 8642)")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="dunebugger-demo-") as tmp:
        root = Path(tmp)
        device = containerkit.lay_out(Device(root / "device").lay_out())
        say("booting a throw-away systemd with a simulated Dunebugger device")
        h = Harness.boot(root / "harness", docker=True, binds={"/opt/dunebugger": device.root / "opt/dunebugger"})
        try:
            print("  containers: scheduler and remote 1.0.0 from a local registry")
            containerkit.start_containers(h, root / "rootfs")
            print("  core: the fixture app 1.0.0 under dunebugger.service (the installer's plain layout)")
            corekit.install_core(h, device)
            github = GithubStandin().start(h.listen_tcp())
            containerkit.publish(github, "scheduler", "1.2.0")
            corekit.publish_all(github, ["1.3.0"])
            print(f"  GitHub stand-in on {github.url}: scheduler v1.2.0 (good), core v1.3.0 (crashes at start)")
            install_product(h, config_for(github.url, device))
            start_remote_standin(h)
            print("  the remote stand-in listens on WebSocket, as an unprivileged member of group dunebugger")
            if args.web:
                serve_panel(h, args.port)
            else:
                story(h, device)
            github.stop()
        finally:
            h.poweroff()
    say(f"done in {time.monotonic() - started:.0f} s: the throw-away systemd is gone")
    return 0


if __name__ == "__main__":
    sys.exit(main())
