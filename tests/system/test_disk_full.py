"""A full disk while the compose file is written: one clear error, the file byte-identical, no temp file left,
and the component still running the version it ran before (the OnFailure= rollback finds nothing to restore).
A full disk while core's release is staged: refused before any change, core untouched."""

from __future__ import annotations

import json

import pytest
from kits import corekit
from kits.containerkit import COMPOSE, INSIDE, publish, ref, updater_config, wait_health
from kits.harness import Harness
from kits.productkit import history, write_config
from kits.standin import GithubStandin

STACK = "/opt/dunebugger/stack"  # a 256 KiB tmpfs, filled up before the update


@pytest.fixture
def stack_on_tmpfs(product: Harness, gh: GithubStandin) -> Harness:
    """The containers run from a compose file on a 256 KiB tmpfs, and the product is configured so."""
    h = product
    h.run(["mkdir", "-p", STACK])
    h.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", STACK])
    h.write_file(f"{STACK}/docker-compose.yml", COMPOSE)
    h.write_file(f"{STACK}/.env", "NATS_URL=nats://127.0.0.1:4222\n")
    h.run(["docker", "compose", "-f", str(INSIDE.compose_file), "down"], timeout=120)
    h.run(["docker", "compose", "-f", f"{STACK}/docker-compose.yml", "up", "-d"], timeout=120)
    wait_health(h, "scheduler", "1.0.0")
    write_config(h, updater_config(gh.url, stability_seconds=1) | {"compose_file": f"{STACK}/docker-compose.yml"})
    return h


@pytest.mark.containers
def test_disk_full_during_the_compose_write(stack_on_tmpfs: Harness, gh: GithubStandin) -> None:
    h = stack_on_tmpfs
    publish(gh, "scheduler", "1.2.0")
    h.run(["dunebugger-units", "check"], check=False)
    before = h.path(f"{STACK}/docker-compose.yml").read_bytes()
    # fill the tmpfs to the last block: the next write of any size fails with ENOSPC
    h.run(["dd", "if=/dev/zero", f"of={STACK}/filler", "bs=4k"], check=False)
    h.run(["dd", "if=/dev/zero", f"of={STACK}/filler2", "bs=1"], check=False)

    h.systemctl("start", "dunebugger-update@scheduler.service", check=False, timeout=180)
    h.wait_for(lambda: history(h, "rollback"), 120, "the rollback")
    rollback, update, *_ = history(h)
    assert update["status"] == "failed"
    assert "No space left on device" in update["message"]
    assert "\n" not in update["message"]
    assert rollback["status"] == "rolled-back", rollback
    assert h.path(f"{STACK}/docker-compose.yml").read_bytes() == before
    assert sorted(p.name for p in h.path(STACK).iterdir()) == [".env", "docker-compose.yml", "filler", "filler2"]
    running = h.docker("inspect", "--format", "{{.Config.Image}}", "dunebugger-scheduler").stdout.strip()
    assert running == ref("scheduler", "1.0.0")
    wait_health(h, "scheduler", "1.0.0", timeout=10)
    assert not h.journal("SYSLOG_IDENTIFIER=dunebugger-update", "MESSAGE=Traceback (most recent call last):")



@pytest.mark.updater(core_min_free_mb=1)
def test_disk_full_while_staging_core_changes_nothing(core: Harness, gh: GithubStandin) -> None:
    h = core
    # move the device onto a tmpfs just larger than what it holds, then fill it to the last block
    h.systemctl("stop", corekit.SERVICE)
    h.run(["cp", "-a", "/opt/dunebugger", "/var/tmp/device-copy"])
    used_kib = int(h.run(["du", "-sk", "/var/tmp/device-copy"]).stdout.split()[0])
    h.run(["mount", "-t", "tmpfs", "-o", f"size={used_kib + 4096}k", "tmpfs", "/opt/dunebugger"])
    h.run(["cp", "-a", "/var/tmp/device-copy/.", "/opt/dunebugger/"])
    h.systemctl("start", corekit.SERVICE)
    corekit.wait_healthy(h, "1.0.0")
    pid = corekit.service_props(h, "MainPID")["MainPID"]
    # requirements that differ from the running release's: a fresh venv and pip, not the reused one
    files = corekit.release_files("1.2.0", extra_requirement="# changed: a fresh venv and pip")
    corekit.publish(gh, "1.2.0", corekit.tarball(files))
    h.run(["dunebugger-units", "check", "core"], timeout=60)
    h.run(["dunebugger-units", "check", "core"], timeout=60)
    # leave 1.5 MB: more than the 1 MB the pre-check asks, far less than a venv needs
    free_kib = int(h.run(["df", "--output=avail", "-k", "/opt/dunebugger"]).stdout.split()[-1])
    h.run(["dd", "if=/dev/zero", "of=/opt/dunebugger/filler", "bs=1k", f"count={free_kib - 1536}"])
    before = {name: h.path(f"{corekit.INSTALL_DIR}/{name}").read_bytes() for name in corekit.DEVICE_SETTINGS}

    done = h.run(["dunebugger-units", "update", "core", "--json"], check=False, timeout=300)
    assert done.returncode == 75, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert "No space left on device" in result["message"], result
    assert result["message"].endswith("nothing was changed"), result
    assert "Traceback" not in done.stderr
    # nothing changed: same process, same plain install, settings byte-identical, no staging left behind
    assert corekit.service_props(h, "MainPID")["MainPID"] == pid
    assert h.path(str(corekit.INSTALL_DIR)).is_dir() and not h.path(str(corekit.INSTALL_DIR)).is_symlink()
    assert {n: h.path(f"{corekit.INSTALL_DIR}/{n}").read_bytes() for n in before} == before
    releases = h.path(f"{corekit.INSTALL_DIR}.releases")
    assert not releases.exists() or not any(releases.iterdir())
    assert not h.path("/var/lib/dunebugger-units/transaction.json").exists()
    corekit.wait_healthy(h, "1.0.0")
