"""A simulated device's containers: test images built from busybox and pushed to the loopback registry.

scheduler and remote serve /health with their version on their own port (busybox httpd); 1.0.0 is installed,
1.2.0 is healthy, 1.3.0 exits at start, 1.4.0 runs but its health answers 404, 1.5.0 is healthy (its manifest,
published by a test, may need a newer remote).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from kits.buildonce import built, kept
from kits.devicekit import INSIDE, MANIFEST_URL, Device
from kits.harness import REGISTRY, Harness, busybox_rootfs
from kits.harness.images import restore_registry, save_docker_data, save_registry
from kits.standin import GithubStandin

PORTS = {"scheduler": 18080, "remote": 18081}

COMPOSE = f"""\
# Dunebugger containers (a test device: images from the loopback registry)
services:
  remote:
    image: {REGISTRY}/dunebugger-remote:1.0.0   # bridge to the cloud frontend
    container_name: dunebugger-remote
    network_mode: host
    init: true
    restart: unless-stopped
    env_file: .env
    volumes:
      - /var/lib/dunebugger-units:/state:ro

  scheduler:
    # pinned tag: version detection reads it
    image: "{REGISTRY}/dunebugger-scheduler:1.0.0"
    container_name: dunebugger-scheduler
    network_mode: host
    init: true
    restart: unless-stopped
    env_file: .env
"""


def serving(component: str, version: str, health: bool = True) -> tuple[dict[str, str], list[str]]:
    """busybox httpd on the component's port; /health answers JSON with the version (or 404)."""
    files = {"www/index.html": f"{component} {version}\n"}
    if health:
        files["www/health"] = json.dumps({"status": "healthy", "version": version, "uptime": 1})
    return files, ["httpd", "-f", "-p", f"127.0.0.1:{PORTS[component]}", "-h", "/www"]


IMAGES: dict[tuple[str, str], tuple[dict[str, str], list[str]]] = {
    ("scheduler", "1.0.0"): serving("scheduler", "1.0.0"),
    ("scheduler", "1.2.0"): serving("scheduler", "1.2.0"),
    ("scheduler", "1.3.0"): ({}, ["sh", "-c", "echo 'scheduler 1.3.0: bad config' >&2; exit 3"]),
    ("scheduler", "1.4.0"): serving("scheduler", "1.4.0", health=False),
    ("scheduler", "1.5.0"): serving("scheduler", "1.5.0"),
    ("remote", "1.0.0"): serving("remote", "1.0.0"),
    ("remote", "1.2.0"): serving("remote", "1.2.0"),
}
INSTALLED = "1.0.0"
BUSYBOX_IMAGES = "busybox-images"  # kits/buildonce.py: their registry storage and seed (`images_once`)


def ref(component: str, version: str) -> str:
    return f"{REGISTRY}/dunebugger-{component}:{version}"



def images_once(h: Harness, images: str, build: Callable[[], None], local: Sequence[str]) -> None:
    """The test images named `images` in `h`'s loopback registry, with the images `local` in its data root.

    The first harness of a run runs `build()` (which leaves only `local` local), then saves its registry
    storage and its docker data root (the seed, see `docker_seed`; kits/buildonce.py). Later harnesses get a
    copy of that storage; booted on the seed they have `local` already, else they pull it from their own
    registry: the same images, without building them again for every test.
    """
    with built(images) as (saved, there):
        if not there:
            build()
            save_registry(h, saved)
            with built(_seed_name(images)) as (seed, seeded):
                if not seeded:
                    save_docker_data(h, seed)
            return
    restore_registry(h, saved)
    if h.run(["docker", "image", "inspect", "--format", "{{.Id}}", *local], check=False).returncode != 0:
        for image in local:
            h.docker("pull", "-q", image)


def docker_seed(images: str = BUSYBOX_IMAGES) -> Path | None:
    """A docker data root holding the local images of `images`, saved by the first harness of the run that
    built them (`images_once`); a harness booted on a copy of it has them without a pull. None until it exists."""
    return kept(_seed_name(images))


def _seed_name(images: str) -> str:
    return f"{images}-seed"


def build_images(h: Harness, root: Path) -> None:
    """Every busybox test image (rootfs dirs under `root`) in the loopback registry; only the installed ones are
    local, so an update really pulls."""

    def build() -> None:
        for (component, version), (files, cmd) in IMAGES.items():
            rootfs = busybox_rootfs(root / f"{component}-{version}", files)
            h.import_image(ref(component, version), rootfs, cmd)
            if version != INSTALLED:
                h.docker("rmi", ref(component, version))

    images_once(h, BUSYBOX_IMAGES, build, [ref(component, INSTALLED) for component in PORTS])


def running_image(h: Harness, component: str) -> str:
    """The image the component's container runs, as docker names it."""
    return h.docker("inspect", "--format", "{{.Config.Image}}", f"dunebugger-{component}").stdout.strip()


def wait_health(h: Harness, component: str, version: str, timeout: float = 30) -> None:
    url = f"http://127.0.0.1:{PORTS[component]}/health"

    def answers() -> bool:
        out = h.run(["curl", "-fsS", "--max-time", "2", url], check=False)
        return out.returncode == 0 and json.loads(out.stdout).get("version") == version

    h.wait_for(answers, timeout, f"{component} {version} to answer on {url}")


def publish(gh: GithubStandin, component: str, version: str, manifest: dict[str, Any] | None = None) -> None:
    repo = f"dunebugger-{component}"
    gh.add_release(repo, f"v{version}")
    if manifest is not None:
        gh.add_raw(repo, f"v{version}", "update-manifest.yaml", yaml.safe_dump(manifest).encode())


def updater_config(api_url: str, *, health_urls: bool = True, **update: Any) -> dict[str, Any]:
    """The updater's configuration for these containers: each one's /health (unless not `health_urls`), a short
    stability window, and the `update:` settings given."""
    config = INSIDE.config(api_url, manifest_url=MANIFEST_URL)
    if health_urls:
        for component, port in PORTS.items():
            config["components"].setdefault(component, {})["health_url"] = f"http://127.0.0.1:{port}/health"
    config["update"] = {"stability_seconds": 2, "health_timeout": 8, **update}
    return config


def lay_out(device: Device) -> Device:
    """The compose file and .env of the test device (images from the loopback registry)."""
    device.compose_file.write_text(COMPOSE)
    (device.compose_file.parent / ".env").write_text("NATS_URL=nats://127.0.0.1:4222\n")
    return device


def start_containers(h: Harness, root: Path) -> None:
    """Build and push every image (once per run, see `images_once`), then `docker compose up -d` the installed
    ones and wait for health."""
    build_images(h, root)
    h.run(["docker", "compose", "-f", str(INSIDE.compose_file), "up", "-d"], timeout=120)
    for component in PORTS:
        wait_health(h, component, INSTALLED)
