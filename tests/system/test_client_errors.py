"""The remote's client never throws sdbus at its caller: each way the bus can fail becomes one line naming the
cause and the fix, and the message handler turns it into an error reply. All against the real system bus, bus
policy and org.dunebugger.Updater1 of a test systemd: a uid with no user, a missing socket, a refused user, a job
that outlasts the deadline, and dbus-daemon stopped in the middle of a wait."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from kits.devicekit import INSIDE
from kits.harness import Harness
from kits.productkit import REPO, VENV, install_product

PYTHON = str(VENV / "bin" / "python")

# Runs inside the harness: the client call and the handler's replies, as JSON.
PROBE = """
import json, sys
from dunebugger_units.remote.client import ClientError, UpdaterClient
from dunebugger_units.remote.messages import handle
subject, body, deadline = sys.argv[1], json.loads(sys.argv[2]), float(sys.argv[3])
client = UpdaterClient(deadline=deadline)
envelope = {"subject": subject, "body": body, "connectionId": "c"}
print(json.dumps({"replies": list(handle(envelope, client))}))
"""
CHECK = ("updater.check_updates", "null")
SLOW_UPDATE = ("updater.perform_update", json.dumps({"component": "scheduler"}))


@pytest.fixture(scope="module")
def bus_host(system_deps: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """One test systemd for the module (each case only reads, or ends what it started): the product, the polkit
    rule, an update of scheduler that takes a minute, and a user outside the `dunebugger` group."""
    booted = Harness.boot(tmp_path_factory.mktemp("client-errors") / "harness")
    try:
        install_product(booted, INSIDE.config("http://127.0.0.1:9"))
        booted.write_file("/etc/polkit-1/rules.d/50-dunebugger-units.rules",
                          (REPO / "packaging/polkit/50-dunebugger-units.rules").read_bytes())
        # an update that takes long: the deadline and the bus can end the wait first
        booted.write_file("/etc/systemd/system/dunebugger-update@scheduler.service.d/slow.conf",
                          "[Unit]\nOnFailure=\n[Service]\nExecStart=\nExecStart=/bin/sleep 60\n")
        booted.systemctl("daemon-reload")
        booted.run(["useradd", "--create-home", "outsider"])
        yield booted
    finally:
        booted.poweroff()


def probe(h: Harness, request: tuple[str, str], *, deadline: float = 30, prefix: tuple[str, ...] = (),
          env: dict[str, str] | None = None, user: str | None = None) -> dict[str, Any]:
    out = h.run([*prefix, PYTHON, "-c", PROBE, *request, str(deadline)], env=env, user=user, timeout=120)
    assert "Traceback" not in out.stderr, out.stderr
    [final] = [r for r in json.loads(out.stdout)["replies"] if r["subject"] in ("log", "update_result")]
    assert final["destination"] == "c"
    assert final["body"]["success"] is False
    if final["subject"] == "log":
        assert final["body"]["level"] == "error"
    return final


def test_a_uid_with_no_user_on_the_host(bus_host: Harness) -> None:
    h = bus_host
    reply = probe(h, CHECK, prefix=("setpriv", "--reuid=999", "--regid=999", "--clear-groups"))
    assert reply["body"]["message"] == (
        "update check failed: the system bus refused uid 999: it has no user on the host; run the remote's "
        "container as the kit's user dunebugger-remote (see Connecting the remote in "
        "/usr/share/doc/dunebugger-units/README.md)")


def test_no_bus_socket(bus_host: Harness) -> None:
    h = bus_host
    reply = probe(h, CHECK, env={"DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/run/nothing/system_bus_socket"})
    message = reply["body"]["message"]
    assert message.startswith("update check failed: cannot reach the system bus at "
                              "unix:path=/run/nothing/system_bus_socket: No such file or directory; "
                              "mount the host's /run/dbus into the remote's container")
    assert "sd_bus_internals" not in message


def test_access_denied(bus_host: Harness) -> None:
    h = bus_host
    uid = h.run(["id", "-u", "outsider"]).stdout.strip()
    reply = probe(h, CHECK, user="outsider")
    assert reply["body"]["message"].startswith(
        f"update check failed: asking org.dunebugger.Updater1 for dunebugger-check.service: permission refused for "
        f"uid {uid}: the uid must belong to a host user in the dunebugger group, and the bus policy "
        "org.dunebugger.Updater1.conf must be installed")


def test_a_timeout(bus_host: Harness) -> None:
    h = bus_host
    reply = probe(h, SLOW_UPDATE, deadline=3)
    assert reply["subject"] == "update_result"
    assert reply["body"]["message"] == (
        "no result from dunebugger-update@scheduler.service within 3 s; it may still be running: "
        "`systemctl status dunebugger-update@scheduler.service` on the host")
    h.systemctl("stop", "dunebugger-update@scheduler.service")


def running(h: Harness) -> bool:
    # a oneshot is `activating` while its ExecStart= runs
    state = h.systemctl("is-active", "dunebugger-update@scheduler.service", check=False).stdout.strip()
    return state == "activating"


def test_the_bus_goes_away_during_a_wait(bus_host: Harness) -> None:
    h = bus_host
    # last in this module: it stops the harness's dbus-daemon
    argv = [*h.nsenter_argv(), PYTHON, "-c", PROBE, *SLOW_UPDATE, "120"]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}) as waiting:
        h.wait_for(lambda: running(h), 30, "the slow update to start")
        time.sleep(1)
        h.systemctl("stop", "dbus.socket", "dbus.service")
        out, err = waiting.communicate(timeout=60)
    assert "Traceback" not in err, err
    [final] = [r for r in json.loads(out)["replies"] if r["subject"] == "update_result"]
    assert final["body"]["success"] is False
    assert final["body"]["message"].startswith(
        "the system bus went away while waiting for dunebugger-update@scheduler.service (dbus restarted or the "
        "host is shutting down); the unit goes on without us")
    # it did: the update still runs, the wait only ended
    assert running(h)
