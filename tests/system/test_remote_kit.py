"""The integration kit, for real: the remote stand-in runs as the `remote` service of the compose file, in a
real container (an image holding only python, sdbus, websockets and the client's modules: tests/kits/remoteimage.py),
configured exactly as packaging/ says: the sysusers.d user, the compose keys of packaging/compose merged into
the compose file, the polkit rule, Updater1's bus policy. Through org.dunebugger.Updater1 on the real system bus
it checks, updates, dry-runs, rolls back, updates itself, and broadcasts what systemctl started."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from kits.containerkit import COMPOSE, IMAGES, INSIDE, PORTS, images_once, publish, ref, wait_health
from kits.devicekit import Device
from kits.harness import REGISTRY, Harness, busybox_rootfs
from kits.productkit import REPO
from kits.remoteimage import STANDIN, python_rootfs
from kits.remotekit import PORT, _listening, converse, frontend, receive, wait_broadcast
from kits.standin import GithubStandin
from websockets.exceptions import ConnectionClosed

KIT = REPO / "packaging" / "compose" / "remote.override.yml"
# prints the kit's keys naming this host's dunebugger-remote, as the package writes them at install time
KEYS = REPO / "packaging" / "lib" / "remote-compose-keys"
# a remote that fails at start: its update must roll back
BROKEN_REMOTE = "1.3.0"


def merged_compose(keys: str) -> str:
    """The test device's compose file with the kit's keys merged into `remote`, as the README says to."""
    compose = yaml.safe_load(COMPOSE)
    remote = compose["services"]["remote"]
    remote.pop("volumes", None)
    for key, value in yaml.safe_load(keys)["services"]["remote"].items():
        remote[key] = [*remote.get(key, []), *value] if isinstance(value, list) else value
    return yaml.safe_dump(compose, sort_keys=False)


def standin_cmd(version: str) -> list[str]:
    return ["/usr/bin/python3", STANDIN, "--port", str(PORT), "--health-port", str(PORTS["remote"]),
            "--version", version]


IMAGES_KIT = "remote-kit-images"  # built once per run, see `images_once`


def build_images(h: Harness, root: Path) -> None:
    """scheduler: the busybox images of containerkit; remote: the stand-in image, one tag per version."""

    def build() -> None:
        for (component, version), (files, cmd) in IMAGES.items():
            if component == "scheduler":
                h.import_image(ref(component, version), busybox_rootfs(root / f"{component}-{version}", files), cmd)
                if version != "1.0.0":
                    h.docker("rmi", ref(component, version))
        base = f"{REGISTRY}/remote-base:1"
        h.import_image(base, python_rootfs(), ["/usr/bin/python3"])
        for version, cmd in (("1.0.0", standin_cmd("1.0.0")), ("1.2.0", standin_cmd("1.2.0")),
                             (BROKEN_REMOTE, ["sh", "-c", "echo 'remote 1.3.0: bad config' >&2; exit 3"])):
            container = h.docker("create", base).stdout.strip()
            h.docker("commit", "--change", f"CMD {json.dumps(cmd)}", container, ref("remote", version))
            h.docker("rm", container)
            h.docker("push", ref("remote", version))
            if version != "1.0.0":
                h.docker("rmi", ref("remote", version))

    images_once(h, IMAGES_KIT, build, [ref("scheduler", "1.0.0"), ref("remote", "1.0.0")])


def kit_compose(device: Device) -> None:
    """The test device's compose file; the kit's keys go in once its user exists (`remote`)."""
    device.compose_file.write_text(COMPOSE)
    (device.compose_file.parent / ".env").write_text("NATS_URL=nats://127.0.0.1:4222\n")


def scheduler_1_0_0(gh: GithubStandin) -> None:
    publish(gh, "scheduler", "1.0.0")


pytestmark = [pytest.mark.docker(IMAGES_KIT), pytest.mark.device.with_args(kit_compose),
              pytest.mark.releases.with_args(scheduler_1_0_0), pytest.mark.updater(health_timeout=20)]


@pytest.fixture
def remote(product: Harness, tmp_path: Path) -> Harness:
    """The product with the kit: its sysusers.d user, the polkit rule, and the compose file with the kit's
    keys; then `docker compose up -d` starts the remote stand-in's container."""
    h = product  # install_product ran systemd-sysusers on the kit's file: dunebugger-remote, a free uid
    build_images(h, tmp_path / "images")
    # the script and its template as the package installs them (the checkout may not be visible inside `h`)
    h.write_file("/usr/lib/dunebugger-units/remote-compose-keys", KEYS.read_bytes(), mode=0o755)
    h.write_file("/usr/share/dunebugger-units/remote.override.yml", KIT.read_bytes())
    keys = h.run(["sh", "/usr/lib/dunebugger-units/remote-compose-keys",
                  "/usr/share/dunebugger-units/remote.override.yml"]).stdout
    h.write_file(str(INSIDE.compose_file), merged_compose(keys))
    h.write_file("/etc/polkit-1/rules.d/50-dunebugger-units.rules",
                 (REPO / "packaging/polkit/50-dunebugger-units.rules").read_bytes())
    h.run(["install", "-d", "-m", "0755", "/var/lib/dunebugger-units"])
    h.run(["docker", "compose", "-f", str(INSIDE.compose_file), "up", "-d"], timeout=120)
    wait_remote(h, "1.0.0")
    wait_health(h, "scheduler", "1.0.0")
    return h


def wait_remote(h: Harness, version: str, timeout: float = 120) -> None:
    wait_health(h, "remote", version, timeout=timeout)
    h.wait_for(lambda: _listening(h), timeout, "the remote stand-in to listen")


def running_image(h: Harness, component: str) -> str:
    return h.docker("inspect", "--format", "{{.Config.Image}}", f"dunebugger-{component}").stdout.strip()


def is_result(component: str, message: str) -> Any:
    return lambda r: (r["subject"] == "update_result" and r["body"]["component"] == component
                      and r["body"]["message"] == message)


OUTCOME = """
import json
from dunebugger_units.remote.client import UpdaterClient
print(json.dumps(UpdaterClient().remote_update_outcome(timeout=240)))
"""


def outcome_in_container(h: Harness) -> dict[str, Any]:
    """The documented call, made by a process of the new remote container (as its user, with its mounts)."""
    out = h.docker("exec", "dunebugger-remote", "python3", "-c", OUTCOME, timeout=300).stdout
    return json.loads(out)  # type: ignore[no-any-return]


def test_the_container_is_configured_as_the_kit_says(remote: Harness) -> None:
    h = remote
    inspect = json.loads(h.docker("inspect", "dunebugger-remote").stdout)[0]
    ids = h.run(["getent", "passwd", "dunebugger-remote"]).stdout.split(":")[2:4]
    assert inspect["Config"]["User"] == ":".join(ids)
    mounts = {m["Destination"]: (m["Source"], m["RW"]) for m in inspect["Mounts"]}
    assert mounts == {"/run/dbus": ("/run/dbus", False), "/opt/dunebugger": ("/opt/dunebugger", False),
                      "/var/lib/dunebugger-units": ("/var/lib/dunebugger-units", False)}
    assert "dunebugger" in h.run(["id", "-nG", "dunebugger-remote"]).stdout.split()
    # nothing of the updater's own dependency set is in the image
    missing = h.docker("exec", "dunebugger-remote", "python3", "-c",
                       "import importlib.util as u; print([m for m in ('requests', 'yaml', 'ruamel', 'click', "
                       "'packaging') if u.find_spec(m)])").stdout.strip()
    assert missing == "[]"


def test_check_update_dry_run_rollback_and_a_systemctl_update_through_the_kit(remote: Harness, gh: GithubStandin,
                                                                             device: Device) -> None:
    h = remote
    publish(gh, "scheduler", "1.2.0")
    with frontend(h) as ws:
        heard: list[dict[str, Any]] = []
        [checked] = converse(ws, {"subject": "updater.check_updates"}, broadcasts=heard)
        scheduler = checked["body"]["components"]["scheduler"]
        assert (scheduler["current"], scheduler["latest"], scheduler["update_available"]) == ("1.0.0", "1.2.0", True)
        assert (scheduler["name"], scheduler["current_version"], scheduler["latest_version"],
                scheduler["component_type"], scheduler["prerelease"]) == ("scheduler", "1.0.0", "1.2.0",
                                                                          "container", False)
        info = heard[0] if heard else receive(ws, 30)
        assert info["subject"] == "system_info" and info["destination"] == "broadcast"
        [listed] = [c for c in info["body"]["dunebugger_components"] if c["name"] == "scheduler"]
        assert {k: listed[k] for k in ("state", "version")} == {"state": "update-available", "version": "1.0.0"}
        assert {k: listed[k] for k in ("running", "current_version", "latest_version", "update_available")} == \
            {"running": True, "current_version": "1.0.0", "latest_version": "1.2.0", "update_available": True}

        before = device.compose_file.read_bytes()
        *_, dry = converse(ws, {"subject": "updater.perform_update",
                                "body": {"component": "scheduler", "dry_run": True}})
        assert dry["body"]["success"] is True and dry["body"]["dry_run"] is True
        assert dry["body"]["message"].startswith("Dry run: scheduler 1.0.0 -> 1.2.0")
        assert device.compose_file.read_bytes() == before

        *progress, done = converse(ws, {"subject": "updater.perform_update", "body": {"component": "scheduler"},
                                        "connectionId": "asker"}, broadcasts=heard)
        assert progress and all(p["subject"] == "update_progress" for p in progress)
        assert done == {"subject": "update_result", "source": "controller", "destination": "asker",
                        "body": {"component": "scheduler", "success": True, "message": "Updated scheduler to 1.2.0",
                                 "dry_run": False}}
        # ... and every frontend hears it too, also as a `log` message
        wait_broadcast(ws, is_result("scheduler", "Updated scheduler to 1.2.0"), 60, heard)
        log = wait_broadcast(ws, lambda r: r["subject"] == "log" and "Updated scheduler" in r["body"]["message"], 60,
                             heard)
        assert log["body"] == {"success": True, "message": "Updated scheduler to 1.2.0", "level": "info"}
        assert running_image(h, "scheduler") == ref("scheduler", "1.2.0")

        again = converse(ws, {"subject": "updater.update", "body": "scheduler"})[-1]
        assert again["subject"] == "log" and "already up to date" in again["body"]["message"]
        assert again["body"]["level"] == "info"

        publish(gh, "scheduler", "1.3.0")  # exits at start
        converse(ws, {"subject": "updater.check_updates"})
        *_, failed = converse(ws, {"subject": "updater.perform_update", "body": {"component": "scheduler"}})
        assert failed["body"]["success"] is False
        assert failed["body"]["message"] == "Post-update checks failed, rolled back to v1.2.0"
        assert running_image(h, "scheduler") == ref("scheduler", "1.2.0")

        # started by a person on the device, not by any frontend: still every frontend hears the outcome
        publish(gh, "scheduler", "1.5.0")
        h.run(["dunebugger-units", "check"], check=False, timeout=120)
        h.systemctl("start", "--no-block", "dunebugger-update@scheduler.service")
        heard_update = wait_broadcast(ws, is_result("scheduler", "Updated scheduler to 1.5.0"), 240, heard)
        assert heard_update["body"]["success"] is True
    wait_health(h, "scheduler", "1.5.0", timeout=10)


def test_remote_updates_itself_and_rolls_back_through_the_kit(remote: Harness, gh: GithubStandin) -> None:
    h = remote
    publish(gh, "scheduler", "1.2.0")
    publish(gh, "remote", "1.2.0")
    with frontend(h) as ws:
        converse(ws, {"subject": "updater.check_updates"})
        # the default rule (policy.remote_first: available): remote first, and the answer names the rule
        refused = converse(ws, {"subject": "updater.perform_update", "body": {"component": "scheduler"}})[-1]
        assert refused["body"]["success"] is False
        assert "Cannot update scheduler before remote" in refused["body"]["message"]
        assert "policy.remote_first: available" in refused["body"]["message"]
        assert running_image(h, "scheduler") == ref("scheduler", "1.0.0")

        # the asker's remote is replaced on the way: it says so, then its connection ends
        with pytest.raises((ConnectionClosed, TimeoutError)):
            converse(ws, {"subject": "updater.perform_update", "body": {"component": "remote"},
                          "connectionId": "asker"}, timeout=120)
    wait_remote(h, "1.2.0")
    with frontend(h) as ws:
        answer = wait_broadcast(ws, is_result("remote", "Updated remote to 1.2.0"), 120)
    assert answer["body"]["success"] is True
    outcome = outcome_in_container(h)
    assert (outcome["action"], outcome["status"], outcome["to_version"]) == ("update", "updated", "1.2.0")
    assert running_image(h, "remote") == ref("remote", "1.2.0")

    publish(gh, "remote", BROKEN_REMOTE)
    with frontend(h) as ws:
        converse(ws, {"subject": "updater.check_updates"})
        with pytest.raises((ConnectionClosed, TimeoutError)):
            converse(ws, {"subject": "updater.perform_update", "body": {"component": "remote"}}, timeout=120)
    wait_remote(h, "1.2.0", timeout=180)
    with frontend(h) as ws:
        answer = wait_broadcast(ws, is_result("remote", "Post-update checks failed, rolled back to v1.2.0"), 180)
    assert answer["body"]["success"] is False
    outcome = outcome_in_container(h)
    assert (outcome["action"], outcome["status"]) == ("rollback", "rolled-back")
    assert outcome["message"] == "Post-update checks failed, rolled back to v1.2.0"
    assert running_image(h, "remote") == ref("remote", "1.2.0")
