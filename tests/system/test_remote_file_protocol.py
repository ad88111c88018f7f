"""The remote's file protocol, for real: a stand-in that writes and polls exactly as the shipped remote does
(tests/kits/fileproto_standin.py) runs in the remote's container as its user (dunebugger-remote), with
/var/dunebugger/updates mounted as the device's compose file mounts it; the request dirs are made by the
package's tmpfiles.d file; dunebugger-remote-requests.path starts the real oneshot, which starts the real
update and rollback units. Updates of scheduler, core and remote itself (with the default stability window),
already up to date, rollback, a failed update rolled back, two requests at once, every hostile request, and a
request left from before a reboot."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from kits import corekit, crashkit
from kits.containerkit import IMAGES, PORTS, images_once, publish, ref, running_image, wait_health
from kits.devicekit import Device
from kits.harness import REGISTRY, Harness, busybox_rootfs
from kits.productkit import REPO, history, install_product
from kits.remoteimage import python_rootfs
from kits.standin import GithubStandin

STANDIN = "/app/fileproto_standin.py"
PATH_UNIT = "dunebugger-remote-requests.path"
UPDATES = "/var/dunebugger/updates"
BROKEN_REMOTE = "1.3.0"
COMPOSE = f"""\
services:
  remote:
    image: {REGISTRY}/dunebugger-remote:1.0.0
    container_name: dunebugger-remote
    network_mode: host
    init: true
    restart: unless-stopped
    env_file: .env
    user: "@REMOTE_UID_GID@"
    volumes:
      - /var/dunebugger/updates:/var/dunebugger/updates

  scheduler:
    image: "{REGISTRY}/dunebugger-scheduler:1.0.0"
    container_name: dunebugger-scheduler
    network_mode: host
    init: true
    restart: unless-stopped
    env_file: .env
"""


def lay_out_protocol_dirs(h: Harness) -> None:
    """/var/dunebugger as the installer leaves it (pi's), then the package's tmpfiles.d file."""
    h.run(["install", "-d", "-o", "pi", "-g", "pi", "-m", "0755", "/var/dunebugger"])
    h.write_file("/usr/lib/tmpfiles.d/dunebugger-units.conf",
                 (REPO / "packaging/tmpfiles.d/dunebugger-units.conf").read_bytes())
    h.run(["systemd-tmpfiles", "--create", "dunebugger-units.conf"])
    h.run(["install", "-d", "-m", "0755", "/var/lib/dunebugger-units"])


IMAGES_PROTOCOL = "file-protocol-images"  # built once per run, see containerkit.images_once


def build_images(h: Harness, root: Path) -> None:
    """scheduler's busybox images, and the remote: the file-protocol stand-in, one tag per version."""

    def build() -> None:
        for (component, version), (files, cmd) in IMAGES.items():
            if component == "scheduler" and version in ("1.0.0", "1.2.0", "1.3.0"):
                h.import_image(ref(component, version), busybox_rootfs(root / f"{component}-{version}", files), cmd)
                if version != "1.0.0":
                    h.docker("rmi", ref(component, version))
        base = f"{REGISTRY}/remote-base:1"
        h.import_image(base, python_rootfs(), ["/usr/bin/python3"])
        h.write_file("/usr/local/lib/fileproto_standin.py", (REPO / "tests/kits/fileproto_standin.py").read_bytes())
        for version in ("1.0.0", "1.2.0", BROKEN_REMOTE):
            cmd = (["sh", "-c", "echo 'remote 1.3.0: bad config' >&2; exit 3"] if version == BROKEN_REMOTE
                   else ["/usr/bin/python3", STANDIN, "main", "--version", version])
            container = h.docker("create", base).stdout.strip()
            h.docker("cp", "/usr/local/lib/fileproto_standin.py", f"{container}:{STANDIN}")
            h.docker("commit", "--change", f"CMD {json.dumps(cmd)}", container, ref("remote", version))
            h.docker("rm", container)
            h.docker("push", ref("remote", version))
            if version != "1.0.0":
                h.docker("rmi", ref("remote", version))

    images_once(h, IMAGES_PROTOCOL, build, [ref("scheduler", "1.0.0"), f"{REGISTRY}/remote-base:1",
                                             ref("remote", "1.0.0")])


def protocol_compose(device: Device) -> None:
    """The device's compose file: remote and scheduler, remote as its host user with the protocol's volume."""
    device.compose_file.write_text(COMPOSE)
    (device.compose_file.parent / ".env").write_text("NATS_URL=nats://127.0.0.1:4222\n")


pytestmark = [pytest.mark.docker(IMAGES_PROTOCOL), pytest.mark.device.with_args(protocol_compose)]


@pytest.fixture
def served(booted: Harness, gh: GithubStandin, device: Device, tmp_path: Path) -> Harness:
    """Core 1.0.0 (a real dunebugger.service), scheduler and remote 1.0.0 in docker, the request dirs from the
    tmpfiles.d file, and the .path unit enabled. The stability window stays at its default (10 s)."""
    h = booted
    build_images(h, tmp_path / "images")
    config = corekit.updater_config(device, gh.url)
    config["update"].pop("stability_seconds")
    config["components"]["scheduler"] = {"health_url": f"http://127.0.0.1:{PORTS['scheduler']}/health"}
    install_product(h, config)  # the sysusers.d file: dunebugger-remote, with a free uid
    corekit.install_core(h, device)  # pi, and core 1.0.0 running
    lay_out_protocol_dirs(h)
    # the container runs as the remote's host user, whose uid systemd-sysusers picked
    uid_gid = ":".join(h.run(["getent", "passwd", "dunebugger-remote"]).stdout.split(":")[2:4])
    device.compose_file.write_text(device.compose_file.read_text().replace("@REMOTE_UID_GID@", uid_gid))
    h.run(["docker", "compose", "-f", "/opt/dunebugger/docker-compose.yml", "up", "-d"], timeout=120)
    wait_health(h, "scheduler", "1.0.0")
    wait_started(h, "1.0.0")
    h.systemctl("enable", "--now", PATH_UNIT)
    return h


def events(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def in_remote(h: Harness, *args: str, timeout: float = 400) -> list[dict[str, Any]]:
    """The stand-in, run in the remote's container (its user, its mounts), as the remote's update code runs."""
    out = h.docker("exec", "dunebugger-remote", "python3", STANDIN, *args, timeout=timeout, check=False)
    return events(out.stdout)


def ask(h: Harness, component: str, version: str | None = None, action: str = "update") -> list[dict[str, Any]]:
    return in_remote(h, "request", component, "--action", action, *(["--version", version] if version else []))


def final(seen: list[dict[str, Any]]) -> dict[str, Any]:
    [done] = [e["status"] for e in seen if e["event"] == "final"]
    assert set(done) == {"request_id", "component", "action", "success", "message", "output", "error", "phase",
                         "timestamp"}
    assert done["phase"] == "completed"
    return done  # type: ignore[no-any-return]


def phases(seen: list[dict[str, Any]]) -> list[str]:
    progress = [e["status"] for e in seen if e["event"] == "progress"]
    assert all(p["success"] is None and p["message"] == "in_progress" for p in progress)
    return [p["phase"] for p in progress]


def container_log(h: Harness) -> list[dict[str, Any]]:
    """What the remote's current container printed; nothing while compose replaces it."""
    out = h.docker("logs", "dunebugger-remote", check=False)
    return events(out.stdout) if out.returncode == 0 else []


def wait_started(h: Harness, version: str, timeout: float = 120) -> None:
    h.wait_for(lambda: {"event": "started", "version": version} in container_log(h), timeout,
               f"the remote stand-in {version} to start")




def left_in(h: Harness, sub: str) -> list[str]:
    return sorted(p.name for p in h.path(f"{UPDATES}/{sub}").iterdir())


def journaled(h: Harness, request_id: str) -> dict[str, Any]:
    [entry] = h.journal(f"REQUEST_ID={request_id}", "SYSLOG_IDENTIFIER=dunebugger-remote-requests")
    return entry


def test_updates_up_to_date_rollback_and_a_failed_update_of_scheduler_and_core(served: Harness,
                                                                                gh: GithubStandin) -> None:
    h = served
    publish(gh, "scheduler", "1.2.0")
    seen = ask(h, "scheduler", "1.2.0")
    done = final(seen)
    assert (done["success"], done["message"], done["component"], done["action"]) == (
        True, "Updated scheduler to 1.2.0", "scheduler", "update")
    # polled once a second, as the remote does: a short phase may pass unseen, but never out of order
    order = ["starting", "downloading", "installing", "verifying"]
    seen_phases = phases(seen)
    assert "verifying" in seen_phases  # "starting" is written first, and may be gone by the first poll
    assert seen_phases == sorted(seen_phases, key=order.index)
    assert running_image(h, "scheduler") == ref("scheduler", "1.2.0")
    assert left_in(h, "requests") == [] and left_in(h, "status") == []  # processed, and read by the remote
    entry = journaled(h, done["request_id"])
    assert (entry["COMPONENT"], entry["OUTCOME"], entry["ACTION"]) == ("scheduler", "succeeded", "update")

    again = final(ask(h, "scheduler", "1.2.0"))
    assert again["success"] is True and "1.2.0 is already installed" in again["message"]

    back = final(ask(h, "scheduler", action="rollback"))
    assert back["success"] is True and back["action"] == "rollback", back
    assert running_image(h, "scheduler") == ref("scheduler", "1.0.0")

    publish(gh, "scheduler", "1.3.0")  # exits at start
    seen = ask(h, "scheduler", "1.3.0")
    failed = final(seen)
    assert (failed["success"], failed["message"]) == (False, "Post-update checks failed, rolled back to v1.0.0")
    assert phases(seen)[-1] == "rolling_back"
    assert running_image(h, "scheduler") == ref("scheduler", "1.0.0")

    corekit.publish_all(gh, ["1.2.0"])
    core = final(ask(h, "core", "1.2.0"))
    assert (core["success"], core["message"]) == (True, "Updated core to 1.2.0")
    corekit.wait_healthy(h, "1.2.0")
    older = final(ask(h, "core", "1.0.0"))
    assert older["success"] is False and older["message"].startswith("Refused core 1.0.0: older than the installed")
    healthy = final(ask(h, "core", action="health"))
    assert (healthy["success"], healthy["message"]) == (True, "core 1.2.0 installed")
    assert corekit.health(h)["version"] == "1.2.0"  # type: ignore[index]


def test_remote_updates_itself_and_the_restarted_remote_reads_the_verdict(served: Harness,
                                                                           gh: GithubStandin) -> None:
    h = served
    publish(gh, "remote", "1.2.0")
    asking = ask(h, "remote", "1.2.0")  # its container is recreated under it: no final answer here
    assert not [e for e in asking if e["event"] == "final"], asking
    wait_started(h, "1.2.0")
    h.wait_for(lambda: any(e["event"] == "pending-outcome" for e in container_log(h)), 120,
               "the new remote to read its pending request")
    [outcome] = [e for e in container_log(h) if e["event"] == "pending-outcome"]
    assert (outcome["status"]["success"], outcome["status"]["message"], outcome["status"]["phase"]) == (
        True, "Updated remote to 1.2.0", "completed")
    assert running_image(h, "remote") == ref("remote", "1.2.0")
    assert left_in(h, "status") == [] and not h.path(f"{UPDATES}/.pending_remote_request").exists()

    publish(gh, "remote", BROKEN_REMOTE)
    asking = ask(h, "remote", BROKEN_REMOTE)
    assert not [e for e in asking if e["event"] == "final"], asking  # its container was replaced under it
    h.wait_for(lambda: any(e["event"] == "pending-outcome" for e in container_log(h)), 240,
               "the rolled-back remote to read its pending request")
    [outcome] = [e for e in container_log(h) if e["event"] == "pending-outcome"]
    assert (outcome["status"]["success"], outcome["status"]["message"]) == (
        False, "Post-update checks failed, rolled back to v1.2.0")
    assert running_image(h, "remote") == ref("remote", "1.2.0")
    assert left_in(h, "status") == [] and left_in(h, "requests") == []


HOSTILE = {
    # file name -> (what the remote's user plants there, the reason in the answer)
    "a1.json": ("os.symlink('/etc/shadow', p)", "Request file a1.json is a symlink"),
    "a2.json": ("os.mkfifo(p)", "Request file a2.json is a fifo"),
    "a3.json": ("open(p, 'w').write(' ' * 5000)", "Request larger than 4096 bytes"),
    "a4.json": ("open(p, 'w').write('{\"component\": ')", "Invalid JSON in request file"),
    "a5.json": ("json.dump(dict(BODY, component='nats-server'), open(p, 'w'))", "Unknown component: nats-server"),
    "a6.json": ("json.dump(dict(BODY, action='shell'), open(p, 'w'))", "Invalid action: shell"),
    "a7.json": ("json.dump({k: v for k, v in BODY.items() if k != 'request_id'}, open(p, 'w'))",
                "Missing 'request_id' field"),
    "a8.json": ("json.dump(dict(BODY, request_id='../escaped'), open(p, 'w'))", "Invalid request_id: ../escaped"),
    "a9.json": ("json.dump(dict(BODY, version='0.0.1'), open(p, 'w'))", "Refused scheduler 0.0.1: older"),
}
PLANT = """
import json, os, sys
BODY = {"component": "scheduler", "action": "update", "version": "1.2.0", "timestamp": "2026-12-06T10:00:00"}
name = sys.argv[1]
BODY["request_id"] = name[:-5]
p = "/var/dunebugger/updates/requests/" + name
"""


def test_two_requests_at_once_and_every_hostile_request(served: Harness, gh: GithubStandin) -> None:
    h = served
    publish(gh, "scheduler", "1.2.0")
    argv = [*h.nsenter_argv(), "docker", "exec", "dunebugger-remote", "python3", STANDIN, "request"]
    env = h.inside_env(None)
    with subprocess.Popen([*argv, "scheduler", "--version", "1.2.0"], stdout=subprocess.PIPE, text=True,
                          env=env) as first:
        h.wait_for(lambda: left_in(h, "requests") or left_in(h, "status"), 30, "the first request")
        second = events(subprocess.run([*argv, "core", "--version", "1.2.0"], capture_output=True, text=True,
                                       env=env, timeout=120, check=False).stdout)
        slow = events(subprocess.run([*argv, "scheduler", "--version", "1.2.0", "--slow"], capture_output=True,
                                     text=True, env=env, timeout=120, check=False).stdout)
        out, _ = first.communicate(timeout=300)
    assert (final(second)["success"], final(second)["message"]) == (False, "Another update is already in progress")
    # written in two pieces a while apart: waited out, never answered as bad JSON
    assert final(slow)["message"] == "Another update is already in progress"
    assert (final(events(out))["success"], final(events(out))["message"]) == (True, "Updated scheduler to 1.2.0")
    assert journaled(h, final(second)["request_id"])["OUTCOME"] == "busy"

    results_before = len(history(h, 1000))
    h.systemctl("stop", PATH_UNIT)  # all planted at once, as a hostile remote could
    for name, (plant, _reason) in HOSTILE.items():
        h.docker("exec", "dunebugger-remote", "python3", "-c", PLANT + plant, name)
    h.systemctl("start", PATH_UNIT)
    for name, (_plant, reason) in HOSTILE.items():
        answer = final(in_remote(h, "poll", name[:-5], "--timeout", "60"))
        assert answer["success"] is False and answer["message"].startswith(reason), (name, answer)
    h.wait_for(lambda: left_in(h, "requests") == [], 30, "every hostile request to be removed")
    assert left_in(h, "status") == []
    assert sorted(p.name for p in h.path(UPDATES).iterdir()) == ["requests", "status"]  # nothing escaped
    assert h.path("/etc/shadow").stat().st_size > 0
    # nothing else changed: no update ran, scheduler still runs 1.2.0
    assert len(history(h, 1000)) == results_before
    assert running_image(h, "scheduler") == ref("scheduler", "1.2.0")
    entries = h.journal("SYSLOG_IDENTIFIER=dunebugger-remote-requests")
    assert {e.get("REQUEST_ID") for e in entries} >= {n[:-5] for n in HOSTILE}


def test_a_request_left_from_before_a_reboot_is_answered_at_boot(system_deps: None, tmp_path: Path,
                                                                 device: Device) -> None:
    first = crashkit.boot(tmp_path, device)  # what survives a reboot: the unit files, the state, /var
    try:
        install_product(first, Device(Path("/")).config("http://127.0.0.1:9"))
        first.run(["useradd", "--user-group", "--no-create-home", "pi"])
        lay_out_protocol_dirs(first)
        first.systemctl("enable", PATH_UNIT)  # enabled, not started: the device goes down before it looks
        request = {"component": "core", "action": "update", "version": None, "request_id": "left-before-reboot",
                   "timestamp": "2026-12-06T10:00:00"}
        first.run(["sh", "-c", f"cat > {UPDATES}/requests/left-before-reboot.json"], user="dunebugger-remote",
                  input=json.dumps(request, indent=2))
    finally:
        first.poweroff()
    second = crashkit.boot(tmp_path, device)
    try:
        status = second.path(f"{UPDATES}/status/left-before-reboot.json")
        second.wait_for(lambda: status.exists() and json.loads(status.read_text())["phase"] == "completed", 120,
                        "the request to be answered at boot")
        answer = json.loads(status.read_text())
        assert answer["success"] is False
        # GitHub is out of reach here: root cannot tell whether remote has an update, so core waits (remote first)
        assert answer["message"].startswith("pre-update check failed: remote first: Cannot update core before "
                                            "remote"), answer
        assert left_in(second, "requests") == []
        assert journaled(second, "left-before-reboot")["OUTCOME"] == "failed"
    finally:
        second.poweroff()
