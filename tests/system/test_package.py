"""The Debian package, for real: built by dpkg-buildpackage (scripts/build-deb.sh), checked by lintian,
installed with dpkg into a throw-away systemd whose /usr, /etc, /var and /opt are private copy-on-write overlays,
upgraded from the hand-built 0.1.0 package, then removed and purged.

Only the installed package runs here, on Debian's python3 and libraries: the test venv is hidden inside the
harness.
"""

from __future__ import annotations

import dataclasses
import glob
import gzip
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from kits.buildonce import built
from kits.devicekit import INSIDE, Device, publish_defaults
from kits.harness import CommandFailed, Harness
from kits.oldpackage import OLD_VERSION, old_package
from kits.standin import GithubStandin

from dunebugger_units import journal
from dunebugger_units.config import load_config

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "scripts" / "build-deb.sh"
OVERRIDES = REPO / "debian" / "dunebugger-units.lintian-overrides"
EXAMPLE_CONFIG = REPO / "packaging" / "updater.yaml"
LIB = "usr/lib/dunebugger-units/python"
CONFIG = "/etc/dunebugger/updater.yaml"
STATE_DIR = "/var/lib/dunebugger-units"
DEB_INSIDE = "/root/dunebugger-units.deb"
MESSAGE_IDS = sorted(v for k, v in vars(journal).items() if k.isupper() and re.fullmatch(r"[0-9a-f]{32}", str(v)))
PYTHON_313 = sorted(glob.glob("/root/.pyenv/versions/3.13*/bin/python3.13"))

# The device's own core service, as far as dpkg is concerned: a unit that is not ours and must keep running.
CORE_STANDIN_UNIT = """\
[Unit]
Description=Dunebugger core (stands in for the device's own service)

[Service]
ExecStart=/bin/sleep infinity
"""
# Makes dunebugger-update@ take its time, so that removal meets an update in progress.
SLOW_UPDATE_DROPIN = "[Service]\nExecStart=\nExecStart=/bin/sleep 300\n"


def a_backup_to_keep(device: Device) -> None:
    (device.backup_dir / "core.20260101_000000.tar.gz").write_bytes(b"a backup the purge must keep")


pytestmark = [pytest.mark.releases.with_args(publish_defaults), pytest.mark.device.with_args(a_backup_to_keep)]


# ---- fixtures ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def deb() -> Path:
    """Built once per run (kits/buildonce.py): under pytest-xdist the first worker builds it, the others wait."""
    with built("deb") as (out, there):
        if not there:
            partial = out.with_name("deb.partial")
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir()
            result = subprocess.run(
                ["bash", str(BUILD), "amd64", str(partial)], capture_output=True, text=True, timeout=900, check=False
            )
            assert result.returncode == 0, f"build-deb.sh failed:\n{result.stderr[-6000:]}"
            partial.rename(out)
    [package] = out.glob("dunebugger-units_*.deb")
    return package


@pytest.fixture
def installed(booted: Harness, deb: Path) -> Harness:
    prepare_device(booted)
    booted.write_file(DEB_INSIDE, deb.read_bytes())
    dpkg(booted, "-i", DEB_INSIDE)
    return booted


# ---- helpers ----------------------------------------------------------------------------------------------


def prepare_device(h: Harness) -> None:
    """What a device has and the host does not, and the other way round."""
    # The host's policy-rc.d (exit 101) refuses every start from a maintainer script; a device has none.
    h.run(["rm", "-f", "/usr/sbin/policy-rc.d"])
    # man-db's trigger rebuilds the index of every manual page on the machine, about 4 CPU-s at each install,
    # upgrade and removal, and tells nothing of our package. Its debconf answer man-db/auto-update=false, as on
    # a small device that does without apropos; `man` finds our page without the index.
    h.run(["rm", "-f", "/var/lib/man-db/auto-update"])
    # Hide the test venv: only what the package installs may run.
    h.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/usr/local/lib/dunebugger-units"])
    h.write_file("/etc/systemd/system/dunebugger.service", CORE_STANDIN_UNIT)
    h.systemctl("daemon-reload")
    h.systemctl("start", "dunebugger.service")


def dpkg(h: Harness, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return h.run(["dpkg", *args], env={"DEBIAN_FRONTEND": "noninteractive"}, timeout=180, check=check)


def unit_state(h: Harness, prop: str, unit: str) -> str:
    return h.systemctl("show", "-P", prop, unit).stdout.strip()


def is_enabled(h: Harness, unit: str) -> str:
    return h.systemctl("is-enabled", unit, check=False).stdout.strip()


def no_jobs(h: Harness) -> bool:
    return h.systemctl("list-jobs", "--no-legend").stdout.strip() == ""


def package_status(h: Harness) -> str:
    result = h.run(["dpkg-query", "-W", "-f=${Status}", "dunebugger-units"], check=False)
    return result.stdout.strip() if result.returncode == 0 else "not-installed"


def device_files(device: Device) -> dict[str, bytes]:
    root = device.root / "opt/dunebugger"
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def help_commands(help_text: str) -> list[str]:
    """The subcommands click lists under "Commands:"."""
    section = help_text.split("Commands:", 1)[1]
    return [m.group(1) for m in re.finditer(r"(?m)^  ([a-z][a-z-]*)\s", section)]


def uncommented_example(text: str) -> str:
    """The example configuration with its commented-out YAML switched on (the prose header stays out)."""
    start = text.index("# github:")
    return "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#") for line in text[start:].splitlines())


# ---- lintian and the contents -----------------------------------------------------------------------------


def test_lintian_is_clean_but_for_overrides_with_reasons(deb: Path) -> None:
    result = subprocess.run(
        ["lintian", "--pedantic", "--display-info", "--show-overrides", str(deb)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    tags = [line for line in result.stdout.splitlines() if re.match(r"^[EWIPX]: ", line)]
    assert result.returncode == 0, result.stdout + result.stderr
    assert tags == [], "\n".join(tags)  # unused-override would show up here too (an I: tag)
    overridden = [line for line in result.stdout.splitlines() if line.startswith("O: ")]
    assert overridden, "the overrides file was not applied"


def test_every_lintian_override_says_why() -> None:
    previous = ""
    for line in OVERRIDES.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            assert previous.startswith("#"), f"override without a reason on the line above: {line}"
        previous = line


def test_libraries_run_on_python_3_11_and_3_13(deb: Path, tmp_path: Path) -> None:
    """Our code and the stable-ABI sdbus: the same files serve bookworm's 3.11 and trixie's 3.13. Every other
    library is Debian's: certifi and the rest are not carried, and requests trusts the system's CA store."""
    assert PYTHON_313, "no Python 3.13 found under /root/.pyenv/versions (the machine image provides one)"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp_path)], check=True, timeout=60)
    lib = tmp_path / LIB
    assert not list(lib.rglob("*.pyc")), "bytecode is made on the device (py3compile), never shipped"
    carried = sorted(p.name for p in lib.iterdir() if not p.name.endswith((".dist-info", ".egg-info")))
    assert carried == ["dunebugger_units", "sdbus", "sdbus_async", "sdbus_block"]
    [extension] = lib.glob("sdbus/sd_bus_internals*.so")
    assert extension.name == "sd_bus_internals.abi3.so"
    needed = subprocess.run(["objdump", "-p", str(extension)], capture_output=True, text=True, timeout=60,
                            check=True).stdout
    assert "NEEDED               libsystemd.so.0" in needed, "sdbus links Debian's libsystemd, not a copy"
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); sys.path.extend(sys.argv[2:]);"
        "import sdbus, yaml, ruamel.yaml, requests, click, packaging;"
        "from sdbus import sd_bus_internals;"
        "from dunebugger_units import cli, config, systemd, github;"
        "assert sdbus.__file__.startswith(sys.argv[1]), sdbus.__file__;"
        "assert requests.__file__.startswith('/usr/lib/python3/dist-packages/'), requests.__file__;"
        "print(requests.certs.where())"
    )
    # 3.13 is given Debian's pure-Python libraries here, as trixie's python3 has trixie's
    for python, extra in (("/usr/bin/python3", []), (PYTHON_313[-1], ["/usr/lib/python3/dist-packages"])):
        result = subprocess.run([python, "-I", "-c", probe, str(lib), *extra], capture_output=True, text=True,
                                timeout=60, check=False)
        assert result.returncode == 0, f"{python}: {result.stderr}"
        assert result.stdout.strip() == "/etc/ssl/certs/ca-certificates.crt", result.stdout


def test_example_configuration_matches_the_defaults(tmp_path: Path) -> None:
    """The shipped conffile sets nothing, and its commented-out values are exactly the built-in defaults."""
    text = EXAMPLE_CONFIG.read_text()
    assert yaml.safe_load(text) is None
    switched_on = tmp_path / "on.yaml"
    switched_on.write_text(uncommented_example(text))
    assert yaml.safe_load(switched_on.read_text())["github"]["owner"] == "marco-svitol"
    defaults = load_config(tmp_path / "missing.yaml")
    # `source` names where a configuration came from; every other field must be equal.
    assert dataclasses.replace(load_config(switched_on), source=defaults.source) == defaults


# ---- install, check, remove, purge in a real systemd ------------------------------------------------------


def test_install_enables_the_timer_and_the_check_works(installed: Harness, gh: GithubStandin) -> None:
    h = installed
    assert package_status(h) == "install ok installed"
    assert is_enabled(h, "dunebugger-check.timer") == "enabled"
    assert unit_state(h, "ActiveState", "dunebugger-check.timer") == "active"
    assert is_enabled(h, "dunebugger-recover.service") == "enabled"
    h.run(["getent", "passwd", "dunebugger-units"])
    h.run(["getent", "group", "dunebugger"])
    assert list(h.path("/usr/lib/dunebugger-units/python/dunebugger_units").glob("__pycache__/cli.*.pyc"))
    verify = h.run(["systemd-analyze", "verify", "--man=no", *unit_paths(h)], check=False)
    assert verify.returncode == 0 and verify.stderr.strip() == "", verify.stderr

    h.write_file(CONFIG, yaml.safe_dump(INSIDE.config(gh.url), sort_keys=False))
    h.systemctl("start", "dunebugger-check.service", timeout=120)
    assert unit_state(h, "Result", "dunebugger-check.service") == "success"
    core = json.loads(h.path(f"{STATE_DIR}/check/check.json").read_text())["components"]["core"]
    assert (core["current"], core["latest"], core["update_available"]) == ("1.0.0", "1.2.0", True)
    # two areas: root's state dir is root's; the check's user owns only its cache below it
    assert owner_and_mode(h, STATE_DIR) == ("root", "755")
    assert owner_and_mode(h, f"{STATE_DIR}/check") == ("dunebugger-units", "755")
    assert not h.path(f"{STATE_DIR}/state.json").exists()


def test_the_remotes_door_answers_a_member_of_its_group_once_installed(installed: Harness) -> None:
    """org.dunebugger.Updater1 as the package ships it: the launcher, the activation file, the bus policy (read
    again by postinst once the group exists) and the unit."""
    h = installed
    h.run(["useradd", "--create-home", "--groups", "dunebugger", "remoteuser"])
    assert unit_state(h, "ActiveState", "dunebugger-updater1.service") == "inactive"
    out = h.run(["busctl", "--json=short", "call", "org.dunebugger.Updater1", "/org/dunebugger/Updater1",
                 "org.dunebugger.Updater1", "Components"], user="remoteuser", timeout=60)
    components = json.loads(json.loads(out.stdout)["data"][0])["components"]
    assert set(components) == {"core", "scheduler", "remote"}
    assert unit_state(h, "ActiveState", "dunebugger-updater1.service") == "active"
    h.run(["useradd", "--create-home", "outsider"])
    refused = h.run(["busctl", "call", "org.dunebugger.Updater1", "/org/dunebugger/Updater1",
                     "org.dunebugger.Updater1", "Components"], user="outsider", check=False, timeout=60)
    assert refused.returncode != 0 and "Access denied" in refused.stderr, refused.stderr


def owner_and_mode(h: Harness, path: str) -> tuple[str, str]:
    owner, mode = h.run(["stat", "-c", "%U %a", path]).stdout.split()
    return owner, mode


def unit_paths(h: Harness) -> list[str]:
    listed = h.run(["dpkg-query", "-L", "dunebugger-units"]).stdout.splitlines()
    return [p for p in listed if re.match(r"^/usr/lib/systemd/system/[^/]+\.(service|timer)$", p)]


def test_installed_command_help_and_man_page(installed: Harness) -> None:
    h = installed
    assert h.run(["readlink", "-f", "/usr/bin/dunebugger-units"]).stdout.strip() == "/usr/bin/dunebugger-units"
    help_text = h.run(["/usr/bin/dunebugger-units", "--help"]).stdout
    commands = help_commands(help_text)
    assert {"check", "status", "history", "update", "rollback", "config"} <= set(commands)
    assert not {"run-update", "run-rollback", "recover", "auto-update"} & set(commands)  # internal: hidden
    man = gzip.decompress(h.path("/usr/share/man/man1/dunebugger-units.1.gz").read_bytes()).decode()
    # a command's tag line: `\fBcheck\fR [...]` (the whole synopsis on the .TP tag line)
    missing = [c for c in commands if not re.search(rf"^\\fB{re.escape(c)}\\fR", man, re.MULTILINE)]
    assert missing == [], f"the man page does not describe {missing}"
    # The units' Documentation= points here.
    assert h.path("/usr/share/doc/dunebugger-units/README.md").read_text().startswith("# dunebugger-units")


def test_catalog_explains_our_messages(installed: Harness, gh: GithubStandin) -> None:
    h = installed
    listed = h.run(["journalctl", "--list-catalog", *MESSAGE_IDS]).stdout
    assert sorted(re.findall(r"^([0-9a-f]{32})\s", listed, re.MULTILINE)) == MESSAGE_IDS
    h.write_file(CONFIG, yaml.safe_dump(INSIDE.config(gh.url), sort_keys=False))
    h.systemctl("start", "dunebugger-check.service", timeout=120)
    h.run(["journalctl", "--sync"])
    explained = h.run(
        ["journalctl", "-x", "--no-pager", f"MESSAGE_ID={journal.UPDATE_AVAILABLE}", "COMPONENT=core"]
    ).stdout
    # journalctl -x fills the entry's own fields into the catalog text.
    assert "Subject: Update available for core: 1.0.0 -> 1.2.0" in explained, explained
    assert "systemctl start dunebugger-update@core.service" in explained


def test_remove_stops_our_units_and_purge_removes_only_our_state(
    installed: Harness, gh: GithubStandin, device: Device
) -> None:
    h = installed
    h.write_file(CONFIG, yaml.safe_dump(INSIDE.config(gh.url), sort_keys=False))
    h.systemctl("start", "dunebugger-check.service", timeout=120)
    before = device_files(device)

    dpkg(h, "-r", "dunebugger-units")
    assert package_status(h) == "deinstall ok config-files"
    for unit in ("dunebugger-check.timer", "dunebugger-check.service"):
        assert unit_state(h, "ActiveState", unit) == "inactive", unit
    assert unit_state(h, "LoadState", "dunebugger-check.timer") == "not-found"
    assert not h.path("/usr/bin/dunebugger-units").exists()
    # Nothing left under /usr, the bytecode postinst made included.
    assert not h.path("/usr/lib/dunebugger-units").exists()
    assert unit_state(h, "ActiveState", "dunebugger.service") == "active"
    assert device_files(device) == before
    assert h.path(f"{STATE_DIR}/check/check.json").exists(), "remove keeps our state; only purge drops it"
    assert h.path(CONFIG).exists(), "remove keeps the (changed) conffile"

    dpkg(h, "-P", "dunebugger-units")
    assert package_status(h) == "not-installed"
    assert not h.path(STATE_DIR).exists()
    assert not h.path(CONFIG).exists()
    assert device_files(device) == before
    assert (device.backup_dir / "core.20260101_000000.tar.gz").exists()
    assert unit_state(h, "ActiveState", "dunebugger.service") == "active"
    # The system users stay (postrm says why); the timer's enablement state is gone with the purge.
    h.run(["getent", "passwd", "dunebugger-units"])
    assert not h.path("/etc/systemd/system/timers.target.wants/dunebugger-check.timer").exists()


def test_remove_is_refused_while_an_update_runs(installed: Harness) -> None:
    h = installed
    h.write_file("/etc/systemd/system/dunebugger-update@.service.d/slow.conf", SLOW_UPDATE_DROPIN)
    h.systemctl("daemon-reload")
    h.systemctl("start", "--no-block", "dunebugger-update@core.service")
    h.wait_for(
        lambda: unit_state(h, "ActiveState", "dunebugger-update@core.service") == "activating",
        30,
        "the update to be running",
    )

    refused = dpkg(h, "-r", "dunebugger-units", check=False)
    assert refused.returncode != 0
    assert "dunebugger-update@core.service" in refused.stderr
    # dpkg keeps the wish ("deinstall") but the package stays installed and configured.
    assert package_status(h).endswith(" ok installed")
    assert unit_state(h, "ActiveState", "dunebugger-update@core.service") == "activating"
    assert unit_state(h, "ActiveState", "dunebugger-check.timer") == "active"

    # A stopped update counts as failed: OnFailure= then runs the rollback, which removal waits for too.
    h.systemctl("stop", "dunebugger-update@core.service")
    h.wait_for(
        lambda: no_jobs(h) and unit_state(h, "ActiveState", "dunebugger-rollback@core.service") != "activating",
        180,
        "the rollback after the stopped update",
    )
    dpkg(h, "-r", "dunebugger-units")
    assert package_status(h) == "deinstall ok config-files"


def test_reinstall_keeps_a_disabled_timer_disabled(installed: Harness, deb: Path) -> None:
    h = installed
    h.systemctl("disable", "--now", "dunebugger-check.timer")
    try:
        dpkg(h, "-i", DEB_INSIDE)  # the upgrade path: prerm upgrade, postinst configure <old version>
    except CommandFailed as exc:
        pytest.fail(f"reinstalling failed: {exc}")
    assert is_enabled(h, "dunebugger-check.timer") == "disabled"
    assert is_enabled(h, "dunebugger-recover.service") == "enabled"


# ---- upgrades -----------------------------------------------------------------------------------------------

# The layout up to 0.1.0: the whole state dir belonged to the check's user (its StateDirectory=).
OLD_STATE = {
    "state.json": {"schema": 1, "components": {"core": {
        "current": "1.0.0", "latest": "1.2.0", "update_available": True, "last_checked": "2026-11-30T10:00:00Z",
        "last_result": {"action": "update", "status": "failed", "success": False, "message": "an old failure",
                        "finished_at": "2026-11-30T10:05:00Z"}}}},
    "results/20261130T100500.000000Z-1-core-update.json": {"component": "core", "action": "update",
                                                         "status": "failed", "message": "an old failure",
                                                         "finished_at": "2026-11-30T10:05:00Z"},
    "transaction.json": {"component": "scheduler", "kind": "container", "from_version": "1.0.0",
                         "to_version": "1.2.0", "step": "recreating", "status": "needs-manual"},
}


def test_upgrade_moves_an_old_state_dir_to_two_areas(installed: Harness, deb: Path) -> None:
    h = installed
    h.systemctl("stop", "dunebugger-check.timer", "dunebugger-check.service")
    h.run(["rm", "-rf", STATE_DIR])
    for name, body in OLD_STATE.items():
        h.write_file(f"{STATE_DIR}/{name}", json.dumps(body))
    h.write_file(f"{STATE_DIR}/requests/core.json", json.dumps({"version": "1.1.0"}), mode=0o600)
    # what a compromised check could have planted while the dir was its own
    h.run(["ln", "-s", "/etc/passwd", f"{STATE_DIR}/update.lock"])
    h.run(["chown", "-R", "-h", "dunebugger-units:dunebugger-units", STATE_DIR])
    passwd = h.path("/etc/passwd").read_bytes()

    dpkg(h, "-i", DEB_INSIDE)  # the upgrade path: postinst configure <old version>

    listing = h.run(["ls", "-la", STATE_DIR]).stdout
    assert owner_and_mode(h, STATE_DIR) == ("root", "755"), listing
    for name, body in OLD_STATE.items():  # nothing lost, all root's now
        assert json.loads(h.path(f"{STATE_DIR}/{name}").read_text()) == body, name
        assert owner_and_mode(h, f"{STATE_DIR}/{name}")[0] == "root", name
    assert owner_and_mode(h, f"{STATE_DIR}/requests") == ("root", "700")
    assert not h.path(f"{STATE_DIR}/update.lock").is_symlink()
    assert h.path("/etc/passwd").read_bytes() == passwd
    cache = json.loads(h.path(f"{STATE_DIR}/check/check.json").read_text())
    assert cache["components"]["core"]["latest"] == "1.2.0"
    assert owner_and_mode(h, f"{STATE_DIR}/check") == ("dunebugger-units", "755")
    # people still see the unfinished transaction and the last result
    status = json.loads(h.run(["dunebugger-units", "status", "--json"]).stdout)
    assert "scheduler" in status["unfinished_update"]["message"], status
    assert status["components"]["core"]["last_result"]["message"] == "an old failure"


def rebuilt_with_version(deb: Path, version: str, out: Path, preinst_line: str | None = None) -> Path:
    """The same package under another version: what an upgrade installs; `preinst_line` runs first in its
    preinst (after the installed version's prerm, before dpkg unpacks the files)."""
    tree = out / "tree"
    subprocess.run(["dpkg-deb", "-R", str(deb), str(tree)], check=True, timeout=120)
    control = tree / "DEBIAN" / "control"
    control.write_text(re.sub(r"(?m)^Version: .*$", f"Version: {version}", control.read_text()))
    if preinst_line is not None:
        preinst = tree / "DEBIAN" / "preinst"
        lines = preinst.read_text().splitlines() if preinst.exists() else ["#!/bin/sh", "set -e", "exit 0"]
        preinst.write_text("\n".join([lines[0], preinst_line, *lines[1:]]) + "\n")
        preinst.chmod(0o755)
    new = out / f"dunebugger-units_{version}_amd64.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-b", str(tree), str(new)], check=True, timeout=300,
                   capture_output=True)
    return new


def test_upgrade_is_refused_while_an_update_runs(installed: Harness, gh: GithubStandin, deb: Path,
                                                 tmp_path: Path) -> None:
    """The installed version's prerm refuses, then dpkg asks the new one's (failed-upgrade), which must refuse
    too."""
    from kits.corekit import MANIFEST_URL, publish, release_files, tarball

    h = installed
    installed_version = h.run(["dpkg-query", "-W", "-f=${Version}", "dunebugger-units"]).stdout.strip()
    newer = rebuilt_with_version(deb, f"{installed_version}+upgrade1", tmp_path)
    h.write_file("/root/newer.deb", newer.read_bytes())
    publish(gh, "1.2.0", tarball(release_files("1.2.0")))
    config = INSIDE.config(gh.url, manifest_url=MANIFEST_URL)
    config["update"] = {"core_min_free_mb": 10}
    # the stand-in service has no User=: root never owns core's files, so the owner is configured
    config["components"]["core"]["owner"] = "nobody"
    h.write_file(CONFIG, yaml.safe_dump(config, sort_keys=False))
    h.systemctl("start", "dunebugger-check.service", timeout=120)
    h.write_file("/etc/systemd/system/dunebugger-update@.service.d/pause.conf",
                 "[Service]\nEnvironment=DUNEBUGGER_UNITS_PAUSE_AT=started\n")
    h.systemctl("daemon-reload")
    h.systemctl("start", "--no-block", "dunebugger-update@core.service")
    h.wait_for(lambda: h.path(f"{STATE_DIR}/transaction.json").exists()
               or unit_state(h, "ActiveState", "dunebugger-update@core.service") in ("inactive", "failed"),
               180, "the update to pause at 'started'")
    assert h.path(f"{STATE_DIR}/transaction.json").exists(), h.run(["dunebugger-units", "history"]).stdout
    pid = unit_state(h, "MainPID", "dunebugger-update@core.service")

    refused = dpkg(h, "-i", "/root/newer.deb", check=False)
    assert refused.returncode != 0
    assert "not removed or upgraded while it is changing the device" in refused.stderr
    assert "dunebugger-update@core.service" in refused.stderr
    # the installed version stays installed and configured; the update was never touched
    assert h.run(["dpkg-query", "-W", "-f=${Version}", "dunebugger-units"]).stdout.strip() == installed_version
    assert package_status(h) == "install ok installed"
    assert unit_state(h, "ActiveState", "dunebugger-update@core.service") == "activating"
    assert unit_state(h, "MainPID", "dunebugger-update@core.service") == pid

    # once it is over, the upgrade goes through
    h.systemctl("kill", "--signal=SIGKILL", "dunebugger-update@core.service")
    h.wait_for(
        lambda: no_jobs(h) and unit_state(h, "ActiveState", "dunebugger-rollback@core.service") != "activating"
        and unit_state(h, "ActiveState", "dunebugger-update@core.service") != "activating",
        180, "the rollback after the killed update")
    dpkg(h, "-i", "/root/newer.deb")
    upgraded = h.run(["dpkg-query", "-W", "-f=${Version}", "dunebugger-units"]).stdout.strip()
    assert upgraded == f"{installed_version}+upgrade1"


def test_the_upgrade_guard_holds_through_the_unpack(installed: Harness, gh: GithubStandin, deb: Path,
                                                    tmp_path: Path) -> None:
    """An update started after the installed version's prerm has looked (here: by the new package's preinst,
    while dpkg unpacks it) is refused until the upgrade is over, then runs.

    The failure this guards against: the prerm's one look finding nothing running, and the update the preinst
    started going ahead while dpkg replaces the code it runs: its result would be "Update failed during apply:
    installing the requirements ..." (no package index in the harness), not a refusal."""
    from kits.corekit import MANIFEST_URL, publish, release_files, tarball

    h = installed
    installed_version = h.run(["dpkg-query", "-W", "-f=${Version}", "dunebugger-units"]).stdout.strip()
    newer = rebuilt_with_version(deb, f"{installed_version}+upgrade1", tmp_path,
                                 preinst_line="systemctl start dunebugger-update@core.service || true")
    h.write_file("/root/newer.deb", newer.read_bytes())
    publish(gh, "1.2.0", tarball(release_files("1.2.0")))
    config = INSIDE.config(gh.url, manifest_url=MANIFEST_URL)
    config["update"] = {"core_min_free_mb": 10}
    h.write_file(CONFIG, yaml.safe_dump(config, sort_keys=False))
    h.systemctl("start", "dunebugger-check.service", timeout=120)

    dpkg(h, "-i", "/root/newer.deb")

    [during] = json.loads(h.run(["dunebugger-units", "history", "--json"]).stdout)
    assert (during["action"], during["status"]) == ("update", "refused"), during
    assert during["message"] == ("the dunebugger-units package is being upgraded or removed (dpkg): nothing is "
                                 "changed until it has finished; try again then")
    assert h.run(["dpkg-query", "-W", "-f=${Version}", "dunebugger-units"]).stdout.strip().endswith("+upgrade1")
    assert not h.path("/run/dunebugger-units/package-changing").exists()
    h.systemctl("start", "dunebugger-update@core.service", check=False, timeout=300)
    after = json.loads(h.run(["dunebugger-units", "history", "--json"]).stdout)[0]
    assert after["message"] != during["message"], after


# ---- from the hand-built 0.1.0 package ------------------------------------------------------------------


def state_files(h: Harness) -> dict[str, bytes]:
    root = h.path(STATE_DIR)
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_upgrade_from_the_hand_built_0_1_0_keeps_configuration_state_results_and_holds(
    booted: Harness, deb: Path, gh: GithubStandin
) -> None:
    h = booted
    prepare_device(h)
    h.write_file("/root/old.deb", old_package().read_bytes())
    dpkg(h, "-i", "/root/old.deb")
    assert h.run(["dpkg-query", "-W", "-f=${Version}", "dunebugger-units"]).stdout == OLD_VERSION
    settings = INSIDE.config(gh.url)
    for component in settings["components"].values():
        component.pop("prepare_ahead")  # a key 0.1.0 does not know: the device's file as it was then
    config = "# this device's own settings\n" + yaml.safe_dump(settings, sort_keys=False)
    h.write_file(CONFIG, config)
    h.systemctl("start", "dunebugger-check.service", timeout=120)
    h.run(["dunebugger-units", "hold", "scheduler"])
    h.write_file(f"{STATE_DIR}/{next(iter(OLD_STATE))}", json.dumps(OLD_STATE["state.json"]))
    results = "results/20261130T100500.000000Z-1-core-update.json"
    h.write_file(f"{STATE_DIR}/{results}", json.dumps(OLD_STATE[results]))
    before = state_files(h)
    assert {"holds.json", "check/check.json", results} <= set(before), sorted(before)
    remote_uid = h.run(["id", "-u", "dunebugger-remote"]).stdout.strip()

    # what unattended-upgrades does with a conffile the device changed: keep it
    dpkg(h, "--force-confdef", "--force-confold", "-i", DEB_INSIDE)

    assert h.run(["dpkg-query", "-W", "-f=${Version}", "dunebugger-units"]).stdout != OLD_VERSION
    assert package_status(h) == "install ok installed"
    assert h.path(CONFIG).read_text() == config
    after = state_files(h)
    assert {k: v for k, v in after.items() if k in before} == before
    assert set(after) - set(before) == {"remote.override.yml"}
    assert "scheduler" in h.path(f"{STATE_DIR}/holds.json").read_text()
    status = json.loads(h.run(["dunebugger-units", "status", "--json"]).stdout)
    assert status["components"]["core"]["last_result"]["message"] == "an old failure"
    # the units moved nowhere (dpkg on a merged /usr), and the timer is still enabled and running
    assert unit_paths(h) and all(h.path(p).is_file() for p in unit_paths(h))
    assert is_enabled(h, "dunebugger-check.timer") == "enabled"
    assert unit_state(h, "ActiveState", "dunebugger-check.timer") == "active"
    # the remote's user keeps its uid, and the generated compose keys name it
    assert h.run(["id", "-u", "dunebugger-remote"]).stdout.strip() == remote_uid
    keys = yaml.safe_load(h.path(f"{STATE_DIR}/remote.override.yml").read_text())
    assert keys["services"]["remote"]["user"].split(":")[0] == remote_uid
    # and the upgraded package works on Debian's libraries
    h.systemctl("start", "dunebugger-check.service", timeout=120)
    assert unit_state(h, "Result", "dunebugger-check.service") == "success"


# ---- what the package sets up from the host and the configuration ----------------------------------------


def test_the_remote_user_takes_a_free_uid_and_the_compose_keys_name_it(booted: Harness, deb: Path) -> None:
    h = booted
    prepare_device(h)
    # 960, the uid 0.1.0 fixed, already belongs to someone else on this device
    h.run(["groupadd", "-g", "960", "someone"])
    h.run(["useradd", "-u", "960", "-g", "960", "-M", "-s", "/usr/sbin/nologin", "someone"])
    h.write_file(DEB_INSIDE, deb.read_bytes())
    dpkg(h, "-i", DEB_INSIDE)
    uid, gid = h.run(["getent", "passwd", "dunebugger-remote"]).stdout.split(":")[2:4]
    assert uid != "960"
    assert h.run(["getent", "passwd", "960"]).stdout.startswith("someone:")
    assert "dunebugger" in h.run(["id", "-nG", "dunebugger-remote"]).stdout.split()
    written = h.path(f"{STATE_DIR}/remote.override.yml").read_text()
    assert yaml.safe_load(written)["services"]["remote"]["user"] == f"{uid}:{gid}"
    assert h.run(["/usr/lib/dunebugger-units/remote-compose-keys"]).stdout == written
    # the show lock's dir and file, made by systemd-tmpfiles
    assert owner_and_mode(h, "/run/dunebugger") == ("root", "755")
    assert owner_and_mode(h, "/run/dunebugger/updates.lock") == ("root", "644")


AUTO_TIMER = "dunebugger-auto-update.timer"
AUTO_DROPIN = f"/etc/systemd/system/{AUTO_TIMER}.d/50-policy.conf"


def test_the_auto_update_timer_follows_the_configuration(installed: Harness, gh: GithubStandin) -> None:
    h = installed
    # the shipped configuration: no component has policy auto, so the timer never starts
    assert "ConditionPathExists=!/" in h.path(AUTO_DROPIN).read_text()
    assert is_enabled(h, AUTO_TIMER) == "enabled"
    assert unit_state(h, "ActiveState", AUTO_TIMER) == "inactive"
    assert unit_state(h, "ConditionResult", AUTO_TIMER) == "no"

    config = INSIDE.config(gh.url)
    config["components"]["scheduler"] = {"policy": "auto"}
    config["policy"] = {"maintenance_window": {"start": "*-*-* 03:00:00", "length": "2h"}}
    h.write_file(CONFIG, yaml.safe_dump(config, sort_keys=False))  # the path unit sees it
    h.wait_for(lambda: unit_state(h, "ActiveState", AUTO_TIMER) == "active", 60, "the timer to start")
    assert "OnCalendar=*-*-* 03:00:00" in h.path(AUTO_DROPIN).read_text()
    schedule = unit_state(h, "TimersCalendar", AUTO_TIMER)
    assert "03:00:00" in schedule and "0/15" not in schedule, schedule

    h.write_file(CONFIG, yaml.safe_dump(INSIDE.config(gh.url), sort_keys=False))
    h.wait_for(lambda: unit_state(h, "ActiveState", AUTO_TIMER) == "inactive", 60, "the timer to stop")
    assert is_enabled(h, AUTO_TIMER) == "enabled"

    # two saves in quick succession: the second lands while the service of the first runs (and the .path unit
    # is blind); the timer ends up following the last one
    sync, exited = "dunebugger-sync-timers.service", "ExecMainExitTimestampMonotonic"
    before = int(unit_state(h, exited, sync))
    h.write_file(CONFIG, yaml.safe_dump(config, sort_keys=False))
    h.wait_for(lambda: unit_state(h, "ActiveState", sync) == "activating", 60, "the sync service to run")
    h.write_file(CONFIG, yaml.safe_dump(INSIDE.config(gh.url), sort_keys=False))
    h.wait_for(lambda: unit_state(h, "ActiveState", sync) == "inactive" and int(unit_state(h, exited, sync)) > before
               and "ConditionPathExists=!/" in h.path(AUTO_DROPIN).read_text(), 60,
               "the drop-in to follow the last save")
    assert unit_state(h, "ActiveState", AUTO_TIMER) == "inactive"
    # no Python ran for it: the service was never started
    assert unit_state(h, "ExecMainStartTimestampMonotonic", "dunebugger-auto-update.service") == "0"


# ---- the remote's file protocol: taking over from the coordinator -------------------------------------------

COORDINATOR = "dunebugger-update-coordinator.service"
COORDINATOR_UNIT = """\
[Unit]
Description=DuneBugger Update Coordinator (stands in for the installer's)

[Service]
ExecStart=/bin/sleep infinity

[Install]
WantedBy=multi-user.target
"""


def test_install_takes_over_from_the_coordinator_without_deleting_it(booted: Harness, deb: Path) -> None:
    h = booted
    prepare_device(h)
    h.run(["useradd", "--user-group", "--no-create-home", "pi"])
    h.run(["install", "-d", "-o", "pi", "-g", "pi", "-m", "0755", "/var/dunebugger"])  # as the installer makes it
    h.run(["install", "-d", "-m", "0755", "/var/dunebugger/updates/requests"])  # as the coordinator left them
    h.write_file(f"/etc/systemd/system/{COORDINATOR}", COORDINATOR_UNIT)
    h.systemctl("daemon-reload")
    h.systemctl("enable", "--now", COORDINATOR)
    h.write_file(DEB_INSIDE, deb.read_bytes())
    out = dpkg(h, "-i", DEB_INSIDE)
    assert f"{COORDINATOR} stopped and disabled (not removed)" in out.stdout
    assert (is_enabled(h, COORDINATOR), unit_state(h, "ActiveState", COORDINATOR)) == ("disabled", "inactive")
    assert h.path(f"/etc/systemd/system/{COORDINATOR}").read_text() == COORDINATOR_UNIT
    path_unit = "dunebugger-remote-requests.path"
    assert (is_enabled(h, path_unit), unit_state(h, "SubState", path_unit)) == ("enabled", "waiting")
    for path, expected in (("/var/dunebugger/updates", "1770"), ("/var/dunebugger/updates/requests", "770"),
                           ("/var/dunebugger/updates/status", "770")):
        assert h.run(["stat", "-c", "%U:%G %a", path]).stdout.split() == ["pi:dunebugger-remote", expected]
    # the way back, as docs/remote-file-protocol.md gives it
    h.systemctl("disable", "--now", path_unit)
    h.systemctl("enable", "--now", COORDINATOR)
    assert unit_state(h, "ActiveState", COORDINATOR) == "active"
    # ... and it stays so across an upgrade (here: the same package again)
    dpkg(h, "-i", DEB_INSIDE)
    assert (is_enabled(h, COORDINATOR), unit_state(h, "ActiveState", COORDINATOR)) == ("enabled", "active")
    assert (is_enabled(h, path_unit), unit_state(h, "ActiveState", path_unit)) == ("disabled", "inactive")
