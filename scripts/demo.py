"""The update story on a simulated device in a throw-away systemd (run it through scripts/demo.sh)."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from devicekit import Device, publish_defaults  # noqa: E402
from harness import Harness  # noqa: E402
from productkit import install_product  # noqa: E402
from standin import GithubStandin  # noqa: E402

INSIDE = Device(Path("/"))


def say(text: str) -> None:
    print(f"\n=== {text}", flush=True)


def to_frontend(subject: str, body: object) -> None:
    """Print a message as the remote would send it to the frontend."""
    print(json.dumps({"subject": subject, "body": body, "source": "controller", "destination": "broadcast"},
                     indent=2), flush=True)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="dunebugger-demo-") as tmp:
        root = Path(tmp)
        device = Device(root / "device").lay_out(core_version="1.0.0")
        say("booting a throw-away systemd with a simulated Dunebugger device")
        h = Harness.boot(root / "harness", binds={"/opt/dunebugger": device.root / "opt/dunebugger"})
        try:
            github = GithubStandin().start(h.listen_tcp())
            publish_defaults(github)
            install_product(h, INSIDE.config(github.url))
            say("systemctl start dunebugger-check.service")
            h.systemctl("start", "dunebugger-check.service", check=False, timeout=120)
            body = json.loads(h.run(["dunebugger-units", "status", "--json"]).stdout)
            to_frontend("update_check_result", body)
            say("journalctl -u dunebugger-check.service")
            print(h.run(["journalctl", "--no-pager", "-o", "cat", "-u", "dunebugger-check.service"]).stdout)
            say("dunebugger-units status")
            print(h.run(["dunebugger-units", "status"]).stdout)
            github.stop()
        finally:
            h.poweroff()
    say("done: the throw-away systemd is gone")
    return 0


if __name__ == "__main__":
    sys.exit(main())
