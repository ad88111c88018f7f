"""org.dunebugger.Updater1 for real: dbus-daemon starts it on the first call (the activation file and the
bus policy of packaging/dbus/), members of `dunebugger` may call it and nobody else, it starts our units in
mode `replace` and signals the outcome, and it exits once idle. The remote's group may no longer start any
unit itself, in any job mode, so a restart of dunebugger.service cannot be cancelled by the remote."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from kits.containerkit import MANIFEST_URL, publish
from kits.devicekit import Device, publish_defaults
from kits.harness import Harness
from kits.productkit import REPO, VENV, install_product, write_config
from kits.standin import GithubStandin

INSIDE = Device(Path("/"))
PYTHON = str(VENV / "bin" / "python")
DOOR = "dunebugger-updater1.service"

CLIENT = """
import json, sys
from dunebugger_units.remote.client import ClientError, UpdaterClient
client = UpdaterClient(deadline=300)
try:
    if sys.argv[1] == "check":
        print(json.dumps({"ok": client.check()}))
    elif sys.argv[1] == "components":
        print(json.dumps({"ok": client.components()}))
    else:
        events = client.update(sys.argv[2], dry_run=sys.argv[1] == "dry-run", version=sys.argv[3])
        print(json.dumps({"ok": [[e.kind, e.data] for e in events]}))
except ClientError as exc:
    print(json.dumps({"error": str(exc)}))
"""

START_WITH_MODE = """
import asyncio, json, sys
from sdbus import sd_bus_open_system
from sdbus.exceptions import SdBusBaseError
from dunebugger_units.systemd import MANAGER_PATH, SYSTEMD, ManagerInterface, dbus_error_name

async def main():
    try:
        return {"ok": await ManagerInterface.new_proxy(SYSTEMD, MANAGER_PATH, sd_bus_open_system())
                .start_unit(sys.argv[1], sys.argv[2])}
    except SdBusBaseError as exc:
        return {"error": dbus_error_name(exc)}

print(json.dumps(asyncio.run(main())))
"""

# Root queues the restart of dunebugger.service and reports the job's result when it ends.
RESTART_AND_WAIT = """
import json
from dunebugger_units.systemd import Systemd
with Systemd.connect() as sd:
    print(json.dumps({"result": sd.run_job("restart", "dunebugger.service", 60)}), flush=True)
"""

# A show that takes a few seconds to come back: its restart job stays queued long enough to be attacked.
SLOW_SHOW = """[Unit]
Description=core stand-in whose start takes 15 s
[Service]
ExecStartPre=/bin/sleep 15
ExecStart=/bin/sleep infinity
"""

pytestmark = pytest.mark.releases.with_args(publish_defaults)


@pytest.fixture
def door(booted: Harness, gh: GithubStandin) -> Harness:
    h = booted
    install_product(h, INSIDE.config(gh.url))
    h.write_file("/etc/polkit-1/rules.d/50-dunebugger-units.rules",
                 (REPO / "packaging/polkit/50-dunebugger-units.rules").read_bytes())
    h.run(["useradd", "--create-home", "--groups", "dunebugger", "remoteuser"])
    h.run(["useradd", "--create-home", "outsider"])
    return h


def as_user(h: Harness, user: str, program: str, *args: str, timeout: float = 300) -> dict[str, Any]:
    out = h.run([PYTHON, "-c", program, *args], user=user, timeout=timeout)
    assert "Traceback" not in out.stderr, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def show(h: Harness, prop: str, unit: str) -> str:
    return h.systemctl("show", "-P", prop, unit).stdout.strip()


def test_a_member_checks_and_lists_through_the_door_which_is_started_on_demand(door: Harness) -> None:
    h = door
    assert show(h, "ActiveState", DOOR) == "inactive"
    answer = as_user(h, "remoteuser", CLIENT, "check")
    assert "ok" in answer, answer
    assert answer["ok"]["components"]["core"]["latest"] == "1.2.0", answer
    assert show(h, "Result", "dunebugger-check.service") == "success"
    assert show(h, "ActiveState", DOOR) == "active"  # bus-activated by that call
    listed = as_user(h, "remoteuser", CLIENT, "components")["ok"]["components"]
    assert set(listed) == {"core", "scheduler", "remote"}
    assert (listed["core"]["current"], listed["core"]["latest"], listed["core"]["running"]) == ("1.0.0", "1.2.0",
                                                                                               False)
    assert any("Updater1: started dunebugger-check.service" in m
               for m in h.journal_messages(unit=DOOR)), "the door names each start in the journal"


@pytest.mark.containers
def test_a_dry_run_through_the_door_reports_progress_and_the_recorded_result(door: Harness,
                                                                            gh: GithubStandin) -> None:
    h = door
    write_config(h, INSIDE.config(gh.url, manifest_url=MANIFEST_URL))
    publish(gh, "scheduler", "1.2.0")
    as_user(h, "remoteuser", CLIENT, "check")
    events = as_user(h, "remoteuser", CLIENT, "dry-run", "scheduler", "")["ok"]
    *progress, (kind, result) = events
    assert kind == "result"
    assert (result["component"], result["action"], result["status"], result["success"]) == \
        ("scheduler", "dry-run", "dry-run", True), result
    assert result["message"].startswith("Dry run: scheduler 1.0.0 -> 1.2.0")
    # the Progress signals of this job, passed on as they came: "starting" at once, then the unit's status texts
    assert progress[0] == ["progress", {"phase": "starting"}], events
    assert all(k == "progress" and d["phase"] for k, d in progress), events
    assert show(h, "Result", "dunebugger-update-dry-run@scheduler.service") == "success"
    assert show(h, "InvocationID", "dunebugger-update@scheduler.service") == ""  # nothing was installed


@pytest.mark.parametrize(("component", "version", "why"), [
    pytest.param("../etc", "", "unknown component '../etc'", id="path-component"),
    pytest.param("nats", "", "unknown component 'nats' (known: core, scheduler, remote)", id="unknown-component"),
    pytest.param("x" * 5000, "", "unknown component 'xxxx", id="huge-component"),
    pytest.param("core", "1.2.0; rm -rf /", "version '1.2.0; rm -rf /' of core is not a plain version",
                 id="shell-version"),
    pytest.param("core", "../../1.2.0", "is not a plain version", id="path-version"),
])
def test_hostile_arguments_are_refused_before_anything_starts(door: Harness, component: str, version: str,
                                                              why: str) -> None:
    h = door
    answer = as_user(h, "remoteuser", CLIENT, "update", component, version)
    assert why in answer.get("error", ""), answer
    assert "\n" not in answer["error"]
    assert show(h, "InvocationID", "dunebugger-update@core.service") == ""  # nothing ran
    assert not h.path("/var/lib/dunebugger-units/requests/core.json").exists()


def test_the_kits_user_calls_the_door_without_its_supplementary_groups(door: Harness) -> None:
    """As in its container (compose `user: "<uid>:<gid>"` of dunebugger-remote): no supplementary group."""
    h = door
    uid, gid = h.run(["getent", "passwd", "dunebugger-remote"]).stdout.split(":")[2:4]
    out = h.run(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", PYTHON, "-c", CLIENT,
                 "components"], timeout=120)
    answer = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(answer.get("ok", {}).get("components", {})) == {"core", "scheduler", "remote"}, answer


def test_an_outsider_cannot_call_the_door_nor_start_it(door: Harness) -> None:
    h = door
    uid = h.run(["id", "-u", "outsider"]).stdout.strip()
    answer = as_user(h, "outsider", CLIENT, "check")
    assert answer.get("error", "").startswith(
        f"asking org.dunebugger.Updater1 for dunebugger-check.service: permission refused for uid {uid}"), answer
    # dbus-daemon refused the call itself: the service was never started, nor the check
    assert show(h, "InvocationID", DOOR) == ""
    assert show(h, "InvocationID", "dunebugger-check.service") == ""
    refused = h.run(["busctl", "call", "org.dunebugger.Updater1", "/org/dunebugger/Updater1",
                     "org.dunebugger.Updater1", "Components"], user="outsider", check=False)
    assert refused.returncode != 0 and "Access denied" in refused.stderr, refused.stderr
    # and a member may call only the door's own interface
    properties = h.run(["busctl", "call", "org.dunebugger.Updater1", "/org/dunebugger/Updater1",
                        "org.freedesktop.DBus.Properties", "GetAll", "s", "org.dunebugger.Updater1"],
                       user="remoteuser", check=False)
    assert properties.returncode != 0 and "Access denied" in properties.stderr, properties.stderr


def test_the_door_exits_once_idle(door: Harness) -> None:
    h = door
    as_user(h, "remoteuser", CLIENT, "components")
    assert show(h, "ActiveState", DOOR) == "active"
    started = time.monotonic()
    h.wait_for(lambda: show(h, "ActiveState", DOOR) == "inactive", 90, "the door to exit once idle")
    assert time.monotonic() - started >= 10  # idle means idle: not on the heels of the call
    assert show(h, "Result", DOOR) == "success"
    # and the next call starts it again
    assert "core" in as_user(h, "remoteuser", CLIENT, "components")["ok"]["components"]
    assert show(h, "ActiveState", DOOR) == "active"


@pytest.mark.parametrize("mode", ["flush", "isolate", "replace-irreversibly", "replace"])
def test_a_member_may_start_no_unit_in_any_mode(door: Harness, mode: str) -> None:
    h = door
    for unit in ("dunebugger-check.service", "dunebugger-update@core.service"):
        answer = as_user(h, "remoteuser", START_WITH_MODE, unit, mode)
        assert answer == {"error": "org.freedesktop.DBus.Error.AccessDenied"}, (unit, answer)
        assert show(h, "InvocationID", unit) == ""


def restart_show(h: Harness) -> subprocess.Popen[str]:
    """Queue the restart of dunebugger.service as root; the process prints the job's result at its end."""
    waiting = subprocess.Popen([*h.nsenter_argv(), PYTHON, "-c", RESTART_AND_WAIT], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"})
    h.wait_for(lambda: "dunebugger.service" in h.systemctl("list-jobs").stdout, 30, "the restart job")
    return waiting


def job_result(waiting: subprocess.Popen[str]) -> str:
    out, err = waiting.communicate(timeout=90)
    assert "Traceback" not in err, err
    return str(json.loads(out.strip().splitlines()[-1])["result"])


def test_the_show_keeps_running_through_a_restart_the_remote_tries_to_flush(door: Harness) -> None:
    h = door
    h.write_file("/etc/systemd/system/dunebugger.service", SLOW_SHOW)
    h.systemctl("daemon-reload")
    h.systemctl("start", "dunebugger.service", timeout=30)

    # what the remote must not be able to do: root's `flush` cancels the queued restart, and the show stays down
    waiting = restart_show(h)
    assert as_user(h, "root", START_WITH_MODE, "dunebugger-check.service", "flush").get("ok"), "root may flush"
    assert job_result(waiting) == "canceled"
    h.systemctl("start", "dunebugger.service", timeout=30)

    # the remote's group tries every cancelling mode while the restart is queued: refused, the restart completes
    waiting = restart_show(h)
    for mode in ("flush", "isolate", "replace-irreversibly"):
        answer = as_user(h, "remoteuser", START_WITH_MODE, "dunebugger-check.service", mode)
        assert answer == {"error": "org.freedesktop.DBus.Error.AccessDenied"}, (mode, answer)
    # through the door it gets its check, in mode replace, next to the restart
    assert "ok" in as_user(h, "remoteuser", CLIENT, "check")
    assert job_result(waiting) == "done"
    assert show(h, "ActiveState", "dunebugger.service") == "active"
