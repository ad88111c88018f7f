"""Exit codes of cancelled runs, and the settings and staging rules of core's release dirs (on tmp_path)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dunebugger_units.errors import ExitCode
from dunebugger_units.kinds.owner_child import copy_settings
from dunebugger_units.kinds.releases import STAGING_MARK, is_complete, unfinished_releases
from dunebugger_units.results import Action, Status, UpdateResult


@pytest.mark.parametrize(("action", "changed", "code"), [
    pytest.param(Action.UPDATE, False, ExitCode.REFUSED, id="update-stopped-before-any-change-no-rollback"),
    pytest.param(Action.UPDATE, True, ExitCode.UPDATE_FAILED, id="update-stopped-after-a-change-is-rolled-back"),
    pytest.param(Action.ROLLBACK, True, ExitCode.UPDATE_FAILED, id="rollback-stopped-half-way-is-resumed"),
    pytest.param(Action.DRY_RUN, False, ExitCode.REFUSED, id="dry-run-stopped"),
])
def test_a_cancelled_run_exits_by_what_it_changed(action: Action, changed: bool, code: ExitCode) -> None:
    result = UpdateResult("scheduler", action, status=Status.CANCELLED, changed=changed)
    assert result.exit_code() is code
    assert result.to_dict()["status"] == "cancelled"
    assert not result.success


def test_a_rollback_with_nothing_to_do_succeeds() -> None:
    assert UpdateResult("core", Action.ROLLBACK, status=Status.UNCHANGED).exit_code() is ExitCode.OK


PI = (1000, 1000)


def device_release(root: Path) -> Path:
    """A running release whose settings are pi's, with a device-only subdir and an empty one."""
    running = root / "1.0.0"
    config = running / "app/config"
    (config / "sequences/night").mkdir(parents=True)
    (config / "empty").mkdir()
    (config / "settings.ini").write_text("volume = 7\n")
    (config / "sequences/night/show.json").write_text('{"lights": 3}\n')
    for path in [config, config / "sequences", config / "sequences/night", config / "empty",
                 config / "settings.ini", config / "sequences/night/show.json"]:
        os.chown(path, *PI)
    os.chmod(config / "sequences", 0o2775)  # noqa: S103  # a group-writable dir is what the device has
    os.chmod(config / "empty", 0o700)
    os.chmod(config / "settings.ini", 0o600)
    return running


def test_every_settings_dir_and_file_keeps_owner_and_mode(tmp_path: Path) -> None:
    running = device_release(tmp_path)
    new = tmp_path / "1.2.0"
    (new / "app/config").mkdir(parents=True)
    (new / "app/config/settings.ini").write_text("volume = 5\n")  # the tarball's default
    (new / "app/config/colors.ini").write_text("red\n")  # a default the device does not have yet
    copy_settings(running, new, ["app/config"])
    for rel in ["app/config", "app/config/sequences", "app/config/sequences/night", "app/config/empty",
                "app/config/settings.ini", "app/config/sequences/night/show.json"]:
        src, dst = (running / rel).stat(), (new / rel).stat()
        assert (dst.st_uid, dst.st_gid, dst.st_mode) == (src.st_uid, src.st_gid, src.st_mode), rel
    assert (new / "app/config/settings.ini").read_text() == "volume = 7\n"
    assert (new / "app/config/colors.ini").read_text() == "red\n"


def test_carried_again_an_edit_made_while_staging_is_kept(tmp_path: Path) -> None:
    running = device_release(tmp_path)
    new = tmp_path / "1.2.0"
    new.mkdir()
    copy_settings(running, new, ["app/config"])
    (running / "app/config/settings.ini").write_text("volume = 9\n")  # edited while pip runs
    (running / "app/config/sequences/new.json").write_text("{}\n")
    copy_settings(running, new, ["app/config"])
    assert (new / "app/config/settings.ini").read_text() == "volume = 9\n"
    assert (new / "app/config/sequences/new.json").read_text() == "{}\n"


def test_unfinished_releases_are_never_complete_and_never_the_kept_ones(tmp_path: Path) -> None:
    for name, staged, venv in [("1.0.0", False, True), ("1.2.0", True, True), ("1.3.0", True, False),
                               ("1.4.0", False, False)]:
        release = tmp_path / name
        (release / ".venv/bin").mkdir(parents=True)
        if venv:
            (release / ".venv/bin/python").touch()
        if staged:
            (release / STAGING_MARK).touch()
    assert [is_complete(tmp_path / n) for n in ("1.0.0", "1.2.0", "1.3.0", "1.4.0")] == [True, False, False, False]
    assert unfinished_releases(tmp_path, {tmp_path / "1.3.0"}) == [tmp_path / "1.2.0"]
    assert unfinished_releases(tmp_path / "absent", set()) == []
