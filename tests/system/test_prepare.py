"""Preparing ahead in a real systemd: a check that finds an update starts dunebugger-prepare.service, which
stages core's release (with its venv) and pulls a container's image from root's own GitHub answer; the update
after it downloads nothing and only switches; an update stops a running preparation; a killed preparation
leaves nothing taken as prepared; `prepare_ahead: false` prepares nothing; a newer release supersedes the
prepared one. Assertions: the JSON first, then the disk, docker and systemd, then the journal."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from kits import corekit
from kits.containerkit import PORTS, publish, ref
from kits.devicekit import INSIDE, Device
from kits.harness import Harness
from kits.productkit import write_config
from kits.standin import GithubStandin

PREPARE = "dunebugger-prepare.service"
STAGING_MARK = ".dunebugger-staging"


def configure(h: Harness, device: Device, gh: GithubStandin, *, core: bool = True,
              containers: tuple[str, ...] = ()) -> None:
    """The product for core (and the given containers, with their health), each preparing ahead as asked."""
    config = corekit.updater_config(device, gh.url, stability_seconds=2)
    config["components"]["core"]["prepare_ahead"] = core
    for component in containers:
        config["components"][component] = {"health_url": f"http://127.0.0.1:{PORTS[component]}/health"}
    write_config(h, config)


def check_and_prepare(h: Harness) -> dict[str, Any]:
    """`dunebugger-units check` (the check's unit), then wait for the preparation it starts; `status --json`."""
    before = len(prepare_runs(h))
    h.run(["dunebugger-units", "check"], check=False, timeout=120)

    def finished() -> bool:
        return len(prepare_runs(h)) > before

    h.wait_for(finished, 240, f"{PREPARE} to run after the check")
    return json.loads(h.run(["dunebugger-units", "status", "--json"]).stdout)  # type: ignore[no-any-return]


def prepare_runs(h: Harness) -> list[dict[str, Any]]:
    """systemd's own record of each start job of the preparation that ended (an inactive oneshot is unloaded
    from memory, and its properties with it)."""
    return [e for e in h.journal("_PID=1", f"UNIT={PREPARE}") if e.get("JOB_TYPE") == "start" and "JOB_RESULT" in e]


def unit_props(h: Harness, *names: str) -> dict[str, str]:
    """Properties of the preparation's unit, by name (`systemctl show` gives them in its own order)."""
    asked = names or ("InvocationID", "ActiveState")
    out = h.systemctl("show", PREPARE, *(f"--property={n}" for n in asked)).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def core_record(h: Harness) -> dict[str, Any]:
    """Root's own record of core (state.json in the test systemd's state dir)."""
    data = json.loads(h.path(f"{INSIDE.state_dir}/state.json").read_text())
    return data["components"].get("core", {})  # type: ignore[no-any-return]


def releases(device: Device) -> Path:
    return device.root / "opt/dunebugger/core.releases"


def asset_downloads(gh: GithubStandin, version: str) -> int:
    return sum(1 for s in gh.requests_to(corekit.asset(version)) if s.path.endswith(".tar.gz"))


def update_core(h: Harness) -> dict[str, Any]:
    done = h.run(["dunebugger-units", "update", "core", "--json"], check=False, timeout=600)
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def wait_status(h: Harness, text: str, timeout: float = 120) -> None:
    """Until the preparation's status text names `text` (its phase)."""

    def reached() -> bool:
        return text in h.systemctl("show", "-P", "StatusText", PREPARE).stdout

    h.wait_for(reached, timeout, f"{PREPARE} to reach {text!r}")


# ---- a check leads to a prepared release and a pulled image ----------------------------------------------


def core_and_scheduler(gh: GithubStandin) -> None:
    corekit.publish_all(gh, ["1.2.0"])
    publish(gh, "scheduler", "1.2.0")


@pytest.mark.containers
@pytest.mark.releases.with_args(core_and_scheduler)
def test_a_check_prepares_core_and_pulls_the_image(core: Harness, gh: GithubStandin, device: Device) -> None:
    h = core
    configure(h, device, gh, containers=("scheduler",))
    h.docker("image", "rm", ref("scheduler", "1.2.0"), check=False)
    compose_before = device.compose_file.read_bytes()
    status = check_and_prepare(h)
    assert status["components"]["core"]["prepared"] == "1.2.0", status
    assert status["components"]["scheduler"]["prepared"] == "1.2.0", status
    assert status["components"]["core"]["current"] == "1.0.0"
    text = h.run(["dunebugger-units", "status"]).stdout
    assert "update available: 1.2.0, ready to install" in text.splitlines()[0], text
    # on disk: 1.2.0 staged with its venv beside the running release, which is untouched
    staged = releases(device) / "1.2.0"
    assert (staged / ".venv/bin/python").exists() and not (staged / STAGING_MARK).exists()
    assert json.loads((staged / "VERSION").read_text())["version"] == "1.2.0"
    assert device.core_dir.is_dir() and not device.core_dir.is_symlink()  # still the installer's plain dir
    assert corekit.wait_healthy(h, "1.0.0")["version"] == "1.0.0"
    assert corekit.owners(staged) == {h.pi_uid}  # type: ignore[attr-defined]  # staged as pi, never root's
    # docker: the image is local, the compose file and the running container as they were
    assert h.docker("image", "inspect", ref("scheduler", "1.2.0"), check=False).returncode == 0
    assert device.compose_file.read_bytes() == compose_before
    running = json.loads(h.docker("container", "inspect", "dunebugger-scheduler").stdout)[0]["Config"]["Image"]
    assert running == ref("scheduler", "1.0.0")
    # systemd: low priority, and the journal says what was prepared
    props = unit_props(h, "Nice", "CPUWeight", "IOWeight", "IOSchedulingClass")
    assert props == {"Nice": "19", "CPUWeight": "1", "IOWeight": "1", "IOSchedulingClass": "3"}, props  # 3: idle
    assert prepare_runs(h)[-1]["JOB_RESULT"] == "done"
    lines = h.journal_messages("SYSLOG_IDENTIFIER=dunebugger-prepare", "PHASE=prepare")
    assert "core: 1.2.0 is ready to install" in lines and "scheduler: 1.2.0 is ready to install" in lines
    # the next check says so too (root's: through the check's unit, then root's own record)
    checked = json.loads(h.run(["dunebugger-units", "check", "--json"], timeout=120).stdout)
    assert checked["components"]["core"]["prepared"] == "1.2.0", checked
    assert "ready to install" in h.run(["dunebugger-units", "check", "core"], timeout=120).stdout


# ---- the update after it only switches -----------------------------------------------------------------


@pytest.mark.releases.with_args(lambda gh: corekit.publish_all(gh, ["1.2.0"]))
def test_an_update_after_preparation_downloads_nothing_and_switches(
        core: Harness, gh: GithubStandin, device: Device) -> None:
    h = core
    configure(h, device, gh)
    assert check_and_prepare(h)["components"]["core"]["prepared"] == "1.2.0"
    assert asset_downloads(gh, "1.2.0") == 1
    result = update_core(h)
    assert (result["status"], result["message"]) == ("updated", "Updated core to 1.2.0"), result
    download = next(c for c in result["checks"] if c["name"] == "download")
    assert "prepared ahead" in download["detail"], download
    assert asset_downloads(gh, "1.2.0") == 1  # the update fetched no archive
    assert Path(os.readlink(device.core_dir)).name == "1.2.0"
    corekit.wait_healthy(h, "1.2.0")
    status = json.loads(h.run(["dunebugger-units", "status", "--json"]).stdout)
    assert status["components"]["core"]["prepared"] is None
    assert "prepared" not in core_record(h)
    phases = h.journal_messages("SYSLOG_IDENTIFIER=dunebugger-update", "COMPONENT=core")
    assert not any(p.startswith(("core: creating venv", "core: downloading", "core: staging")) for p in phases)


# ---- an update stops a preparation; a kill leaves nothing taken as prepared -----------------------------


@pytest.mark.releases.with_args(lambda gh: corekit.publish_all(gh, ["1.2.0"]))
def test_an_update_started_during_a_preparation_stops_it_and_succeeds(
        core: Harness, gh: GithubStandin, device: Device) -> None:
    h = core
    configure(h, device, gh)
    gh.trickle_after[f"/download/dunebugger/v1.2.0/{corekit.asset('1.2.0')}"] = (1024, 1.0)  # a slow link: 6 min
    h.run(["dunebugger-units", "check"], check=False, timeout=120)
    wait_status(h, "downloading")  # for minutes: one byte every 5 s
    result = update_core(h)
    assert (result["status"], result["message"]) == ("updated", "Updated core to 1.2.0"), result
    assert h.systemctl("show", "-P", "ActiveState", PREPARE).stdout.strip() == "inactive"
    corekit.wait_healthy(h, "1.2.0")
    assert not [p for p in releases(device).iterdir() if (p / STAGING_MARK).exists()]
    assert "prepared" not in core_record(h)
    lines = h.journal_messages("SYSLOG_IDENTIFIER=dunebugger-prepare", "PHASE=prepare")
    assert any(line.startswith("core: stopped (stopped by SIGTERM)") for line in lines), lines
    # it yielded at once: never waited for the rest of the slow body until systemd killed it
    assert not [m for m in h.journal_messages("_PID=1", f"UNIT={PREPARE}") if "timed out" in m]


def slow_to_stage(gh: GithubStandin) -> None:
    """1.2.0 with requirements other than 1.0.0's: staging builds a venv with pip (seconds), so a kill seen in
    the venv phase lands there and not after the record."""
    corekit.publish(gh, "1.2.0", corekit.tarball(corekit.release_files("1.2.0", extra_requirement="# changed")))


@pytest.mark.releases.with_args(slow_to_stage)
def test_a_killed_preparation_leaves_nothing_taken_as_prepared(
        core: Harness, gh: GithubStandin, device: Device) -> None:
    h = core
    configure(h, device, gh)
    h.run(["dunebugger-units", "check"], check=False, timeout=120)
    wait_status(h, "venv")  # staging: the release dir exists with its staging mark
    h.systemctl("kill", "--signal=SIGKILL", PREPARE)
    h.wait_for(lambda: h.systemctl("show", "-P", "ActiveState", PREPARE).stdout.strip() == "failed", 30,
               f"{PREPARE} to fail")
    status = json.loads(h.run(["dunebugger-units", "status", "--json"]).stdout)
    assert status["components"]["core"]["prepared"] is None
    staged = releases(device) / "1.2.0"
    assert not staged.exists() or (staged / STAGING_MARK).exists()  # half-made, and marked so
    downloads = asset_downloads(gh, "1.2.0")
    result = update_core(h)
    assert result["status"] == "updated", result
    assert asset_downloads(gh, "1.2.0") == downloads + 1  # nothing half-made was taken: downloaded again
    download = next(c for c in result["checks"] if c["name"] == "download")
    assert "prepared ahead" not in download["detail"]
    assert not (staged / STAGING_MARK).exists()
    corekit.wait_healthy(h, "1.2.0")


# ---- prepare_ahead: false; a newer release supersedes -----------------------------------------------------


@pytest.mark.containers
@pytest.mark.releases.with_args(core_and_scheduler)
def test_prepare_ahead_false_prepares_nothing(core: Harness, gh: GithubStandin, device: Device) -> None:
    h = core
    config = corekit.updater_config(device, gh.url)
    config["components"]["core"]["prepare_ahead"] = False
    config["components"]["scheduler"] = {"prepare_ahead": False}
    write_config(h, config)
    h.docker("image", "rm", ref("scheduler", "1.2.0"), check=False)
    status = check_and_prepare(h)
    assert status["components"]["core"]["update_available"] is True
    assert (status["components"]["core"]["prepared"], status["components"]["scheduler"]["prepared"]) == (None, None)
    assert not releases(device).exists()
    assert asset_downloads(gh, "1.2.0") == 0
    assert h.docker("image", "inspect", ref("scheduler", "1.2.0"), check=False).returncode != 0
    lines = h.journal_messages("SYSLOG_IDENTIFIER=dunebugger-prepare", "PHASE=prepare")
    assert "core: prepare_ahead is off" in lines and "scheduler: prepare_ahead is off" in lines


@pytest.mark.releases.with_args(lambda gh: corekit.publish_all(gh, ["1.2.0"]))
def test_a_newer_release_supersedes_the_prepared_one(core: Harness, gh: GithubStandin, device: Device) -> None:
    h = core
    configure(h, device, gh)
    assert check_and_prepare(h)["components"]["core"]["prepared"] == "1.2.0"
    corekit.publish_all(gh, ["1.2.1"])
    status = check_and_prepare(h)
    assert status["components"]["core"]["prepared"] == "1.2.1", status
    assert sorted(p.name for p in releases(device).iterdir() if not p.name.startswith(".")) == ["1.2.1"]
    assert core_record(h)["prepared_release"]["release_dir"].endswith("/1.2.1")
    result = update_core(h)
    assert (result["status"], result["to_version"]) == ("updated", "1.2.1"), result
    assert asset_downloads(gh, "1.2.1") == 1


@pytest.mark.releases.with_args(lambda gh: corekit.publish_all(gh, ["1.2.0"]))
def test_a_preparation_started_during_an_update_prepares_nothing(
        core: Harness, gh: GithubStandin, device: Device) -> None:
    h = core
    configure(h, device, gh, core=False)
    check_and_prepare(h)  # the check, and the preparation it starts (nothing: prepare_ahead is off) done
    configure(h, device, gh)
    gh.trickle_after[f"/download/dunebugger/v1.2.0/{corekit.asset('1.2.0')}"] = (1024, 0.02)  # the update's
    h.systemctl("start", "--no-block", "dunebugger-update@core.service")
    h.wait_for(lambda: "downloading" in h.systemctl("show", "-P", "StatusText", "dunebugger-update@core.service")
               .stdout, 60, "the update to download")
    h.systemctl("start", PREPARE, timeout=120)  # as a check that finished meanwhile would
    lines = h.journal_messages("SYSLOG_IDENTIFIER=dunebugger-prepare", "PHASE=prepare")
    assert "core: not prepared: the update of core is running" in lines, lines
    h.wait_for(lambda: h.systemctl("show", "-P", "ActiveState", "dunebugger-update@core.service").stdout.strip()
               in ("inactive", "failed"), 300, "the update to end")
    corekit.wait_healthy(h, "1.2.0")
    assert core_record(h).get("prepared") is None
    assert asset_downloads(gh, "1.2.0") == 1  # the update's own download, nobody else's
