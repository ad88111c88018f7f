"""dunebugger-check.service and .timer in a real systemd, against the loopback GitHub stand-in."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from kits.devicekit import Device, publish_defaults
from kits.harness import Harness
from kits.productkit import install_product, unit_names
from kits.standin import GithubStandin

from dunebugger_units import journal

INSIDE = Device(Path("/"))  # the same layout, seen from inside the harness

pytestmark = pytest.mark.releases.with_args(publish_defaults)


@pytest.fixture
def product(booted: Harness, gh: GithubStandin) -> Harness:
    install_product(booted, INSIDE.config(gh.url))
    return booted


def state_inside(h: Harness) -> dict:  # type: ignore[type-arg]
    return json.loads(h.path("/var/lib/dunebugger-units/check/check.json").read_text())  # type: ignore[no-any-return]


def test_check_service_records_results_unprivileged(product: Harness, gh: GithubStandin) -> None:
    h = product
    h.systemctl("start", "dunebugger-check.service", timeout=120)
    assert h.systemctl("show", "-P", "Result", "dunebugger-check.service").stdout.strip() == "success"
    components = state_inside(h)["components"]
    assert components["core"]["current"] == "1.0.0"
    assert components["core"]["latest"] == "1.2.0"
    assert components["core"]["update_available"] is True
    assert components["scheduler"]["latest"] == "1.0.0"
    assert components["remote"]["latest"] is None
    # the journal: one line per component with fields, "update available" with its MESSAGE_ID
    available = h.journal(f"MESSAGE_ID={journal.UPDATE_AVAILABLE}")
    by_component = {e["COMPONENT"]: e for e in available}
    assert set(by_component) == {"core", "scheduler"}
    assert by_component["core"]["CURRENT"] == "1.0.0"
    assert by_component["core"]["LATEST"] == "1.2.0"
    assert by_component["core"]["PRIORITY"] == "5"
    assert by_component["core"]["SYSLOG_IDENTIFIER"] == "dunebugger-check"
    # it ran unprivileged, as its own system user, never root
    uid = product.run(["id", "-u", "dunebugger-units"]).stdout.strip()
    assert {e["_UID"] for e in available} == {uid}
    assert uid != "0"
    remote = [e for e in h.journal("COMPONENT=remote", "PHASE=check")]
    assert remote and "no release published" in remote[-1]["MESSAGE"]


def test_second_check_sends_if_none_match_and_gets_304(product: Harness, gh: GithubStandin) -> None:
    product.systemctl("start", "dunebugger-check.service", timeout=120)
    etag = state_inside(product)["components"]["core"]["etag"]
    gh.seen.clear()
    product.systemctl("start", "dunebugger-check.service", timeout=120)
    sent = gh.requests_to("/dunebugger/releases")
    assert sent[0].headers["if-none-match"] == etag
    assert state_inside(product)["components"]["core"]["latest"] == "1.2.0"


def test_check_json_prints_update_check_result_body(product: Harness, gh: GithubStandin) -> None:
    out = product.run(["dunebugger-units", "check", "--json"], timeout=60).stdout
    body = json.loads(out)
    assert set(body) == {"components"}
    assert set(body["components"]) == {"core", "scheduler", "remote"}
    assert body["components"]["core"]["update_available"] is True
    status = json.loads(product.run(["dunebugger-units", "status", "--json"]).stdout)
    assert status["components"]["core"]["latest"] == "1.2.0"


def test_check_as_root_does_its_github_work_as_the_checks_user(product: Harness, gh: GithubStandin) -> None:
    h = product
    out = h.run(["dunebugger-units", "check", "core", "--json"], timeout=120)
    body = json.loads(out.stdout)
    assert set(body["components"]) == {"core"}  # the names pick what is shown
    assert body["components"]["core"]["latest"] == "1.2.0"
    assert gh.requests_to("/dunebugger/releases")
    # the lookups ran in dunebugger-check.service as its own user: root's process never parsed GitHub's answer
    uid = h.run(["id", "-u", "dunebugger-units"]).stdout.strip()
    entries = h.journal("PHASE=check")
    assert {(e["_UID"], e.get("_SYSTEMD_UNIT")) for e in entries} == {(uid, "dunebugger-check.service")}
    assert h.path("/var/lib/dunebugger-units/check/check.json").stat().st_uid == int(uid)
    assert h.systemctl("show", "-P", "Result", "dunebugger-check.service").stdout.strip() == "success"


def test_check_as_root_exits_by_the_components_it_names(product: Harness, gh: GithubStandin) -> None:
    gh.faults["dunebugger-scheduler"] = "500"
    named = product.run(["dunebugger-units", "check", "core", "--json"], check=False, timeout=120)
    assert named.returncode == 0, named.stdout + named.stderr  # the unit failed for scheduler, not for core
    assert json.loads(named.stdout)["components"]["core"]["error"] is None
    every = product.run(["dunebugger-units", "check", "--json"], check=False, timeout=120)
    assert every.returncode == 5
    assert "HTTP 500" in json.loads(every.stdout)["components"]["scheduler"]["error"]


def test_failed_component_fails_the_unit_visibly(product: Harness, gh: GithubStandin) -> None:
    gh.faults["dunebugger-scheduler"] = "500"
    result = product.systemctl("start", "dunebugger-check.service", check=False, timeout=120)
    assert result.returncode != 0
    assert product.systemctl("show", "-P", "ExecMainStatus", "dunebugger-check.service").stdout.strip() == "5"
    components = state_inside(product)["components"]
    assert components["core"]["latest"] == "1.2.0"
    assert "HTTP 500" in components["scheduler"]["error"]
    failed = product.journal(f"MESSAGE_ID={journal.CHECK_FAILED}")
    assert [e["COMPONENT"] for e in failed] == ["scheduler"]


def test_timer_fires_when_a_dropin_makes_it_short(product: Harness, gh: GithubStandin) -> None:
    h = product
    h.write_file("/etc/systemd/system/dunebugger-check.timer.d/short.conf",
                 "[Timer]\nOnBootSec=\nOnCalendar=\nRandomizedDelaySec=0\nOnActiveSec=1s\nAccuracySec=100ms\n")
    h.systemctl("daemon-reload")
    h.systemctl("start", "dunebugger-check.timer")
    h.wait_for(lambda: h.path("/var/lib/dunebugger-units/check/check.json").exists(), 60, "the timer's first check")
    h.wait_until_inactive("dunebugger-check.service", timeout=60)
    assert state_inside(h)["components"]["core"]["latest"] == "1.2.0"
    assert gh.requests_to("/releases")


def test_enable_timer_and_verify_every_unit(product: Harness) -> None:
    h = product
    h.systemctl("enable", "dunebugger-check.timer")
    assert h.systemctl("is-enabled", "dunebugger-check.timer").stdout.strip() == "enabled"
    units = [f"/etc/systemd/system/{name}" for name in unit_names()]
    result = h.run(["systemd-analyze", "verify", "--man=no", *units], check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""


def test_check_unit_exposure_is_low(product: Harness) -> None:
    out = product.run(["systemd-analyze", "security", "--no-pager", "dunebugger-check.service"]).stdout
    score = float(re.search(r"Overall exposure level for \S+: (\d+\.\d+)", out).group(1))  # type: ignore[union-attr]
    assert score <= 2.5, out


def test_token_from_a_credential_is_sent_and_never_logged(booted: Harness, gh: GithubStandin) -> None:
    h = booted
    secret = "ghp_TOPSECRET0123456789"
    h.write_file("/etc/dunebugger/github-token", secret + "\n", mode=0o600)  # root-only, as on a device
    h.write_file("/etc/systemd/system/dunebugger-check.service.d/token.conf",
                 "[Service]\nLoadCredential=github-token:/etc/dunebugger/github-token\n")
    install_product(h, INSIDE.config(gh.url))
    gh.faults["dunebugger-remote"] = "500"  # an error path too: errors must not leak it either
    h.systemctl("start", "dunebugger-check.service", check=False, timeout=120)
    assert {s.headers.get("authorization") for s in gh.requests_to("/releases")} == {f"Bearer {secret}"}
    journal = h.run(["journalctl", "-o", "json", "--no-pager"]).stdout
    assert "Checking remote for updates failed" in journal
    assert secret not in journal
    assert secret not in h.path("/var/lib/dunebugger-units/check/check.json").read_text()
    assert secret not in h.run(["dunebugger-units", "status", "--json"]).stdout
