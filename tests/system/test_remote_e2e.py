"""End to end: a test frontend talks WebSocket to a remote stand-in built on the real message handler, which
runs inside the test systemd as an unprivileged `dunebugger` group member and asks org.dunebugger.Updater1 over
the real system bus (its bus policy decides) to start the real units, with real containers from the loopback
registry."""

from __future__ import annotations

import itertools
import json
import queue
import threading
from typing import Any

import pytest
from kits.containerkit import publish, ref, running_image, updater_config, wait_health
from kits.devicekit import Device
from kits.harness import Harness
from kits.productkit import history, write_config
from kits.remotekit import converse, frontend, start_remote_standin
from kits.standin import GithubStandin

from dunebugger_units import journal

# the updater's own keys, then the keys the frontend's component record reads
COMPONENT_KEYS = {"current", "latest", "update_available", "release_notes", "last_checked", "release_url",
                  "published_at", "assets", "error", "held", "policy",
                  "next_window", "failed_versions", "previous", "last_result", "prepared",
                  "name", "current_version", "latest_version", "component_type", "prerelease"}


def scheduler_1_2_0(gh: GithubStandin) -> None:
    publish(gh, "scheduler", "1.2.0")


pytestmark = [pytest.mark.containers, pytest.mark.releases.with_args(scheduler_1_2_0)]


@pytest.fixture
def remote(product: Harness) -> Harness:
    """The product, the polkit rule, and the remote stand-in running as `remoteuser` on port 8765."""
    start_remote_standin(product)
    return product




def test_check_over_websocket(remote: Harness) -> None:
    with frontend(remote) as ws:
        [reply] = converse(ws, {"subject": "updater.check_updates", "connectionId": "conn-1"})
    assert reply["subject"] == "update_check_result"
    assert reply["destination"] == "conn-1"
    components = reply["body"]["components"]
    assert set(components) == {"core", "scheduler", "remote"}
    assert set(components["scheduler"]) == COMPONENT_KEYS
    assert (components["scheduler"]["current"], components["scheduler"]["latest"]) == ("1.0.0", "1.2.0")
    assert components["scheduler"]["update_available"] is True


def test_update_over_websocket(remote: Harness) -> None:
    with frontend(remote) as ws:
        converse(ws, {"subject": "updater.check_updates"})
        replies = converse(ws, {"subject": "updater.perform_update",
                                "body": {"component": "scheduler", "dry_run": False}, "connectionId": "c"})
    *progress, final = replies
    assert final == {"subject": "update_result", "source": "controller", "destination": "c",
                     "body": {"component": "scheduler", "success": True, "message": "Updated scheduler to 1.2.0",
                              "dry_run": False}}
    assert progress and all(p["subject"] == "update_progress" for p in progress)
    # a percent where one is known (the download, the pull, the stability window)
    assert all({"component", "phase"} <= set(p["body"]) <= {"component", "phase", "percent"} for p in progress)
    assert running_image(remote, "scheduler") == ref("scheduler", "1.2.0")
    wait_health(remote, "scheduler", "1.2.0", timeout=10)


def test_dry_run_over_websocket_changes_nothing(remote: Harness, device: Device) -> None:
    before = device.compose_file.read_bytes()
    with frontend(remote) as ws:
        converse(ws, {"subject": "updater.check_updates"})
        *_, final = converse(ws, {"subject": "updater.perform_update",
                                  "body": {"component": "scheduler", "dry_run": True}})
    assert final["body"]["success"] is True
    assert final["body"]["dry_run"] is True
    assert final["body"]["message"].startswith("Dry run: scheduler 1.0.0 -> 1.2.0")
    assert device.compose_file.read_bytes() == before
    assert running_image(remote, "scheduler") == ref("scheduler", "1.0.0")


def test_failed_update_rolls_back_over_websocket(remote: Harness, gh: GithubStandin) -> None:
    publish(gh, "scheduler", "1.3.0")  # exits at start
    with frontend(remote) as ws:
        converse(ws, {"subject": "updater.check_updates"})
        *_, final = converse(ws, {"subject": "updater.perform_update", "body": {"component": "scheduler"}})
    assert final["body"]["success"] is False
    assert final["body"]["message"] == "Post-update checks failed, rolled back to v1.0.0"
    assert running_image(remote, "scheduler") == ref("scheduler", "1.0.0")
    wait_health(remote, "scheduler", "1.0.0", timeout=10)
    assert remote.journal(f"MESSAGE_ID={journal.ROLLBACK_SUCCEEDED}", "COMPONENT=scheduler")


def test_updater_update_message_naming_the_container_over_websocket(remote: Harness) -> None:
    with frontend(remote) as ws:
        converse(ws, {"subject": "updater.check_updates"})
        *progress, final = converse(ws, {"subject": "updater.update", "body": "dunebugger-scheduler"})
    assert {p["subject"] for p in progress} == {"updater_progress"}
    assert all(p["body"]["message"].startswith("Update in progress: ") for p in progress)
    assert final["subject"] == "log"
    assert final["body"] == {"success": True, "message": "Updated scheduler to 1.2.0", "level": "info"}


def _update_windows(h: Harness) -> list[tuple[int, int, str]]:
    """(start, end, unit) in microseconds of every update run that got past its pre-checks, from the journal."""
    started = {e["_SYSTEMD_INVOCATION_ID"]: (int(e["__REALTIME_TIMESTAMP"]), e["_SYSTEMD_UNIT"])
               for e in h.journal(f"MESSAGE_ID={journal.UPDATE_STARTED}")}
    ended = {e["_SYSTEMD_INVOCATION_ID"]: int(e["__REALTIME_TIMESTAMP"])
             for mid in (journal.UPDATE_SUCCEEDED, journal.UPDATE_FAILED) for e in h.journal(f"MESSAGE_ID={mid}")}
    assert set(started) == set(ended), "an update started and never finished: half-run"
    return sorted((start, ended[inv], unit) for inv, (start, unit) in started.items())


def test_twenty_concurrent_requests_one_update_at_a_time(remote: Harness, gh: GithubStandin, device: Device) -> None:
    # remote first only while it runs an update (policy.remote_first: running), so that scheduler's updates run
    # too and contend for the one lock (with the default, `available`, they are refused while remote has an
    # update, and may take every turn from remote's)
    write_config(remote, updater_config(gh.url) | {"policy": {"remote_first": "running"}})
    publish(gh, "remote", "1.2.0")
    with frontend(remote) as ws:
        converse(ws, {"subject": "updater.check_updates"})
    answers: queue.Queue[tuple[int, list[dict[str, Any]]]] = queue.Queue()

    def ask(i: int) -> None:
        component = ("scheduler", "remote")[i % 2]
        with frontend(remote) as ws:
            answers.put((i, converse(ws, {"subject": "updater.perform_update", "body": {"component": component},
                                          "connectionId": f"req-{i}"}, timeout=300)))

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=360)
    finals = {}
    while not answers.empty():
        i, replies = answers.get()
        finals[i] = replies[-1]
    # every request got exactly one final answer, addressed to it
    assert sorted(finals) == list(range(20))
    assert all(f["subject"] == "update_result" and f["destination"] == f"req-{i}" for i, f in finals.items())
    # exactly one update at a time: the runs that changed something never overlap
    windows = _update_windows(remote)
    assert windows
    for (_, end, _), (start, _, _) in itertools.pairwise(windows):
        assert end <= start, windows
    # nothing half-run: no transaction left, both updated once, compose file and state agree
    assert not remote.path("/var/lib/dunebugger-units/transaction.json").exists()
    messages = {f["body"]["message"] for f in finals.values()}
    assert any(m.startswith("Updated ") for m in messages), messages
    # what people and the remote see: the check's record with what root installed since
    state = json.loads(remote.run(["dunebugger-units", "status", "--json"]).stdout)["components"]
    for component in ("scheduler", "remote"):
        assert running_image(remote, component) == ref(component, state[component]["current"])
    refusals = [m for m in messages if not m.startswith("Updated")]
    # ... or the default remote-first rule (policy.remote_first: available), which names itself
    assert all(any(word in m for word in ("in progress", "pending", "already up to date", "policy.remote_first"))
               for m in refusals), refusals


def test_people_on_the_device_update_and_roll_back_from_the_command_line(remote: Harness,
                                                                        gh: GithubStandin) -> None:
    h = remote
    publish(gh, "scheduler", "1.0.0")  # published before 1.2.0 on GitHub: the latest stays 1.2.0
    gh.releases["dunebugger-scheduler"].reverse()
    h.run(["dunebugger-units", "check"], check=False)
    done = h.run(["dunebugger-units", "update", "scheduler", "--json"], timeout=300)
    result = json.loads(done.stdout)
    assert (result["status"], result["message"]) == ("updated", "Updated scheduler to 1.2.0")
    assert "... scheduler: " in done.stderr  # live progress, on stderr with --json
    # an older version is an explicit request, never the default
    again = h.run(["dunebugger-units", "update", "scheduler", "--json"], check=False, timeout=300)
    assert again.returncode == 0  # nothing to do is no failure, as with apt and podman
    assert "already up to date" in json.loads(again.stdout)["message"]
    assert json.loads(again.stdout)["status"] == "unchanged"
    older = h.run(["dunebugger-units", "update", "scheduler", "--version", "1.0.0", "--json"], timeout=300)
    assert json.loads(older.stdout)["message"] == "Updated scheduler to 1.0.0"
    assert running_image(h, "scheduler") == ref("scheduler", "1.0.0")
    # a rollback on request returns to the version before the last update: 1.2.0, from this machine
    back = h.run(["dunebugger-units", "rollback", "scheduler", "--json"], timeout=300)
    assert json.loads(back.stdout)["message"] == "Rollback requested, rolled back to v1.2.0"
    assert running_image(h, "scheduler") == ref("scheduler", "1.2.0")
    nothing = h.run(["dunebugger-units", "rollback", "scheduler"], check=False, timeout=120)
    assert nothing.returncode == 75
    assert "there is no previous version to return to" in nothing.stdout
    assert [(r["action"], r["status"]) for r in history(h)[:4]] == [
        ("rollback", "refused"), ("rollback", "rolled-back"), ("update", "updated"), ("update", "unchanged")]
