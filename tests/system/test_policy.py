"""When updates may happen, on the real harness: the timer-triggered unattended path with the real units,
Docker, compose and the loopback registry; the maintenance window, holds, the show lock (a real `flock` held by
a real unit) and auto_limit. (That polkit refuses the stronger `force` to the remote's group is proven in
test_remote_access.py.)
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kits.containerkit import publish, ref, running_image, updater_config, wait_health
from kits.harness import Harness
from kits.productkit import SHOW_LOCK, history, take_show_lock, write_config
from kits.standin import GithubStandin

from dunebugger_units import journal

ALWAYS_OPEN = {"start": "*-*-* *:00:00 UTC", "length": "1h"}  # a window that starts every hour, for an hour
AUTO = "dunebugger-auto-update.service"


def closed_window() -> dict[str, str]:
    """A one-hour window that opens six hours from now (UTC): now is outside it."""
    later = datetime.now(UTC) + timedelta(hours=6)
    return {"start": f"*-*-* {later:%H}:00:00 UTC", "length": "1h"}


# ---- fixtures ---------------------------------------------------------------------------------------------


def configure(h: Harness, gh: GithubStandin, window: dict[str, str] | None, auto_limit: str = "minor") -> None:
    config = updater_config(gh.url, keep_backups=2)
    config["components"]["scheduler"] |= {"policy": "auto", "auto_limit": auto_limit}
    config["policy"] = {"show_lock": SHOW_LOCK, **({"maintenance_window": window} if window else {})}
    write_config(h, config)


def dunebugger_1_0_0(gh: GithubStandin) -> None:
    gh.add_release("dunebugger", "v1.0.0")


pytestmark = [pytest.mark.containers, pytest.mark.releases.with_args(dunebugger_1_0_0)]


@pytest.fixture
def auto(product: Harness, gh: GithubStandin) -> Harness:
    """The product, with scheduler updated unattended in a maintenance window that is always open."""
    configure(product, gh, ALWAYS_OPEN)
    return product


# ---- helpers ----------------------------------------------------------------------------------------------


def cli_json(h: Harness, *args: str, check: bool = True) -> Any:
    out = h.run(["dunebugger-units", *args, "--json"], check=check, timeout=240)
    return json.loads(out.stdout)


def run_auto(h: Harness) -> None:
    h.systemctl("start", AUTO, check=False, timeout=300)






# ---- the unattended path ----------------------------------------------------------------------------------


def test_the_timer_updates_within_the_window_and_the_limit(auto: Harness, gh: GithubStandin) -> None:
    """The whole path: timer -> dunebugger-auto-update.service (root, its own GitHub lookup) ->
    dunebugger-update@scheduler -> updated; 2.0.0 is beyond auto_limit minor and never taken."""
    h = auto
    publish(gh, "scheduler", "1.2.0")
    publish(gh, "scheduler", "2.0.0")  # no image exists for it: taking it would fail the update
    # the timer fires a second after it starts (the shipped one every 15 minutes)
    h.write_file("/etc/systemd/system/dunebugger-auto-update.timer.d/soon.conf",
                 "[Timer]\nOnCalendar=\nOnBootSec=\nRandomizedDelaySec=0\nOnActiveSec=1s\nAccuracySec=1s\n")
    h.systemctl("daemon-reload")
    h.systemctl("start", "dunebugger-auto-update.timer")

    h.wait_for(lambda: history(h, "auto-update"), 240, "the unattended update's record")
    h.wait_until_inactive(AUTO, timeout=240)

    [auto] = history(h, "auto-update")
    assert (auto["status"], auto["from_version"], auto["to_version"]) == ("updated", "1.0.0", "1.2.0")
    assert auto["message"] == "Unattended update of scheduler: Updated scheduler to 1.2.0"
    [update] = history(h, "update")
    assert (update["status"], update["to_version"]) == ("updated", "1.2.0")
    assert h.systemctl("show", "-P", "Result", AUTO).stdout.strip() == "success"
    # the device
    assert running_image(h, "scheduler") == ref("scheduler", "1.2.0")
    wait_health(h, "scheduler", "1.2.0")
    assert not h.path("/var/lib/dunebugger-units/requests/scheduler.json").exists()  # root's request consumed
    # the journal, with its own MESSAGE_ID (a catalog entry explains it)
    [entry] = h.journal(f"MESSAGE_ID={journal.AUTO_FINISHED}", "COMPONENT=scheduler")
    assert entry["TO_VERSION"] == "1.2.0" and entry["STATUS"] == "updated"
    assert entry["SYSLOG_IDENTIFIER"] == "dunebugger-auto-update"
    # progress of the long steps as "<step> NN%": the unit's status text, one journal line per tenth
    phases = h.journal_messages("SYSLOG_IDENTIFIER=dunebugger-update", "COMPONENT=scheduler")
    assert "scheduler: pulling 100%" in phases and "scheduler: stability window 100%" in phases, phases
    assert any(p.startswith("scheduler: stability window ") and p != "scheduler: stability window 100%"
               for p in phases), phases
    # list and status show it
    listed = cli_json(h, "list", "scheduler")
    assert listed["component"] == "scheduler"
    assert [(v["version"], v["installed"], v["latest"], v["held"]) for v in listed["versions"]] == [
        ("2.0.0", False, True, False), ("1.2.0", True, False, False)]
    status = cli_json(h, "status")["components"]["scheduler"]
    assert (status["current"], status["held"], status["policy"]) == ("1.2.0", False, "auto")
    # a second run finds nothing in range to do: 2.0.0 stays beyond the limit, and is said once
    run_auto(h)
    [skip, _] = history(h, "auto-update")
    assert skip["status"] == "skipped"
    assert "2.0.0 beyond auto_limit minor of 1.2.0" in skip["message"]
    run_auto(h)
    assert len(history(h, "auto-update")) == 2  # the same skip is not recorded again
    assert running_image(h, "scheduler") == ref("scheduler", "1.2.0")


def test_outside_the_window_it_waits_and_a_hold_skips(auto: Harness, gh: GithubStandin) -> None:
    h = auto
    publish(gh, "scheduler", "1.0.0")
    publish(gh, "scheduler", "1.2.0")
    configure(h, gh, closed_window())

    run_auto(h)

    assert h.systemctl("show", "-P", "Result", AUTO).stdout.strip() == "success"
    assert running_image(h, "scheduler") == ref("scheduler", "1.0.0")
    assert not history(h)  # the normal state between windows is no news
    lines = h.journal_messages("SYSLOG_IDENTIFIER=dunebugger-auto-update", "COMPONENT=scheduler")
    assert any("outside the maintenance window (next window" in line for line in lines), lines
    assert not gh.requests_to("dunebugger-scheduler")  # no GitHub request while the window is closed

    # inside the window, but held: skipped, said once, and a person's update needs --force
    configure(h, gh, ALWAYS_OPEN)
    assert cli_json(h, "hold", "scheduler") == {"component": "scheduler", "held": True, "changed": True}
    run_auto(h)
    [skipped] = history(h, "auto-update")
    assert skipped["status"] == "skipped"
    assert skipped["message"] == ("Unattended update of scheduler skipped: scheduler is held "
                                  "(dunebugger-units unhold scheduler)")
    assert h.journal(f"MESSAGE_ID={journal.AUTO_SKIPPED}", "COMPONENT=scheduler")
    assert running_image(h, "scheduler") == ref("scheduler", "1.0.0")
    assert cli_json(h, "status")["components"]["scheduler"]["held"] is True
    checked = cli_json(h, "check", check=False)["components"]["scheduler"]
    assert (checked["held"], checked["policy"], checked["update_available"]) == (True, "auto", True)
    assert [v["held"] for v in cli_json(h, "list", "scheduler")["versions"]] == [False, True]

    h.systemctl("start", "dunebugger-update@scheduler.service", check=False, timeout=240)
    [refused] = history(h, "update")
    assert refused["status"] == "refused"
    assert "scheduler is held" in refused["message"] and "--force" in refused["message"]
    assert running_image(h, "scheduler") == ref("scheduler", "1.0.0")

    cli_json(h, "unhold", "scheduler")
    run_auto(h)
    assert history(h, "auto-update")[0]["status"] == "updated"
    assert running_image(h, "scheduler") == ref("scheduler", "1.2.0")


def test_a_show_defers_unattended_and_refuses_manual_updates_unless_forced(auto: Harness,
                                                                          gh: GithubStandin) -> None:
    h = auto
    publish(gh, "scheduler", "1.2.0")
    pid = take_show_lock(h)
    holder = f"held by PID {pid}, dunebugger-show.service"

    run_auto(h)
    [deferred] = history(h, "auto-update")
    assert deferred["status"] == "deferred"
    assert deferred["message"] == (f"Unattended update of scheduler deferred: a show is running: {holder}; "
                                   "waiting for the next window")
    [entry] = h.journal(f"MESSAGE_ID={journal.AUTO_DEFERRED}", "COMPONENT=scheduler")
    assert holder in entry["MESSAGE"]
    assert running_image(h, "scheduler") == ref("scheduler", "1.0.0")

    # a person: refused with the holder named (exit 75 through the CLI), unless forced
    h.run(["dunebugger-units", "check"], check=False, timeout=60)
    refused = h.run(["dunebugger-units", "update", "scheduler", "--json"], check=False, timeout=240)
    assert refused.returncode == 75
    answer = json.loads(refused.stdout)
    assert answer["status"] == "refused"
    assert f"a show is running: {holder}" in answer["message"]
    assert running_image(h, "scheduler") == ref("scheduler", "1.0.0")

    forced = h.run(["dunebugger-units", "update", "scheduler", "--force", "--json"], check=False, timeout=240)
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert json.loads(forced.stdout)["status"] == "updated"
    assert running_image(h, "scheduler") == ref("scheduler", "1.2.0")
    assert h.systemctl("show", "-P", "Result", "dunebugger-update-force@scheduler.service").stdout.strip() == "success"
    # the show went on: its lock is still held by the same process
    assert h.systemctl("show", "-P", "MainPID", "dunebugger-show.service").stdout.strip() == str(pid)
