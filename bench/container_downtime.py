"""Downtime of a container during an update: dunebugger-units vs a bare `docker compose up -d`, same run.

Boots a throw-away systemd with the real Docker engine and a loopback registry (tests/kits/harness), installs
the product, and updates the scheduler from 1.0.0 to 1.2.0 (busybox httpd images) ROUNDS times each way:

- `dunebugger-units run-update scheduler --version 1.2.0` (pull first, then edit, then up -d <service>,
  then post-checks);
- a bare edit of the tag plus `docker compose up -d` (which pulls, then recreates).

Before every round the device is put back on 1.0.0 and the 1.2.0 image is removed, so both ways pull.
A prober polls the health URL every PROBE_INTERVAL from this process (inside the harness's network):
downtime is the longest run of failed probes, from the last answer of the old container to the first
answer of the new one. Run as root: `venv/bin/python bench/container_downtime.py`.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from kits.devicekit import Device  # noqa: E402  # tests/ is not a package: path set above
from kits.harness import REGISTRY, Harness, busybox_rootfs  # noqa: E402
from kits.productkit import install_product  # noqa: E402
from kits.standin import GithubStandin  # noqa: E402

ROUNDS = 3
PORT = 18080
PROBE_INTERVAL = 0.02
IMAGE = f"{REGISTRY}/dunebugger-scheduler"
COMPOSE = f"""\
services:
  scheduler:
    image: "{IMAGE}:1.0.0"
    container_name: dunebugger-scheduler
    network_mode: host
    init: true
    restart: unless-stopped
"""
INSIDE = Device(Path("/"))


class Prober:
    """Polls http://127.0.0.1:PORT/health; records (time, version or None) per probe."""

    def __init__(self, h: Harness) -> None:
        self.h, self.samples, self._stop = h, [], threading.Event()
        self.samples: list[tuple[float, str | None]]
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _probe(self) -> str | None:
        try:
            sock = self.h.connect_tcp(PORT, timeout=1)
        except OSError:
            return None
        try:
            sock.sendall(b"GET /health HTTP/1.0\r\nHost: x\r\n\r\n")
            data = b""
            while chunk := sock.recv(4096):
                data += chunk
        except OSError:
            return None
        finally:
            sock.close()
            self.h._sockets.remove(sock)  # the harness keeps every socket it made for teardown
        head, _, body = data.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.0 200") and not head.startswith(b"HTTP/1.1 200"):
            return None
        return str(json.loads(body).get("version"))

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic(), self._probe()))
            time.sleep(PROBE_INTERVAL)

    def downtime(self) -> float:
        """Last answer of 1.0.0 before the gap -> first answer of 1.2.0 after it."""
        last_old = max(t for t, v in self.samples if v == "1.0.0")
        first_new = min(t for t, v in self.samples if v == "1.2.0")
        return first_new - last_old


def reset(h: Harness, device: Device) -> None:
    device.compose_file.write_text(COMPOSE)
    h.run(["docker", "compose", "-f", str(INSIDE.compose_file), "up", "-d"], timeout=120)
    h.docker("rmi", f"{IMAGE}:1.2.0", check=False)
    h.wait_for(lambda: h.run(["curl", "-fsS", f"http://127.0.0.1:{PORT}/health"], check=False).stdout
               .find('"1.0.0"') >= 0, 30, "1.0.0 to answer")


def bare_compose(h: Harness, device: Device) -> None:
    device.compose_file.write_text(COMPOSE.replace(":1.0.0", ":1.2.0"))
    h.run(["docker", "compose", "-f", str(INSIDE.compose_file), "up", "-d"], timeout=120)


def with_units(h: Harness, device: Device) -> None:
    h.run(["dunebugger-units", "run-update", "scheduler", "--version", "1.2.0"], timeout=300)


def measure(h: Harness, device: Device, action: object) -> tuple[float, float]:
    reset(h, device)
    with Prober(h) as prober:
        started = time.monotonic()
        action(h, device)  # type: ignore[operator]
        took = time.monotonic() - started
        h.wait_for(lambda: any(v == "1.2.0" for _, v in prober.samples), 30, "1.2.0 to answer")
    return prober.downtime(), took


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-downtime-") as tmp:
        root = Path(tmp)
        device = Device(root / "device").lay_out()
        h = Harness.boot(root / "harness", docker=True, binds={"/opt/dunebugger": device.root / "opt/dunebugger"})
        try:
            for version in ("1.0.0", "1.2.0"):
                rootfs = busybox_rootfs(root / version, {"www/health": json.dumps({"version": version})})
                h.import_image(f"{IMAGE}:{version}", rootfs, ["httpd", "-f", "-p", f"127.0.0.1:{PORT}", "-h", "/www"])
            gh = GithubStandin().start(h.listen_tcp())
            for tag in ("v1.0.0", "v1.2.0"):
                gh.add_release("dunebugger-scheduler", tag)
            config = INSIDE.config(gh.url, manifest_url="{api_url}/raw/{owner}/{repo}/{tag}/update-manifest.yaml")
            config["components"]["scheduler"] = {"health_url": f"http://127.0.0.1:{PORT}/health"}
            config["update"] = {"stability_seconds": 2, "health_timeout": 10}
            install_product(h, config)
            results: dict[str, list[tuple[float, float]]] = {"dunebugger-units update": [], "bare compose up -d": []}
            for _ in range(ROUNDS):
                results["dunebugger-units update"].append(measure(h, device, with_units))
                results["bare compose up -d"].append(measure(h, device, bare_compose))
        finally:
            h.poweroff()
    print(f"container downtime, scheduler 1.0.0 -> 1.2.0, {ROUNDS} rounds each, probe every "
          f"{PROBE_INTERVAL * 1000:.0f} ms")
    for name, runs in results.items():
        downs = [d for d, _ in runs]
        totals = [t for _, t in runs]
        print(f"  {name:24} downtime median {statistics.median(downs) * 1000:7.0f} ms "
              f"(min {min(downs) * 1000:.0f}, max {max(downs) * 1000:.0f}); "
              f"whole command median {statistics.median(totals):.2f} s")


if __name__ == "__main__":
    main()
