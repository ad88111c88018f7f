"""A signed container release, end to end on the real harness with the loopback registry: with
`trusted_keys` set, a container release is updated only when its signed SHA256SUMS names that very release
and its signed manifest pins the image by digest. Every refusal changes nothing: same compose file, same
container, still healthy.

Against a tree without these rules, the first two releases below were updated: a signature covers files, not
a registry tag, so the tag was pulled whatever the registry served under it; and a list signed for another
component was accepted as this one's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from kits.containerkit import INSIDE, MANIFEST_URL, PORTS, ref, wait_health
from kits.devicekit import Device
from kits.harness import Harness
from kits.productkit import install_product
from kits.signkit import Signer, make_signer, sha256sums
from kits.standin import GithubStandin

pytestmark = pytest.mark.containers

UNIT = "dunebugger-update@scheduler.service"
KEYRING = "/etc/dunebugger/trusted.gpg"
REPO = "dunebugger-scheduler"


def digest_of(h: Harness, image: str) -> str:
    h.docker("pull", "--quiet", image)
    digests = json.loads(h.docker("image", "inspect", "--format", "{{json .RepoDigests}}", image).stdout)
    h.docker("rmi", image)
    return str(digests[0].split("@", 1)[1])


def publish_signed(gh: GithubStandin, signer: Signer, version: str, manifest: dict[str, Any],
                   names: str) -> None:
    """A scheduler release whose signed SHA256SUMS carries the release line `names` and lists the manifest."""
    data = yaml.safe_dump(manifest).encode()
    gh.add_raw(REPO, f"v{version}", "update-manifest.yaml", data)
    sums = f"# release {names}\n".encode() + sha256sums({"update-manifest.yaml": data})
    gh.add_release(REPO, f"v{version}", assets={"SHA256SUMS": sums, "SHA256SUMS.gpg": signer.sign(sums)})


def newest(h: Harness) -> dict[str, Any]:
    return json.loads(h.run(["dunebugger-units", "history", "--json", "-n", "1"]).stdout)[0]  # type: ignore[no-any-return]


def test_signed_container_releases_must_name_themselves_and_pin_their_image(
        booted: Harness, gh: GithubStandin, device: Device, tmp_path: Path) -> None:
    h = booted
    signer = make_signer(tmp_path / "signer")
    try:
        h.write_file(KEYRING, signer.keyring.read_bytes())
        config = INSIDE.config(gh.url, manifest_url=MANIFEST_URL)
        for component, port in PORTS.items():
            config["components"][component] = {"health_url": f"http://127.0.0.1:{port}/health"}
        config["update"] = {"stability_seconds": 2, "health_timeout": 8}
        config["trusted_keys"] = KEYRING
        install_product(h, config)
        digest = digest_of(h, ref("scheduler", "1.2.0"))
        before = device.compose_file.read_bytes()
        refusals = [
            ({"version": "1.2.0"}, f"marco-svitol/{REPO} v1.2.0", "pins no image_digest"),
            ({"version": "1.2.0", "image_digest": digest}, "marco-svitol/dunebugger-remote v1.2.0",
             f"does not name release marco-svitol/{REPO} v1.2.0"),
            ({"version": "1.2.0", "image_digest": digest}, f"marco-svitol/{REPO} v1.0.0",
             f"does not name release marco-svitol/{REPO} v1.2.0"),
        ]
        for manifest, names, why in refusals:
            gh.releases.pop(REPO, None)
            publish_signed(gh, signer, "1.2.0", manifest, names)
            done = h.run(["dunebugger-units", "update", "scheduler", "--version", "1.2.0"], check=False, timeout=300)
            assert done.returncode == 75, done.stdout + done.stderr
            result = newest(h)
            assert result["status"] == "refused" and why in json.dumps(result), (names, result)
            assert device.compose_file.read_bytes() == before
            assert h.docker("image", "inspect", ref("scheduler", "1.2.0"), check=False).returncode != 0  # not pulled
            wait_health(h, "scheduler", "1.0.0")

        gh.releases.pop(REPO, None)
        publish_signed(gh, signer, "1.2.0", {"version": "1.2.0", "image_digest": digest}, f"marco-svitol/{REPO} v1.2.0")
        h.run(["dunebugger-units", "update", "scheduler", "--version", "1.2.0"], timeout=300)
        result = newest(h)
        assert result["status"] == "updated", result
        assert f"{ref('scheduler', '1.2.0')}@{digest}" in device.compose_file.read_text()
        wait_health(h, "scheduler", "1.2.0")
    finally:
        signer.stop()
