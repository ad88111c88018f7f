"""Digest pins, on the real harness with the loopback registry: a compose entry pinned by digest
stays pinned after an update, to the new image's digest, and its version reads from the tag; a release whose
manifest pins the image by digest is pulled by that digest."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kits.containerkit import INSIDE, publish, ref, wait_health
from kits.devicekit import Device
from kits.harness import Harness
from kits.productkit import history
from kits.standin import GithubStandin

UNIT = "dunebugger-update@scheduler.service"


pytestmark = pytest.mark.containers


def digest_of(h: Harness, image: str) -> str:
    """The registry digest of a pushed image (pulled for a moment if it is not local)."""
    local = h.docker("image", "inspect", image, check=False).returncode == 0
    if not local:
        h.docker("pull", "--quiet", image)
    digests = json.loads(h.docker("image", "inspect", "--format", "{{json .RepoDigests}}", image).stdout)
    if not local:
        h.docker("rmi", image)
    return str(digests[0].split("@", 1)[1])


def compose_image(device: Device) -> str:
    line = next(ln for ln in device.compose_file.read_text().splitlines() if "dunebugger-scheduler:" in ln)
    return line.split("image:", 1)[1].strip().strip('"')


def status(h: Harness) -> dict[str, Any]:
    return json.loads(h.run(["dunebugger-units", "status", "--json"]).stdout)["components"]  # type: ignore[no-any-return]


def newest(h: Harness) -> dict[str, Any]:
    return history(h)[0]


def pin_installed(h: Harness, device: Device) -> str:
    """Pin the device's scheduler entry to its installed image's digest, and run it so."""
    pinned = f"{ref('scheduler', '1.0.0')}@{digest_of(h, ref('scheduler', '1.0.0'))}"
    text = device.compose_file.read_text()
    device.compose_file.write_text(text.replace(ref("scheduler", "1.0.0"), pinned))
    h.run(["docker", "compose", "-f", str(INSIDE.compose_file), "up", "-d", "scheduler"], timeout=120)
    wait_health(h, "scheduler", "1.0.0")
    return pinned


def test_a_pinned_entry_stays_pinned_to_the_new_digest(product: Harness, gh: GithubStandin,
                                                         device: Device) -> None:
    h = product
    old = pin_installed(h, device)
    assert status(h)["scheduler"]["current"] == "1.0.0"  # read from the tag part, not "unknown"
    publish(gh, "scheduler", "1.2.0")
    h.run(["dunebugger-units", "check"], check=False, timeout=60)
    h.systemctl("start", UNIT, timeout=240)
    assert (newest(h)["status"], newest(h)["message"]) == ("updated", "Updated scheduler to 1.2.0"), newest(h)
    now = compose_image(device)
    assert now == f"{ref('scheduler', '1.2.0')}@{digest_of(h, ref('scheduler', '1.2.0'))}"
    assert now != old and now.split("@")[1] != old.split("@")[1]
    running = json.loads(h.docker("container", "inspect", "dunebugger-scheduler").stdout)[0]["Config"]["Image"]
    assert running == now
    wait_health(h, "scheduler", "1.2.0")
    assert status(h)["scheduler"]["current"] == "1.2.0"


def test_a_manifest_digest_is_pulled_by_digest(product: Harness, gh: GithubStandin, device: Device) -> None:
    h = product
    before = device.compose_file.read_bytes()
    # a digest no registry has: the pull fails before anything changes
    publish(gh, "scheduler", "1.2.0", manifest={"image_digest": "sha256:" + "0" * 64})
    h.run(["dunebugger-units", "check"], check=False, timeout=60)
    h.systemctl("start", UNIT, check=False, timeout=240)
    result = newest(h)
    assert result["status"] == "failed" and "nothing was changed" in result["message"], result
    assert "sha256:" + "0" * 64 in result["message"]
    assert device.compose_file.read_bytes() == before
    wait_health(h, "scheduler", "1.0.0")

    # the release's own digest: pulled by it, and the entry pinned to it
    digest = digest_of(h, ref("scheduler", "1.2.0"))
    gh.releases.pop("dunebugger-scheduler")
    publish(gh, "scheduler", "1.2.0", manifest={"image_digest": digest})
    h.systemctl("start", UNIT, timeout=240)
    assert newest(h)["status"] == "updated", newest(h)
    assert compose_image(device) == f"{ref('scheduler', '1.2.0')}@{digest}"
    assert h.docker("image", "inspect", ref("scheduler", "1.2.0"), check=False).returncode == 0  # tagged too
    wait_health(h, "scheduler", "1.2.0")
