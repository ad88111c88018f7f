"""The rules that keep pi from steering root: who owns a component's files, which recorded paths a rollback
may use, and reads and writes that never go through a link (on tmp_path)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dunebugger_units.config import ComponentConfig, parse_config
from dunebugger_units.errors import ConfigError, UnitsError
from dunebugger_units.files import read_nofollow, read_with_stat, replace_in_place
from dunebugger_units.kinds.owner import choose_owner
from dunebugger_units.kinds.releases import point_install_dir, recorded_paths
from dunebugger_units.kinds.venv import why_failed


@pytest.mark.parametrize(("configured", "service_user", "chosen"), [
    pytest.param(None, "pi", "pi", id="the-service-user-by-default"),
    pytest.param("show", "pi", "show", id="configured-wins"),
    pytest.param("1000", "", "1000", id="a-uid-for-a-service-without-user"),
    pytest.param(None, "", None, id="a-service-running-as-root-needs-the-key"),
    pytest.param(None, "root", None, id="root-by-name-refused"),
    pytest.param("0", "pi", None, id="root-by-uid-refused"),
    pytest.param("root", "pi", None, id="root-configured-refused"),
])
def test_choose_owner(configured: str | None, service_user: str, chosen: str | None) -> None:
    if chosen is None:
        with pytest.raises(UnitsError, match="choosing the owner of core's files"):
            choose_owner("core", configured, service_user)
    else:
        assert choose_owner("core", configured, service_user) == chosen


def core(tmp_path: Path) -> ComponentConfig:
    (tmp_path / "core.releases").mkdir(exist_ok=True)
    return ComponentConfig(name="core", type="python_app", repo="dunebugger", install_dir=str(tmp_path / "core"))


@pytest.mark.parametrize(("backups", "wrong"), [
    pytest.param({"previous_release": "{r}/1.0.0", "release_dir": "{r}/1.2.0", "install_dir": "{t}/core",
                  "tarball_backup": "{t}/backups/core.20261206_101010.tar.gz"}, None, id="as-the-update-wrote-it"),
    pytest.param({"previous_release": "/etc", "release_dir": "{r}/1.2.0"}, "previous_release /etc",
                 id="previous-outside"),
    pytest.param({"previous_release": "{r}/1.0.0", "release_dir": "/var/lib/dunebugger-units"},
                 "release_dir /var/lib/dunebugger-units", id="failed-release-outside"),
    pytest.param({"previous_release": "{r}/../core", "release_dir": "{r}/1.2.0"}, "previous_release",
                 id="climbs-out"),
    pytest.param({"previous_release": "{r}/1.0.0", "install_dir": "/etc"}, "install_dir /etc",
                 id="another-install-dir"),
    pytest.param({"previous_release": "{r}/1.0.0", "tarball_backup": "/etc/shadow"}, "tarball_backup /etc/shadow",
                 id="backup-outside"),
])
def test_a_rollback_uses_only_recorded_paths_inside_the_configured_dirs(
        tmp_path: Path, backups: dict[str, str], wrong: str | None) -> None:
    releases = str((tmp_path / "core.releases").resolve())
    given = {k: v.format(r=releases, t=tmp_path) for k, v in backups.items()}
    component = core(tmp_path)
    if wrong is None:
        install_dir, previous, new_dir = recorded_paths(component, tmp_path / "backups", given)
        assert (install_dir, previous.name, new_dir and new_dir.name) == (tmp_path / "core", "1.0.0", "1.2.0")
    else:
        with pytest.raises(UnitsError, match=f"the record names {wrong}"):
            recorded_paths(component, tmp_path / "backups", given)


def test_a_recorded_release_that_is_a_link_is_refused(tmp_path: Path) -> None:
    component = core(tmp_path)
    (tmp_path / "core.releases/1.0.0").symlink_to("/etc")
    with pytest.raises(UnitsError, match="previous_release"):
        recorded_paths(component, tmp_path, {"previous_release": str(tmp_path.resolve() / "core.releases/1.0.0")})


def test_reads_never_follow_a_link_on_the_way(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real/requirements.txt").write_text("flask\n")
    (tmp_path / "linked").symlink_to("real")
    (tmp_path / "real/shadow").symlink_to("/etc/shadow")
    base = tmp_path.resolve()
    assert read_nofollow(base / "real/requirements.txt", 100) == b"flask\n"
    for path in (base / "linked/requirements.txt", base / "real/shadow"):
        with pytest.raises(OSError):
            read_nofollow(path, 100)
    with pytest.raises(OSError):
        read_nofollow(base / "real/requirements.txt", 3)  # over the cap


def test_a_write_replaces_a_swapped_in_link_and_never_follows_it(tmp_path: Path) -> None:
    base = tmp_path.resolve()
    compose, root_file = base / "compose.yml", base / "root-only"
    compose.write_text("image: a:1\n")
    root_file.write_text("root's bytes\n")
    _, identity = read_with_stat(compose, 100)
    compose.unlink()
    compose.symlink_to(root_file)  # retargeted after it was read
    with pytest.raises(OSError, match="no longer the file"):
        replace_in_place(compose, b"image: a:2\n", mode=0o644, owner=(0, 0), same_as=identity)
    replace_in_place(compose, b"image: a:1\n", mode=0o640, owner=(0, 0))  # a rollback: the link is replaced
    assert root_file.read_text() == "root's bytes\n"
    assert not compose.is_symlink() and compose.read_text() == "image: a:1\n"
    assert compose.stat().st_mode & 0o777 == 0o640
    assert not [p for p in os.listdir(base) if p.endswith(".tmp")]


@pytest.mark.parametrize("owner", ["root", "0"])
def test_root_is_never_configured_as_the_owner(owner: str) -> None:
    with pytest.raises(ConfigError, match=r"components\.core\.owner: root never owns a component's files"):
        parse_config({"components": {"core": {"owner": owner}}})


def test_the_owner_key_is_taken() -> None:
    assert parse_config({"components": {"core": {"owner": "pi"}}}).components["core"].owner == "pi"


@pytest.mark.parametrize(("lines", "why"), [
    pytest.param(["Traceback (most recent call last):", '  File "x"', "TypeError: bad"], "TypeError: bad",
                 id="a-traceback-says-its-last-line"),
    pytest.param(["Traceback (most recent call last):", "OSError: [Errno 28] No space left on device"],
                 "OSError: [Errno 28] No space left on device", id="an-os-error-first"),
    pytest.param(["Collecting x", "ERROR: no matching distribution"], "ERROR: no matching distribution",
                 id="pip-error"),
    pytest.param([], "no output", id="silent"),
])
def test_why_a_child_failed(lines: list[str], why: str) -> None:
    assert why_failed(lines) == why


def test_a_record_from_before_the_switch_names_no_release(tmp_path: Path) -> None:
    install_dir, previous, new_dir = recorded_paths(core(tmp_path), tmp_path, {})
    assert (install_dir, previous, new_dir) == (tmp_path / "core", Path(), None)


def test_the_switch_link_cannot_be_blocked_by_a_guessed_name(tmp_path: Path) -> None:
    # the owner of the install dir's parent plants a dir where a predictable temp name would have been (an
    # unlink fails on it); a temp link a power cut left is there too
    (tmp_path / "releases/1.0.0").mkdir(parents=True)
    (tmp_path / "releases/2.0.0").mkdir()
    install_dir = tmp_path / "dunebugger"
    install_dir.symlink_to("releases/1.0.0")
    (tmp_path / ".dunebugger.link-tmp").mkdir()
    stale = tmp_path / ".dunebugger.link-0123456789abcdef"
    stale.symlink_to("releases/1.0.0")

    point_install_dir(install_dir, tmp_path / "releases/2.0.0")

    assert os.readlink(install_dir) == "releases/2.0.0"
    assert not stale.is_symlink()  # the power cut's leftover is gone
    assert (tmp_path / ".dunebugger.link-tmp").is_dir()  # what is not ours is left alone
    assert sorted(p.name for p in tmp_path.iterdir()) == [".dunebugger.link-tmp", "dunebugger", "releases"]
