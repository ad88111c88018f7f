"""Containers from a `docker save` file and `import DIR` in a real systemd, with the real Docker engine: the
archive is staged by root, judged before anything changes (one image, tagged with the compose file's
repository and the file's version), then loaded instead of pulled by the real update unit. The GitHub stand-in
must see no request at all.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from kits.containerkit import COMPOSE, ref, updater_config, wait_health
from kits.devicekit import Device
from kits.harness import Harness
from kits.productkit import history, write_config
from kits.signkit import make_signer, sha256sums
from kits.standin import GithubStandin

MEDIA = "/var/media"  # /var is the harness's own (an overlay); /srv would be the host's
KEYRING = "/etc/dunebugger/trusted.gpg"

pytestmark = [pytest.mark.containers]


def saved(h: Harness, image: str, path: str, *, checksum: bool = True) -> str:
    """`docker save` of `image` (from the registry) at `path`, with its `.sha256`; the image is then removed
    from the engine, so only a load can bring it back."""
    h.run(["mkdir", "-p", path.rsplit("/", 1)[0]])
    h.docker("pull", "-q", image)
    h.docker("save", "-o", path, image)
    h.docker("rmi", image)
    if checksum:
        name = path.rsplit("/", 1)[1]
        h.write_file(f"{path}.sha256", f"{hashlib.sha256(h.path(path).read_bytes()).hexdigest()}  {name}\n")
    return path


def is_local(h: Harness, image: str) -> bool:
    return h.docker("image", "inspect", image, check=False).returncode == 0


def run_json(h: Harness, *argv: str) -> tuple[int, dict[str, Any]]:
    done = h.run(["dunebugger-units", *argv, "--json"], check=False, timeout=600)
    assert done.stdout.strip().startswith("{"), done.stdout + done.stderr
    return done.returncode, json.loads(done.stdout)


def test_a_container_from_its_docker_save_is_loaded_only_when_it_holds_the_target(
        product: Harness, gh: GithubStandin, device: Device) -> None:
    h = product
    gh.seen.clear()
    for image, where in ((ref("scheduler", "1.5.0"), "other-tag"), (ref("remote", "1.2.0"), "other-repo")):
        path = saved(h, image, f"{MEDIA}/{where}/scheduler-1.2.0.tar")
        code, body = run_json(h, "update", "scheduler", "--from", path)
        assert (code, body["status"]) == (75, "refused"), body
        assert body["message"] == (f"pre-update check failed: image file: scheduler-1.2.0.tar: its image is tagged "
                                   f"{image}, not {ref('scheduler', '1.2.0')}"), body["message"]
        assert not is_local(h, image) and not is_local(h, ref("scheduler", "1.2.0"))  # never loaded
        assert device.compose_file.read_text() == COMPOSE

    path = saved(h, ref("scheduler", "1.2.0"), f"{MEDIA}/usb/scheduler-1.2.0.tar")
    code, body = run_json(h, "update", "scheduler", "--from", path, "--dry-run")
    assert (code, body["status"], body["plan"]["load"]) == (0, "dry-run",
                                                           "/var/lib/dunebugger-units/imports/scheduler/"
                                                           "scheduler-1.2.0.tar"), body
    assert not is_local(h, ref("scheduler", "1.2.0"))

    code, body = run_json(h, "update", "scheduler", "--from", path)
    assert (code, body["status"], body["source"]) == (0, "updated", f"file:{path}"), body
    by_name = {c["name"]: c for c in body["checks"]}
    assert by_name["image file"]["detail"] == f"scheduler-1.2.0.tar holds {ref('scheduler', '1.2.0')}"
    assert by_name["file"]["detail"] == f"{path}: scheduler-1.2.0.tar.sha256 verified"
    assert by_name["running image"]["ok"] and by_name["health endpoint"]["ok"]
    assert device.compose_file.read_text() == COMPOSE.replace(ref("scheduler", "1.0.0"), ref("scheduler", "1.2.0"))
    wait_health(h, "scheduler", "1.2.0")
    assert not any(h.path("/var/lib/dunebugger-units/imports/scheduler").iterdir())
    assert gh.seen == []


def test_import_installs_remote_scheduler_core_in_order_and_stops_at_the_first_failure(
        product: Harness, gh: GithubStandin, device: Device) -> None:
    h = product
    usb = f"{MEDIA}/usb"
    saved(h, ref("remote", "1.2.0"), f"{usb}/remote-1.2.0.tar")
    saved(h, ref("scheduler", "1.3.0"), f"{usb}/scheduler-1.3.0.tar")  # exits at start: rolled back
    h.write_file(f"{usb}/dunebugger-1.2.0.tar.gz", b"never reached")
    h.write_file(f"{usb}/notes.txt", "what is on this stick\n")
    gh.seen.clear()

    # a dry run of each file changes nothing and does not stop: the core file has no checksum beside it
    code, body = run_json(h, "import", usb, "--dry-run")
    assert code == 75, body
    got = [(r["component"], r["status"], r.get("source")) for r in body["components"]]
    assert got == [("remote", "dry-run", f"file:{usb}/remote-1.2.0.tar"),
                   ("scheduler", "dry-run", f"file:{usb}/scheduler-1.3.0.tar"),
                   ("core", "refused", f"file:{usb}/dunebugger-1.2.0.tar.gz")], body
    assert not is_local(h, ref("remote", "1.2.0")) and device.compose_file.read_text() == COMPOSE

    code, body = run_json(h, "import", usb)
    assert code == 1, body
    got = [(r["component"], r["action"], r["status"]) for r in body["components"]]
    assert got == [("remote", "update", "updated"), ("scheduler", "rollback", "rolled-back"),
                   ("core", "update", "skipped")], body
    assert body["components"][0]["source"] == f"file:{usb}/remote-1.2.0.tar"
    assert body["components"][2]["message"] == "not started: scheduler did not update"
    assert body["summary"].startswith("import: updated: remote 1.2.0; scheduler rolled-back"), body["summary"]
    assert body["directory"] == usb
    # what was done stays done: remote runs 1.2.0, scheduler is back on 1.0.0
    wait_health(h, "remote", "1.2.0")
    wait_health(h, "scheduler", "1.0.0")
    failed = next(r for r in history(h, "update") if r["component"] == "scheduler")
    assert (failed["status"], failed["source"]) == ("failed", f"file:{usb}/scheduler-1.3.0.tar")
    assert not [r for r in history(h, "update") if r["component"] == "core"]  # never started
    assert gh.seen == []


def test_with_trusted_keys_a_docker_save_is_loaded_only_when_the_signed_sums_list_it(
        product: Harness, gh: GithubStandin, device: Device, tmp_path: Path) -> None:
    h = product
    signer = make_signer(tmp_path / "signer")
    try:
        h.write_file(KEYRING, signer.keyring.read_bytes())
        write_config(h, {**updater_config(gh.url), "trusted_keys": KEYRING})
        gh.seen.clear()
        path = saved(h, ref("scheduler", "1.2.0"), f"{MEDIA}/usb/scheduler-1.2.0.tar")
        release = b"# release marco-svitol/dunebugger-scheduler v1.2.0\n"
        for listed, why in (({"scheduler-1.3.0.tar": b"another archive"},
                             "scheduler-1.2.0.tar is not listed in the signed SHA256SUMS"),
                            ({"scheduler-1.2.0.tar": b"another archive"},
                             "from the signed SHA256SUMS")):
            sums = release + sha256sums(listed)
            h.write_file(f"{MEDIA}/usb/SHA256SUMS", sums)
            h.write_file(f"{MEDIA}/usb/SHA256SUMS.gpg", signer.sign(sums))
            code, body = run_json(h, "update", "scheduler", "--from", path)
            assert (code, body["status"]) == (75, "refused"), body
            assert why in body["message"], body["message"]
            assert not is_local(h, ref("scheduler", "1.2.0")) and device.compose_file.read_text() == COMPOSE

        sums = release + sha256sums({"scheduler-1.2.0.tar": h.path(path).read_bytes()})
        h.write_file(f"{MEDIA}/usb/SHA256SUMS", sums)
        h.write_file(f"{MEDIA}/usb/SHA256SUMS.gpg", signer.sign(sums))
        code, body = run_json(h, "update", "scheduler", "--from", path)
        assert (code, body["status"]) == (0, "updated"), body
        [file_check] = [c for c in body["checks"] if c["name"] == "file"]
        assert file_check["detail"] == f"{path}: scheduler-1.2.0.tar.sha256 and the signed SHA256SUMS verified"
        wait_health(h, "scheduler", "1.2.0")
        assert gh.seen == []
    finally:
        signer.stop()
