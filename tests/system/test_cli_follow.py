"""A person's `update` against a real systemd: a component that is up to date exits 0 with `unchanged` (the
unit succeeds, no rollback follows), and Ctrl-C while following an update stops the following, never the
unit, and says how to watch and stop it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from kits.devicekit import Device, publish_defaults
from kits.harness import Harness
from kits.productkit import REPO, history, install_product
from kits.standin import GithubStandin

INSIDE = Device(Path("/"))  # the same layout, seen from inside the harness
UNIT = "dunebugger-update@core.service"


@pytest.fixture
def product(booted: Harness, gh: GithubStandin) -> Harness:
    install_product(booted, INSIDE.config(gh.url))
    return booted


def only_core(version: str) -> Callable[[GithubStandin], None]:
    def publish(gh: GithubStandin) -> None:
        gh.add_release("dunebugger", f"v{version}")

    return publish


@pytest.mark.releases.with_args(only_core("1.0.0"))  # what the device runs
def test_an_update_when_up_to_date_exits_0_unchanged(product: Harness, gh: GithubStandin) -> None:
    h = product
    h.run(["dunebugger-units", "check", "core"], timeout=120)
    done = h.run(["dunebugger-units", "update", "core", "--json"], check=False, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert (result["status"], result["success"], result["changed"]) == ("unchanged", True, False)
    assert result["message"] == "updating core: already up to date at 1.0.0 (latest 1.0.0)"
    # the unit itself succeeded with 0, and OnFailure= started no rollback
    assert h.systemctl("show", "-P", "Result", UNIT).stdout.strip() == "success"
    assert h.systemctl("show", "-P", "ExecMainStatus", UNIT).stdout.strip() == "0"
    assert h.systemctl("show", "-P", "InvocationID", "dunebugger-rollback@core.service").stdout.strip() == ""
    assert [(r["action"], r["status"]) for r in history(h)] == [("update", "unchanged")]


def child_of(pid: int) -> int:
    """The one child of `pid` (nsenter forks the command it runs into the harness's pid namespace)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    assert len(children) == 1, children
    return int(children[0])


@pytest.mark.releases.with_args(publish_defaults)
def test_ctrl_c_stops_following_and_the_unit_goes_on(product: Harness, gh: GithubStandin) -> None:
    h = product
    h.run(["dunebugger-units", "check", "core"], timeout=120)
    gh.latency = 3.0  # every answer now takes 3 s: the update's own lookups keep its unit running
    follower = subprocess.Popen([*h.nsenter_argv(), "dunebugger-units", "update", "core"], text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=h.inside_env(None))
    try:
        h.wait_for(lambda: h.systemctl("is-active", UNIT, check=False).stdout.strip() == "activating", 60,
                   "the update unit to start")
        os.kill(child_of(follower.pid), signal.SIGINT)
        out, err = follower.communicate(timeout=30)
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()
    assert follower.returncode == 130, out + err
    assert f"stopped following; {UNIT} is still running." in err
    assert f"journalctl -f -u {UNIT}" in err and f"systemctl stop {UNIT}" in err
    assert "Aborted!" not in err and "Traceback" not in err
    assert h.systemctl("is-active", UNIT, check=False).stdout.strip() == "activating"
    gh.latency = 0.0
    h.systemctl("stop", UNIT, timeout=120)


@pytest.mark.releases.with_args(publish_defaults)
def test_a_person_polkit_refuses_is_told_the_fix_and_exits_77(product: Harness) -> None:
    h = product
    h.write_file("/etc/polkit-1/rules.d/50-dunebugger-units.rules",
                 (REPO / "packaging/polkit/50-dunebugger-units.rules").read_bytes())
    h.run(["useradd", "--create-home", "outsider"])  # in no group of ours
    uid = h.run(["id", "-u", "outsider"]).stdout.strip()
    out = h.run(["dunebugger-units", "update", "core"], user="outsider", check=False, timeout=120)
    assert out.returncode == 77, out.stdout + out.stderr
    assert out.stderr.strip() == (
        f"dunebugger-units: needs root: starting {UNIT}: permission refused for uid {uid} (run it with sudo, or "
        "as a member of the dunebugger group)")
    assert h.systemctl("show", "-P", "InvocationID", UNIT).stdout.strip() == ""  # never started
