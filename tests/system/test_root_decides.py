"""Root decides from its own facts, on the real harness: the check's cache can name a target but never pick a
prerelease nor steer the remote-first rule; a request refused by policy never turns another away; a rollback
on request respects the show (the automatic one after a failed update always runs); a compose file the
check's user cannot read is reported as such.

Each test's docstring keeps what the same steps did against the code before root decided these itself.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from kits import corekit
from kits.containerkit import publish, ref, running_image, wait_health
from kits.devicekit import Device
from kits.harness import Harness
from kits.productkit import history, take_show_lock
from kits.standin import GithubStandin

STATE = "/var/lib/dunebugger-units"
CACHE = f"{STATE}/check/check.json"
CHECK_USER = "dunebugger-units"


def tamper_cache(h: Harness, component: str, **record: Any) -> None:
    """The check's user rewrites its own cache (it may: the cache is its own)."""
    cache = json.loads(h.path(CACHE).read_text())
    cache["components"][component] |= record
    done = h.run(["tee", CACHE], user=CHECK_USER, input=json.dumps(cache), check=False)
    assert done.returncode == 0, done.stderr




def start(h: Harness, *units: str) -> None:
    h.systemctl("start", "--no-block", *units)
    for unit in units:
        h.wait_until_inactive(unit, timeout=240)




# ---- the check's cache cannot steer root ----------------------------------------------------------------------


def test_a_prerelease_named_by_the_cache_is_not_installed(core: Harness, gh: GithubStandin,
                                                          device: Device) -> None:
    """The failure this guards against: update@core installing 1.3.0rc1 ("Updated core to 1.3.0rc1") with
    github.include_prerelease false, because the cache's `latest` is taken as the target and nothing re-judges it."""
    h = core
    corekit.publish(gh, "1.2.0", corekit.tarball(corekit.release_files("1.2.0")))
    data = corekit.tarball(corekit.release_files("1.3.0rc1"))
    name = corekit.asset("1.3.0rc1")
    sums = f"{hashlib.sha256(data).hexdigest()}  {name}\n".encode()
    gh.add_release("dunebugger", "v1.3.0rc1", prerelease=True, assets={name: data, f"{name}.sha256": sums})
    h.systemctl("start", "dunebugger-check.service", timeout=120)
    assert json.loads(h.path(CACHE).read_text())["components"]["core"]["latest"] == "1.2.0"

    tamper_cache(h, "core", latest="1.3.0rc1", update_available=True)
    h.systemctl("start", "dunebugger-update@core.service", timeout=240)

    newest = history(h)[0]
    assert newest["status"] == "refused", newest
    assert "1.3.0rc1 is a prerelease" in newest["message"] and "include_prerelease" in newest["message"]
    assert not (device.root / "opt/dunebugger/core.releases/1.3.0rc1").exists()
    corekit.wait_healthy(h, "1.0.0")
    # a person may still name it: an explicit version is their own choice
    h.run(["dunebugger-units", "update", "core", "--version", "1.3.0rc1"], timeout=300)
    assert history(h)[0]["message"] == "Updated core to 1.3.0rc1", history(h)[0]


@pytest.mark.containers
def test_the_cache_cannot_steer_remote_first(product: Harness, gh: GithubStandin) -> None:
    """The failures this guards against: with `update_available: true` written for remote, update@scheduler
    refused "Cannot update scheduler before remote" though GitHub has no newer remote; and with it written
    false while remote 1.2.0 is out, scheduler updated ahead of remote."""
    h = product
    publish(gh, "remote", "1.0.0")
    publish(gh, "scheduler", "1.2.0")
    h.systemctl("start", "dunebugger-check.service", timeout=120)

    tamper_cache(h, "remote", latest="9.9.9", update_available=True)
    h.systemctl("start", "dunebugger-update@scheduler.service", timeout=240)
    assert history(h)[0]["message"] == "Updated scheduler to 1.2.0", history(h)[0]
    assert running_image(h, "scheduler") == ref("scheduler", "1.2.0")

    # the other way: remote has an update on GitHub, the cache says it has none
    publish(gh, "remote", "1.2.0")
    publish(gh, "scheduler", "1.5.0")
    h.systemctl("start", "dunebugger-check.service", timeout=120)
    tamper_cache(h, "remote", latest="1.0.0", update_available=False)
    h.systemctl("start", "dunebugger-update@scheduler.service", timeout=240)
    refused = history(h)[0]
    assert refused["status"] == "refused", refused
    assert "Cannot update scheduler before remote" in refused["message"] and "1.2.0" in refused["message"]
    assert running_image(h, "scheduler") == ref("scheduler", "1.2.0")


# ---- a refusal never costs another request its turn --------------------------------------------------------


@pytest.mark.containers
def test_scheduler_and_remote_together_remote_always_runs(product: Harness, gh: GithubStandin) -> None:
    """update@scheduler and update@remote started together, 10 times, in both orders: scheduler is refused by
    the remote-first rule, and remote is updated every time (the suite's longest test: 7 s a round).

    The failure this guards against: scheduler taking the update lock to decide, and remote, arriving while it
    decides, refused "update of scheduler in progress". Code that does so leaves remote not updated in 9 rounds
    of 20 (10 rounds miss that with a chance of 0.55^10, 0.3%)."""
    h = product
    publish(gh, "remote", "1.2.0")
    publish(gh, "scheduler", "1.2.0")
    h.systemctl("start", "dunebugger-check.service", timeout=120)
    pair = ["dunebugger-update@scheduler.service", "dunebugger-update@remote.service"]
    missed, scheduler_answers = [], set()
    for round_ in range(10):
        start(h, *(pair if round_ % 2 == 0 else reversed(pair)))
        remote = next(r for r in history(h, "update") if r["component"] == "remote")
        scheduler = next(r for r in history(h, "update") if r["component"] == "scheduler")
        if remote["status"] != "updated":
            missed.append((round_, remote["message"]))
            continue
        scheduler_answers.add(scheduler["message"])
        # back to 1.0.0 for the next round (a rollback on request)
        h.run(["dunebugger-units", "rollback", "remote"], timeout=240)
        assert running_image(h, "remote") == ref("remote", "1.0.0")
    assert missed == []
    first = ("pre-update check failed: remote first: Cannot update scheduler before remote: remote has an update "
             "available (1.0.0 -> 1.2.0); update remote first (rule: policy.remote_first: available)")
    # scheduler, refused by the rule; or, had it looked after remote's compose edit, by remote's running update
    assert first in scheduler_answers and scheduler_answers <= {first, "update of remote in progress"}
    assert running_image(h, "scheduler") == ref("scheduler", "1.0.0")


# ---- a rollback on request respects the show ---------------------------------------------------------------


@pytest.mark.containers
def test_a_rollback_on_request_respects_the_show(product: Harness, gh: GithubStandin) -> None:
    """The failure this guards against: `dunebugger-units rollback scheduler` (and dunebugger-rollback@ started
    as the remote starts it) rolling scheduler back, recreating its container, while the show holds the lock."""
    h = product
    publish(gh, "scheduler", "1.2.0")
    publish(gh, "scheduler", "1.3.0")  # exits at start: its update fails and rolls back
    h.systemctl("start", "dunebugger-check.service", timeout=120)
    h.run(["dunebugger-units", "update", "scheduler", "--version", "1.2.0"], timeout=240)
    wait_health(h, "scheduler", "1.2.0")
    started = h.docker("container", "inspect", "-f", "{{.State.StartedAt}}", "dunebugger-scheduler").stdout
    pid = take_show_lock(h)

    asked = h.run(["dunebugger-units", "rollback", "scheduler", "--json"], check=False, timeout=240)
    assert asked.returncode == 75, asked.stdout + asked.stderr
    answer = json.loads(asked.stdout)
    assert answer["status"] == "refused"
    assert f"a show is running: held by PID {pid}" in answer["message"] and "--force" in answer["message"]
    h.systemctl("start", "dunebugger-rollback@scheduler.service", timeout=240)  # as the remote asks
    assert history(h, "rollback")[0]["status"] == "refused"
    assert h.docker("container", "inspect", "-f", "{{.State.StartedAt}}",
                    "dunebugger-scheduler").stdout == started  # never restarted under the lock

    # held: refused too, and the show still runs; the operator's --force overrides both
    h.run(["dunebugger-units", "hold", "scheduler"])
    h.systemctl("stop", "dunebugger-show.service")
    held = h.run(["dunebugger-units", "rollback", "scheduler", "--json"], check=False, timeout=240)
    assert held.returncode == 75 and "scheduler is held" in json.loads(held.stdout)["message"]
    forced = h.run(["dunebugger-units", "rollback", "scheduler", "--force", "--json"], check=False, timeout=240)
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert json.loads(forced.stdout)["status"] == "rolled-back"
    assert running_image(h, "scheduler") == ref("scheduler", "1.0.0")
    assert not h.path(f"{STATE}/requests/scheduler.rollback.json").exists()  # the force was for one run

    # the automatic rollback after a failed update always runs, show or not
    h.run(["dunebugger-units", "unhold", "scheduler"])
    take_show_lock(h)
    h.run(["dunebugger-units", "update", "scheduler", "--version", "1.3.0", "--force"], check=False, timeout=300)
    h.wait_for(lambda: history(h, "rollback") and history(h, "rollback")[0]["to_version"] == "1.0.0"
               and history(h, "rollback")[0]["from_version"] == "1.3.0", 240, "the automatic rollback")
    assert history(h, "rollback")[0]["status"] == "rolled-back", history(h, "rollback")[0]
    assert running_image(h, "scheduler") == ref("scheduler", "1.0.0")


# ---- a compose file the check cannot read ------------------------------------------------------------------


@pytest.mark.containers
def test_an_unreadable_compose_file_is_named_by_the_check(product: Harness, device: Device) -> None:
    """The failure this guards against: the check reporting scheduler's version as "unknown" and saying nothing
    of why."""
    h = product
    inside = str(device.compose_file).replace(str(device.root), "", 1)
    h.run(["chmod", "0600", inside])

    h.systemctl("start", "dunebugger-check.service", check=False, timeout=120)

    record = json.loads(h.path(CACHE).read_text())["components"]["scheduler"]
    assert record["current"] == "unknown"
    assert "Permission denied" in (record["error"] or ""), record
    assert CHECK_USER in record["error"] and inside in record["error"], record
