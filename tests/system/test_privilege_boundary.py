"""The privilege boundary on the real harness: nothing the unprivileged check can write steers root; and
signed releases.

The check's user (`dunebugger-units`) tampers with everything it can write: its cache (an asset URL pointing
at another server that serves another tarball with a matching checksum, a link where a file should be, a
crafted transaction record, a version request) and tries root's state dir (refused by the kernel). Update,
rollback and boot recovery refuse or ignore all of it, and nothing outside the expected paths changes.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kits import containerkit
from kits.corekit import (
    asset,
    owners,
    publish,
    release_files,
    tarball,
    updater_config,
    wait_healthy,
)
from kits.devicekit import Device
from kits.harness import Harness
from kits.productkit import history
from kits.signkit import Signer, make_signer, sha256sums
from kits.standin import GithubStandin

STATE = "/var/lib/dunebugger-units"
CACHE = f"{STATE}/check"
CHECK_USER = "dunebugger-units"
UPDATE = "dunebugger-update@core.service"
CONFIG = "/etc/dunebugger/updater.yaml"
KEYRING = "/etc/dunebugger/trusted.gpg"


def as_check_user(h: Harness, *argv: str) -> int:
    return h.run(list(argv), user=CHECK_USER, check=False).returncode


def write_as_check_user(h: Harness, path: str, text: str) -> int:
    return h.run(["tee", path], user=CHECK_USER, input=text, check=False).returncode


def fingerprint(h: Harness) -> dict[str, str]:
    """What must never change: files outside the expected paths that a steered root could write."""
    paths = ["/etc/passwd", "/etc/shadow", "/etc/dunebugger/updater.yaml", "/root/.bashrc"]
    return {p: hashlib.sha256(h.path(p).read_bytes()).hexdigest() if h.path(p).exists() else "-" for p in paths}


def test_the_check_user_cannot_steer_root(core: Harness, gh: GithubStandin, device: Device) -> None:
    h = core
    genuine = tarball(release_files("1.2.0"))
    publish(gh, "1.2.0", genuine)
    h.systemctl("start", "dunebugger-check.service", timeout=120)
    before = fingerprint(h)

    # root's state dir is root's: every write the check's user tries there is refused by the kernel
    for path in (f"{STATE}/update.lock", f"{STATE}/transaction.json", f"{STATE}/requests/core.json",
                 f"{STATE}/downloads", f"{STATE}/state.json"):
        assert as_check_user(h, "ln", "-sfn", "/etc/shadow", path) != 0, path
    assert write_as_check_user(h, f"{STATE}/transaction.json", "{}") != 0
    assert not h.path(f"{STATE}/transaction.json").exists()

    # its own cache: another server serving another tarball, with the matching checksum and size
    evil = GithubStandin().start(h.listen_tcp())
    try:
        planted = tarball({**release_files("1.2.0"), "app/PLANTED": b"root runs this"})
        evil.blobs["/evil.tar.gz"] = planted
        cache = json.loads(h.path(f"{CACHE}/check.json").read_text())
        cache["components"]["core"]["assets"] = [
            {"name": asset("1.2.0"), "size": len(planted), "url": f"{evil.url}/evil.tar.gz",
             "digest": "sha256:" + hashlib.sha256(planted).hexdigest()},
            {"name": f"{asset('1.2.0')}.sha256", "size": 90, "url": f"{evil.url}/evil.sha256", "digest": None}]
        assert write_as_check_user(h, f"{CACHE}/check.json", json.dumps(cache)) == 0
        # a crafted transaction record and a version request, where the check's user can write them
        crafted = {"component": "core", "kind": "python_app", "from_version": "1.0.0", "to_version": "1.2.0",
                   "step": "switched", "status": "failed",
                   "backups": {"install_dir": "/etc", "previous_release": "/root", "release_dir": "/usr",
                               "tarball_backup": "/etc/shadow"}}
        assert write_as_check_user(h, f"{CACHE}/transaction.json", json.dumps(crafted)) == 0
        assert as_check_user(h, "mkdir", "-p", f"{CACHE}/requests") == 0
        assert write_as_check_user(h, f"{CACHE}/requests/core.json", json.dumps({"version": "0.0.1"})) == 0
        # links where the check's user may write, named as root's files are
        for name in ("update.lock", ".state.lock", "state.json", "downloads"):
            assert as_check_user(h, "ln", "-sfn", "/etc/shadow", f"{CACHE}/{name}") == 0

        # boot recovery and rollback find nothing of root's to act on
        h.run(["dunebugger-units", "recover"])
        assert h.run(["dunebugger-units", "run-rollback", "core"], check=False).returncode == 75
        # no unfinished update of root's, and no successful update to return to (a rollback on request)
        assert history(h)[0]["message"].startswith("rolling back core: there is no previous version")

        # the update installs the genuine 1.2.0, fetched by root from GitHub; the other server is never asked
        h.systemctl("start", UPDATE, timeout=300)
        assert evil.seen == []
    finally:
        evil.stop()
    newest = history(h)[0]
    assert (newest["status"], newest["message"]) == ("updated", "Updated core to 1.2.0"), newest
    wait_healthy(h, "1.2.0")
    assert not (device.core_dir.resolve() / "app/PLANTED").exists()
    assert fingerprint(h) == before
    assert not h.path(f"{STATE}/transaction.json").exists()
    # the cache says a garbled version: root refuses it, and never uses it as a path
    cache = json.loads(h.path(f"{CACHE}/check.json").read_text())
    cache["components"]["core"]["latest"] = "9.9.9/../../../etc"
    assert write_as_check_user(h, f"{CACHE}/check.json", json.dumps(cache)) == 0
    h.systemctl("start", UPDATE, timeout=120)
    assert "not a version" in history(h)[0]["message"], history(h)[0]
    # a link instead of the cache: root does not follow it (as if never checked)
    assert as_check_user(h, "ln", "-sfn", "/etc/shadow", f"{CACHE}/check.json") == 0
    h.systemctl("start", UPDATE, timeout=120)
    assert "no check result yet" in history(h)[0]["message"], history(h)[0]
    assert fingerprint(h) == before


# ---- signed releases ----------------------------------------------------------------------------------------


@pytest.fixture
def signers(tmp_path: Path) -> Iterator[tuple[Signer, Signer]]:
    ours, theirs = make_signer(tmp_path / "ours"), make_signer(tmp_path / "theirs", name="Someone Else")
    yield ours, theirs
    ours.stop()
    theirs.stop()


def publish_signed(gh: GithubStandin, version: str, signer: Signer | None, *, cover_manifest: bool = True,
                   list_tarball: bool = True, names: str | None = None) -> None:
    """A core release with SHA256SUMS (+ .gpg when `signer`) and an update manifest, as a workflow makes it;
    `names`: the tag its release line names (a list made for another release)."""
    data = tarball(release_files(version))
    manifest = f"version: {version}\ncomponent_type: python_app\n".encode()
    gh.add_raw("dunebugger", f"v{version}", "update-manifest.yaml", manifest)
    listed = {**({asset(version): data} if list_tarball else {}),
              **({"update-manifest.yaml": manifest} if cover_manifest else {})}
    line = f"# release marco-svitol/dunebugger {names or f'v{version}'}\n".encode()
    sums = (line if names or not list_tarball else b"") + sha256sums(listed)
    assets = {asset(version): data, "SHA256SUMS": sums}
    if signer is not None:
        assets["SHA256SUMS.gpg"] = signer.sign(sums)
    gh.add_release("dunebugger", f"v{version}", assets=assets)


def test_signed_releases_only(core: Harness, gh: GithubStandin, device: Device,
                              signers: tuple[Signer, Signer]) -> None:
    h = core
    ours, theirs = signers
    h.write_file(KEYRING, ours.keyring.read_bytes())
    config = updater_config(device, gh.url)
    config["trusted_keys"] = KEYRING
    h.write_file(CONFIG, yaml.safe_dump(config))
    refusals = {
        "1.1.0": (None, {}, "release v1.1.0 is not signed: no SHA256SUMS.gpg asset"),
        "1.1.1": (theirs, {}, "SHA256SUMS is not signed by a key in trusted_keys"),
        "1.1.2": (ours, {"cover_manifest": False}, "update-manifest.yaml is not listed in the signed SHA256SUMS"),
        "1.1.3": (ours, {"list_tarball": False}, "dunebugger-1.1.3.tar.gz is not listed in the signed SHA256SUMS"),
        # a list signed for an older release, reused: it vouches for nothing here
        "1.1.4": (ours, {"list_tarball": False, "names": "v1.0.0"},
                  "the signed SHA256SUMS does not name release marco-svitol/dunebugger v1.1.4"),
    }
    for version, (signer, how, why) in refusals.items():
        publish_signed(gh, version, signer, **how)
        done = h.run(["dunebugger-units", "update", "core", "--version", version], check=False, timeout=300)
        assert done.returncode == 75, done.stdout + done.stderr
        newest = history(h)[0]
        assert newest["status"] == "refused" and why in json.dumps(newest), (version, newest)
        # nothing was changed or staged
        assert device.core_dir.is_dir() and not device.core_dir.is_symlink()
        assert not (device.root / f"opt/dunebugger/core.releases/{version}").exists()

    publish_signed(gh, "1.2.0", ours)
    h.run(["dunebugger-units", "update", "core", "--version", "1.2.0"], timeout=300)
    newest = history(h)[0]
    assert (newest["status"], newest["message"]) == ("updated", "Updated core to 1.2.0"), newest
    download = next(c for c in newest["checks"] if c["name"] == "download")
    assert "the signed SHA256SUMS" in download["detail"]
    wait_healthy(h, "1.2.0")


# ---- pi, and a release pi's code can publish, never steer root ------------------------------------------------

RELEASES = "/opt/dunebugger/core.releases"
# A release may ship a module named as a stdlib one; `python -m venv` run from the release dir would import it.
PLANTED_VENV = b"import os, sys\nprint(f'ERROR planted code ran as uid {os.getuid()}', file=sys.stderr)\nsys.exit(1)\n"


def update_core(h: Harness, version: str) -> dict[str, object]:
    h.systemctl("start", UPDATE, check=False, timeout=300)
    return history(h, "update")[0]


def checked_version(h: Harness) -> str:
    """core's installed version as the check, run as its own user, read it."""
    h.systemctl("start", "dunebugger-check.service", timeout=120)
    return str(json.loads(h.path(f"{CACHE}/check.json").read_text())["components"]["core"]["current"])


def everything_said(h: Harness) -> str:
    return json.dumps(history(h)) + "\n".join(h.journal_messages())


def test_pi_never_runs_code_as_root(core: Harness, gh: GithubStandin, device: Device) -> None:
    """Against the unfixed code: pi points the install link at a root-owned dir (`/usr/share/doc`), so the
    owner of new files is taken to be root, and the venv of a release that ships `venv.py` is built by
    `python -m venv` as uid 0 from inside that release: the update failed with "creating the venv of 1.2.0:
    exited 1: ERROR planted code ran as uid 0". Now the owner is pi (the service's User=), a link out of the
    releases dir is refused before anything is staged, and `python -I` from root's working directory never
    imports the release's `venv.py` at all: the same release installs."""
    h = core
    publish(gh, "1.1.0", tarball(release_files("1.1.0")))
    h.run(["dunebugger-units", "update", "core", "--version", "1.1.0"], timeout=300)
    publish(gh, "1.2.0", tarball({**release_files("1.2.0"), "venv.py": PLANTED_VENV}))
    h.systemctl("start", "dunebugger-check.service", timeout=120)
    running = device.core_dir.resolve()
    h.run(["ln", "-sfn", "/usr/share/doc", "/opt/dunebugger/core"], user="pi")
    refused = update_core(h, "1.2.0")
    assert refused["status"] == "refused", refused
    assert "planted code ran" not in everything_said(h)
    assert not h.path(f"{RELEASES}/1.2.0").exists()

    h.run(["ln", "-sfn", f"core.releases/{running.name}", "/opt/dunebugger/core"], user="pi")
    newest = update_core(h, "1.2.0")
    assert (newest["status"], newest["message"]) == ("updated", "Updated core to 1.2.0"), newest
    assert "planted code ran" not in everything_said(h)
    assert owners(device.core_dir.resolve()) == {h.pi_uid}  # type: ignore[attr-defined]


def test_root_never_copies_through_a_link_pi_planted(core: Harness, gh: GithubStandin, device: Device) -> None:
    """Against the unfixed code: pi swaps the running release's site-packages for a link to /etc; the next
    update with unchanged requirements copied /etc into the new venv as root (hard links where /etc shares
    the filesystem, which would have made /etc/shadow itself pi's) and chowned the copies to pi: pi read
    the bytes of /etc/shadow at core.releases/1.2.0/.venv/lib/python3.11/site-packages/shadow. Now the copy
    is made by pi in the fenced child, which cannot read /etc/shadow any more than pi can."""
    h = core
    shadow = h.path("/etc/shadow")
    secret, shadow_owner = shadow.read_bytes(), (shadow.stat().st_uid, shadow.stat().st_mode)
    publish(gh, "1.1.0", tarball(release_files("1.1.0")))
    h.run(["dunebugger-units", "update", "core", "--version", "1.1.0"], timeout=300)
    [site] = h.path(f"{RELEASES}/1.1.0/.venv").glob("lib/python3*/site-packages")
    inside = f"{RELEASES}/1.1.0/.venv/{site.relative_to(h.path(f'{RELEASES}/1.1.0/.venv'))}"
    h.run(["mv", inside, f"{inside}.real"], user="pi")
    h.run(["ln", "-s", "/etc", inside], user="pi")
    publish(gh, "1.2.0", tarball(release_files("1.2.0")))
    h.systemctl("start", "dunebugger-check.service", timeout=120)
    update_core(h, "1.2.0")
    assert (shadow.stat().st_uid, shadow.stat().st_mode) == shadow_owner
    readable = h.run(["find", "/opt/dunebugger", "-type", "f", "-readable"], user="pi", check=False).stdout
    found = [line for line in readable.splitlines() if h.path(line).read_bytes() == secret]
    assert found == [], found


def test_a_link_to_roots_state_dir_is_never_taken_for_a_release(core: Harness, gh: GithubStandin) -> None:
    """Against the unfixed code: pi points the install link at root's state dir, which root then took for
    the running release; the update to a release that crashes was rolled back to that "previous release",
    found incomplete, so root emptied its own state dir to restore it from the tarball backup (the rmtree
    stopped only at the dir itself, a mount point: "Rollback of core to unknown failed:
    /var/lib/dunebugger-units: Read-only file system"): root's file there was gone. Now a link anywhere but
    into the releases dir is refused before anything is staged, and a rollback uses a recorded path only
    inside the configured dirs."""
    h = core
    publish(gh, "1.1.0", tarball(release_files("1.1.0")))
    h.run(["dunebugger-units", "update", "core", "--version", "1.1.0"], timeout=300)
    h.write_file(f"{STATE}/root-only", "root's own bytes\n", mode=0o600)
    publish(gh, "1.3.0", tarball(release_files("1.3.0", crash=True)))
    h.systemctl("start", "dunebugger-check.service", timeout=120)
    h.run(["ln", "-sfn", STATE, "/opt/dunebugger/core"], user="pi")
    h.systemctl("start", UPDATE, check=False, timeout=300)
    h.wait_for(lambda: not h.systemctl("list-jobs", "--no-legend").stdout.strip(), 300, "a rollback to end")
    assert h.path(f"{STATE}/root-only").read_text() == "root's own bytes\n"
    newest = history(h, "update")[0]
    assert newest["status"] == "refused" and "not at a release dir in" in newest["message"], newest


def test_a_staged_release_reads_like_an_installed_one(core: Harness, gh: GithubStandin, device: Device) -> None:
    """Against the unfixed code: the units' UMask=0077 made the release dir (and the releases dir) 0700, so
    the check's user could not read VERSION: "Update available for core: unknown -> 1.2.0", and the same after
    a rollback that restored the previous release from its tarball backup. Now both read as installed."""
    h = core
    publish(gh, "1.2.0", tarball(release_files("1.2.0")))
    h.systemctl("start", "dunebugger-check.service", timeout=120)
    newest = update_core(h, "1.2.0")
    assert newest["status"] == "updated", newest
    assert checked_version(h) == "1.2.0"

    shutil.rmtree(h.path(f"{RELEASES}/1.0.0"))  # the rollback restores it from the tarball backup
    h.run(["dunebugger-units", "rollback", "core"], timeout=300)
    assert history(h)[0]["status"] == "rolled-back", history(h)[0]
    wait_healthy(h, "1.0.0")
    assert checked_version(h) == "1.0.0"
    settings = h.path(f"{RELEASES}/1.0.0/app/config/gpio.conf")
    assert settings.read_text() == "# only on this device\nrelay_pin = 17\n"


# ---- the compose file: read once, written only while it is the same file ------------------------------------

REAL_COMPOSE = "/opt/dunebugger/compose/dunebugger.yml"
ROOT_ONLY = f"{STATE}/root-only.yml"


def linked_compose(device: Device) -> None:
    """The compose file is a link (in pi's /opt/dunebugger) to the real one, as some installers leave it."""
    real = device.root / REAL_COMPOSE.lstrip("/")
    real.parent.mkdir(parents=True)
    real.write_bytes(device.compose_file.read_bytes())
    device.compose_file.unlink()
    device.compose_file.symlink_to("compose/dunebugger.yml")


@pytest.mark.containers
@pytest.mark.device.with_args(linked_compose)
def test_the_compose_link_retargeted_during_the_pull_is_never_written_through(
        product: Harness, gh: GithubStandin, device: Device) -> None:
    """Against the unfixed code: the compose file was resolved through its link again after the pull, so pi,
    retargeting the link to a file in root's state dir while the pull ran, had root replace that file with
    the edited compose text (and the rollback then wrote root's file once more, with the backup's bytes):
    `root-only.yml` no longer held root's bytes. Now the file the pre-checks read is the only one written,
    and only while it is still that inode: root's file keeps its bytes, owner and mode."""
    h = product
    h.run(["useradd", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", "pi"])
    h.run(["chown", "-h", "pi:pi", "/opt/dunebugger", "/opt/dunebugger/docker-compose.yml"])
    h.write_file(ROOT_ONLY, "root's own bytes\n", mode=0o600)
    root_file = h.path(ROOT_ONLY)
    before = (root_file.read_bytes(), root_file.stat().st_uid, root_file.stat().st_mode)
    containerkit.publish(gh, "scheduler", "1.2.0")
    h.run(["dunebugger-units", "check"], timeout=60)

    h.systemctl("kill", "--signal=SIGSTOP", "docker-registry.service")  # the pull waits: pi's moment
    try:
        h.systemctl("start", "--no-block", "dunebugger-update@scheduler.service")
        h.wait_for(lambda: "pulling" in h.systemctl("show", "-P", "StatusText",
                                                  "dunebugger-update@scheduler.service").stdout, 120,
                   "the update to pull")
        h.run(["ln", "-sfn", ROOT_ONLY, "/opt/dunebugger/docker-compose.yml"], user="pi")
    finally:
        h.systemctl("kill", "--signal=SIGCONT", "docker-registry.service")
    h.wait_for(lambda: history(h, "update") and not h.systemctl("list-jobs", "--no-legend").stdout.strip(), 300,
               "the update, and a rollback if it failed")
    assert (root_file.read_bytes(), root_file.stat().st_uid, root_file.stat().st_mode) == before
    assert h.run(["cat", ROOT_ONLY], user="pi", check=False).returncode != 0
