"""Installing core from a file in a real systemd: `update core --from FILE` stages the file in root's state dir,
and the real update@ (or dry-run@) unit installs that copy through the pipeline a download takes, with the
rollback OnFailure= starts. The GitHub stand-in must see no request at all.

Each case asserts the command's JSON (or its one line) first, then disk and systemd, then the journal.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from kits.corekit import release_files, tarball, updater_config, wait_healthy
from kits.devicekit import Device
from kits.harness import Harness
from kits.productkit import history, write_config
from kits.signkit import make_signer, sha256sums
from kits.standin import GithubStandin

from dunebugger_units import journal

USB = "/var/media/usb"  # /var is the harness's own (an overlay); /srv would be the host's
STATE = "/var/lib/dunebugger-units"
KEYRING = "/etc/dunebugger/trusted.gpg"


def release(h: Harness, version: str, *, where: str = USB, checksum: str | None = "right",
            crash: bool = False) -> str:
    """Core's release file in `where`, with its `.sha256` beside it (`wrong`: one that lies; None: none)."""
    data = tarball(release_files(version, crash=crash))
    name = f"dunebugger-{version}.tar.gz"
    h.write_file(f"{where}/{name}", data)
    if checksum is not None:
        digest = hashlib.sha256(data if checksum == "right" else b"another file").hexdigest()
        h.write_file(f"{where}/{name}.sha256", f"{digest}  {name}\n")
    return f"{where}/{name}"


def install(h: Harness, path: str, *extra: str) -> tuple[int, dict[str, Any], str]:
    done = h.run(["dunebugger-units", "update", "core", "--from", path, "--json", *extra], check=False, timeout=400)
    body = json.loads(done.stdout) if done.stdout.strip().startswith("{") else {}
    return done.returncode, body, done.stderr


def running(device: Device) -> str:
    return json.loads((device.core_dir.resolve() / "VERSION").read_text())["version"]  # type: ignore[no-any-return]


def nothing_staged(h: Harness) -> bool:
    staged = h.path(f"{STATE}/imports/core")
    requests = h.path(f"{STATE}/requests")
    return (not staged.exists() or not any(staged.iterdir())) and (
        not requests.exists() or not any(requests.iterdir()))


def test_core_from_a_file_is_checked_like_a_download_and_installed_offline(core: Harness, gh: GithubStandin,
                                                                           device: Device) -> None:
    h = core
    gh.seen.clear()

    # refused by the CLI before any unit starts: a name that gives no version, a link, a file that is not there
    h.write_file(f"{USB}/core-latest.tar.gz", b"whatever")
    code, _, err = install(h, f"{USB}/core-latest.tar.gz")
    assert code == 75 and err.strip() == ("dunebugger-units: installing core from core-latest.tar.gz: the name "
                                          "gives no version (expected dunebugger-<version>.tar.gz)"), err
    real = release(h, "1.2.0", where="/var/media/elsewhere")
    h.run(["mkdir", "-p", "/var/media/linked"])
    h.run(["ln", "-s", real, "/var/media/linked/dunebugger-1.2.0.tar.gz"])
    h.run(["ln", "-s", f"{real}.sha256", "/var/media/linked/dunebugger-1.2.0.tar.gz.sha256"])
    code, _, err = install(h, "/var/media/linked/dunebugger-1.2.0.tar.gz")
    assert code == 75 and "dunebugger-1.2.0.tar.gz: it is a symbolic link, refused" in err, err
    assert history(h) == []  # no unit ran

    # refused by the unit's pre-checks: no checksum beside it, a checksum that lies; nothing changed
    for checksum, why in ((None, "no checksum beside dunebugger-1.2.0.tar.gz (neither dunebugger-1.2.0.tar.gz"
                                 ".sha256 nor SHA256SUMS with SHA256SUMS.gpg); refused"),
                          ("wrong", "verifying dunebugger-1.2.0.tar.gz: SHA-256")):
        h.run(["rm", "-f", f"{USB}/dunebugger-1.2.0.tar.gz.sha256"])
        path = release(h, "1.2.0", checksum=checksum)
        code, body, err = install(h, path)
        assert (code, body["status"], body["source"]) == (75, "refused", f"file:{path}"), (body, err)
        assert why in body["message"], body["message"]
        assert running(device) == "1.0.0" and nothing_staged(h)

    # a dry run of the good file: every check, the plan, nothing changed
    path = release(h, "1.2.0")
    code, body, _ = install(h, path, "--dry-run")
    assert (code, body["status"], body["source"]) == (0, "dry-run", f"file:{path}"), body
    assert body["plan"]["asset"] == "dunebugger-1.2.0.tar.gz"
    assert running(device) == "1.0.0"

    code, body, _ = install(h, path)
    assert (code, body["action"], body["status"]) == (0, "update", "updated"), body
    assert (body["from_version"], body["to_version"], body["source"]) == ("1.0.0", "1.2.0", f"file:{path}")
    [file_check] = [c for c in body["checks"] if c["name"] == "file"]
    assert file_check["ok"] and file_check["detail"] == f"{path}: dunebugger-1.2.0.tar.gz.sha256 verified"
    assert "download" not in {c["name"] for c in body["checks"]}
    assert history(h)[0]["source"] == f"file:{path}"
    assert running(device) == "1.2.0" and wait_healthy(h, "1.2.0")
    assert nothing_staged(h)
    done = h.journal(f"MESSAGE_ID={journal.UPDATE_SUCCEEDED}", "COMPONENT=core")
    assert done and done[-1]["TO_VERSION"] == "1.2.0"
    assert gh.seen == []  # offline: no GitHub call at all, neither from the CLI nor from the unit


def test_a_signed_file_and_a_failing_post_check_roll_back_as_a_download_does(core: Harness, gh: GithubStandin,
                                                                             device: Device, tmp_path: Path) -> None:
    h = core
    signer = make_signer(tmp_path / "signer")
    try:
        h.write_file(KEYRING, signer.keyring.read_bytes())
        write_config(h, {**updater_config(device, gh.url), "trusted_keys": KEYRING})
        gh.seen.clear()

        # trusted_keys set, a .sha256 but no signature: refused
        path = release(h, "1.3.0", crash=True)
        code, body, _ = install(h, path)
        assert (code, body["status"]) == (75, "refused"), body
        assert "dunebugger-1.3.0.tar.gz is not signed: no SHA256SUMS or SHA256SUMS.gpg beside it" in body["message"]
        assert running(device) == "1.0.0"

        # signed: installed, its post-check fails, and the rollback OnFailure= starts answers the command
        data = h.path(path).read_bytes()
        sums = b"# release marco-svitol/dunebugger v1.3.0\n" + sha256sums({"dunebugger-1.3.0.tar.gz": data})
        h.write_file(f"{USB}/SHA256SUMS", sums)
        h.write_file(f"{USB}/SHA256SUMS.gpg", signer.sign(sums))
        code, body, _ = install(h, path)
        assert (code, body["action"], body["status"]) == (1, "rollback", "rolled-back"), body
        update = history(h, "update")[0]
        assert (update["status"], update["source"], update["to_version"]) == ("failed", f"file:{path}", "1.3.0")
        assert any(c["name"] == "file" and c["ok"] and "the signed SHA256SUMS" in c["detail"]
                   for c in update["checks"]), update["checks"]
        assert any(c["name"] == "dunebugger.service stable" and not c["ok"] for c in update["checks"])
        assert running(device) == "1.0.0" and wait_healthy(h, "1.0.0")
        assert h.journal(f"MESSAGE_ID={journal.ROLLBACK_SUCCEEDED}", "COMPONENT=core")
        assert gh.seen == []
    finally:
        signer.stop()
