"""Container updates on a compose file as installers leave them: a symlink to the real file, services that
depend on each other, shared settings through a merge key, the image given through an alias, a tab before a
comment, CRLF line ends. In a real systemd with the real Docker engine, compose v2 and a registry.

After an update a plain `docker compose up -d` (what a boot or the installer runs) recreates nothing; the
link stays a link, and a failed update is rolled back through it.
"""

from __future__ import annotations

import json

import pytest
from kits.containerkit import INSIDE, PORTS, publish, ref, wait_health
from kits.devicekit import Device
from kits.harness import REGISTRY, Harness
from kits.productkit import history
from kits.standin import GithubStandin

REAL = "/opt/dunebugger/compose/dunebugger.yml"

COMPOSE = (
    "# installed by the setup script; the link in /opt/dunebugger points here\r\n"
    "x-common: &common\r\n"
    "  network_mode: host\r\n"
    "  init: true\r\n"
    "  restart: unless-stopped\r\n"
    "  env_file: .env\r\n"
    f"x-scheduler-image: &scheduler-image \"{REGISTRY}/dunebugger-scheduler:1.0.0\"\r\n"
    "services:\r\n"
    "  remote:\r\n"
    "    <<: *common\r\n"
    "    container_name: dunebugger-remote\r\n"
    f"    image: {REGISTRY}/dunebugger-remote:1.0.0\t# bridge to the cloud\r\n"
    "  scheduler:\r\n"
    "    <<: *common\r\n"
    "    container_name: dunebugger-scheduler\r\n"
    "    image: *scheduler-image\r\n"
    "    depends_on: [remote]\r\n"
)


def linked_compose(device: Device) -> None:
    """The compose file is a link to the real one, which the setup script wrote (CRLF, anchors, an alias)."""
    real = device.root / REAL.lstrip("/")
    real.parent.mkdir(parents=True)
    real.write_bytes(COMPOSE.encode())
    device.compose_file.unlink()
    device.compose_file.symlink_to("compose/dunebugger.yml")


pytestmark = [pytest.mark.containers, pytest.mark.device.with_args(linked_compose)]


def ids(h: Harness) -> dict[str, str]:
    return {c: json.loads(h.docker("container", "inspect", f"dunebugger-{c}").stdout)[0]["Id"] for c in PORTS}


def plain_up(h: Harness) -> str:
    out = h.run(["docker", "compose", "-f", str(INSIDE.compose_file), "up", "-d"], timeout=120)
    return out.stdout + out.stderr


def test_update_through_a_link_then_a_plain_up_recreates_nothing(product: Harness, gh: GithubStandin,
                                                                 device: Device) -> None:
    h = product
    publish(gh, "scheduler", "1.2.0")
    h.run(["dunebugger-units", "check"], timeout=60)
    before = ids(h)

    h.systemctl("start", "dunebugger-update@scheduler.service", timeout=240)

    [result, *_] = history(h)
    assert (result["status"], result["message"]) == ("updated", "Updated scheduler to 1.2.0"), result
    after = ids(h)
    assert after["scheduler"] != before["scheduler"] and after["remote"] == before["remote"]
    # the link is still a link; its target names the new image, through the anchor, bytes otherwise unchanged
    assert device.compose_file.is_symlink() and str(device.compose_file.readlink()) == "compose/dunebugger.yml"
    real = device.root / REAL.lstrip("/")
    assert real.read_bytes() == COMPOSE.replace('dunebugger-scheduler:1.0.0"', 'dunebugger-scheduler:1.2.0"').encode()
    [backup] = sorted(device.backup_dir.glob("docker-compose.*.yml"))
    assert backup.read_bytes() == COMPOSE.encode()
    # what a boot or the installer runs: nothing is recreated
    said = plain_up(h)
    assert ids(h) == after, said
    assert "Recreate" not in said, said
    wait_health(h, "scheduler", "1.2.0", timeout=10)


def test_a_failed_update_is_rolled_back_through_the_link(product: Harness, gh: GithubStandin,
                                                        device: Device) -> None:
    h = product
    publish(gh, "scheduler", "1.3.0")  # exits at start
    h.run(["dunebugger-units", "check"], timeout=60)

    h.systemctl("start", "dunebugger-update@scheduler.service", check=False, timeout=240)
    h.wait_for(lambda: history(h, "rollback"), 120, "the OnFailure= rollback")
    h.wait_until_inactive("dunebugger-rollback@scheduler.service", timeout=120)

    [rollback] = history(h, "rollback")
    assert rollback["status"] == "rolled-back", rollback
    assert device.compose_file.is_symlink()
    assert (device.root / REAL.lstrip("/")).read_bytes() == COMPOSE.encode()
    wait_health(h, "scheduler", "1.0.0", timeout=20)
    assert json.loads(h.docker("container", "inspect", "dunebugger-scheduler").stdout)[0]["Config"]["Image"] == \
        ref("scheduler", "1.0.0")


def test_the_dry_run_says_what_would_be_written_where(product: Harness, gh: GithubStandin, device: Device) -> None:
    h = product
    publish(gh, "scheduler", "1.2.0")
    h.run(["dunebugger-units", "check"], timeout=60)
    out = h.run(["dunebugger-units", "run-update", "scheduler", "--dry-run", "--json"], timeout=120)
    plan = json.loads(out.stdout)["plan"]
    assert plan["image_to"] == ref("scheduler", "1.2.0")
    assert f"in {REAL} (the target of the link {INSIDE.compose_file})" in plan["steps"][2]
    assert plan["steps"][3] == f"docker compose -f {INSIDE.compose_file} up -d scheduler"
    assert '-x-scheduler-image: &scheduler-image "' in plan["compose_diff"]
