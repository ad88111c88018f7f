"""Who may start which unit, for real: polkitd running in the test systemd with the project's rule, the bus
policy of org.dunebugger.Updater1, the remote's client run as unprivileged users over the real system bus. The
remote's group starts nothing itself: it asks Updater1 (test_remote_door.py has the job modes)."""

from __future__ import annotations

import json

import pytest
from kits.devicekit import INSIDE, publish_defaults
from kits.harness import Harness
from kits.productkit import REPO, VENV, install_product
from kits.standin import GithubStandin

PYTHON = str(VENV / "bin" / "python")

CHECK_AS_CLIENT = """
import json
from dunebugger_units.remote.client import UpdaterClient, ClientError
try:
    print(json.dumps({"ok": UpdaterClient().check()}))
except ClientError as exc:
    print(json.dumps({"error": str(exc)}))
"""

DOOR_UPDATE = """
import json
from dunebugger_units.remote.client import UpdaterClient
print(json.dumps([event.data for event in UpdaterClient(deadline=120).update("scheduler")][-1]))
"""

START_OTHER = """
import json, sys
from dunebugger_units.systemd import Systemd, SystemdError
try:
    with Systemd.connect() as sd:
        print(json.dumps({"ok": sd.run_job("start", sys.argv[1], 30)}))
except SystemdError as exc:
    print(json.dumps({"error": str(exc), "type": type(exc).__name__}))
"""


pytestmark = pytest.mark.releases.with_args(publish_defaults)


@pytest.fixture
def polkit(booted: Harness, gh: GithubStandin) -> Harness:
    """The product, the project's polkit rule, an unrelated unit, a `dunebugger` group member and an outsider."""
    h = booted
    install_product(h, INSIDE.config(gh.url))
    h.write_file("/etc/polkit-1/rules.d/50-dunebugger-units.rules",
                 (REPO / "packaging/polkit/50-dunebugger-units.rules").read_bytes())
    h.write_file("/etc/systemd/system/unrelated.service", "[Service]\nType=oneshot\nExecStart=/bin/true\n")
    h.systemctl("daemon-reload")
    h.run(["useradd", "--create-home", "--groups", "dunebugger", "remoteuser"])
    h.run(["useradd", "--create-home", "outsider"])
    return h


def as_user(h: Harness, user: str, program: str, *args: str) -> dict:  # type: ignore[type-arg]
    out = h.run([PYTHON, "-c", program, *args], user=user, timeout=120).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_group_member_gets_our_check_through_the_door(polkit: Harness) -> None:
    answer = as_user(polkit, "remoteuser", CHECK_AS_CLIENT)
    assert "ok" in answer, answer
    assert answer["ok"]["components"]["core"]["latest"] == "1.2.0"
    assert polkit.systemctl("show", "-P", "Result", "dunebugger-check.service").stdout.strip() == "success"
    # ... and the member may not start that very unit itself
    answer = as_user(polkit, "remoteuser", START_OTHER, "dunebugger-check.service")
    assert answer.get("type") == "AccessDenied", answer


def test_group_member_is_refused_any_other_unit(polkit: Harness) -> None:
    answer = as_user(polkit, "remoteuser", START_OTHER, "unrelated.service")
    assert "error" in answer, answer
    assert "unrelated.service" in answer["error"]
    assert polkit.systemctl("show", "-P", "ActiveState", "unrelated.service").stdout.strip() == "inactive"
    assert answer["type"] == "AccessDenied"
    # it never ran: a unit that ran has an invocation id
    assert polkit.systemctl("show", "-P", "InvocationID", "unrelated.service").stdout.strip() == ""


def test_group_member_is_refused_a_foreign_instance_of_our_template(polkit: Harness) -> None:
    answer = as_user(polkit, "remoteuser", START_OTHER, "dunebugger-update@nats.service")
    assert answer.get("type") == "AccessDenied", answer


def test_user_outside_the_group_is_refused_ours(polkit: Harness) -> None:
    answer = as_user(polkit, "outsider", CHECK_AS_CLIENT)
    assert "permission refused" in answer.get("error", ""), answer
    assert "dunebugger-check.service" in answer["error"]
    assert not polkit.path("/var/lib/dunebugger-units/state.json").exists()


RUN_JOB = """
import json, sys
from dunebugger_units.systemd import Systemd, SystemdError
try:
    with Systemd.connect() as sd:
        print(json.dumps({"ok": sd.run_job(sys.argv[1], sys.argv[2], 60)}))
except SystemdError as exc:
    print(json.dumps({"error": str(exc), "type": type(exc).__name__}))
"""


@pytest.mark.parametrize("verb", ["stop", "restart"])
def test_group_member_may_not_stop_or_restart_ours(polkit: Harness, verb: str) -> None:
    """Stopping one of our units could cut a rollback in half."""
    h = polkit
    h.write_file("/etc/systemd/system/dunebugger-check.service.d/50-hold.conf",
                 "[Service]\nExecStartPre=/bin/sleep 120\n")
    h.systemctl("daemon-reload")
    h.systemctl("start", "--no-block", "dunebugger-check.service")
    h.wait_for(lambda: h.systemctl("show", "-P", "ActiveState", "dunebugger-check.service").stdout.strip()
               == "activating", 30, "the check to be running")
    answer = as_user(h, "remoteuser", RUN_JOB, verb, "dunebugger-check.service")
    assert answer.get("type") == "AccessDenied", answer
    # still the same run, untouched
    assert h.systemctl("show", "-P", "ActiveState", "dunebugger-check.service").stdout.strip() == "activating"
    h.systemctl("stop", "dunebugger-check.service")


@pytest.mark.parametrize("unit", ["dunebugger-update-force@scheduler.service", "dunebugger-auto-update.service"])
def test_group_member_may_not_force(polkit: Harness, unit: str) -> None:
    answer = as_user(polkit, "remoteuser", RUN_JOB, "start", unit)
    assert answer.get("type") == "AccessDenied", answer
    assert polkit.systemctl("show", "-P", "InvocationID", unit).stdout.strip() == ""  # it never ran
    # while the plain update stays the group's, through org.dunebugger.Updater1 (nothing to update here: the
    # run is refused, and it ran)
    result = as_user(polkit, "remoteuser", DOOR_UPDATE)
    assert (result["component"], result["action"]) == ("scheduler", "update"), result
    # it ran: the unit's own run recorded the result, with its invocation id
    assert result.get("invocation_id"), result
