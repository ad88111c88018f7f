"""The python_app kind (core) without a device: its plan, its pre-checks on a temporary install dir, its
configuration keys and its version file. The system tier runs the whole update of core on a real systemd."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from kits.fastkit import FakeSystemd

from dunebugger_units.config import ComponentConfig, Config, UpdateConfig, parse_config
from dunebugger_units.errors import ConfigError
from dunebugger_units.github import Asset, Release
from dunebugger_units.kinds import kind_of
from dunebugger_units.kinds.base import UpdateContext
from dunebugger_units.kinds.python_app_checks import (
    CorePlan,
    asset_name,
    check_asset,
    check_disk,
    check_layout,
    check_service,
    plan_update,
)
from dunebugger_units.kinds.python_app_update import PythonAppUpdate
from dunebugger_units.kinds.releases import Layout, read_layout
from dunebugger_units.manifest import Manifest
from dunebugger_units.results import CheckOutcome
from dunebugger_units.systemd import UnitState

ASSET = Asset("dunebugger-2.0.0.tar.gz", 1234, "http://example.invalid/a.tar.gz")


def context(tmp_path: Path, *, release: Release | None = None, systemd: FakeSystemd | None = None,
            manifest: Manifest | None = None, core_min_free_mb: int = 1) -> UpdateContext:
    core = ComponentConfig(name="core", type="python_app", repo="dunebugger", service="dunebugger.service",
                           install_dir=str(tmp_path / "opt/core"))
    config = Config(state_dir=str(tmp_path / "state"), components={"core": core},
                    update=UpdateConfig(core_min_free_mb=core_min_free_mb))
    return UpdateContext(config=config, component=core, from_version="1.0.0", to_version="2.0.0", release=release,
                         manifest=manifest or Manifest(), systemd=systemd, progress=lambda _: None,
                         stamp="20260101_020000")


def release(*assets: Asset) -> Release:
    return Release(tag="v2.0.0", version="2.0.0", name="2.0.0", notes="", url="", published_at=None,
                   prerelease=False, assets=assets)


# ---- the plan (pure) ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("plain", "releases", "previous", "new_dir"), [
    pytest.param(True, [], "core.releases/1.0.0", "core.releases/2.0.0", id="plain-dir-migrated-by-version"),
    pytest.param(True, ["1.0.0"], "core.releases/1.0.0-20260101_020000", "core.releases/2.0.0",
                 id="plain-dir-never-over-a-release"),
    pytest.param(False, [], "core.releases/1.0.0", "core.releases/2.0.0", id="link-keeps-the-running-release"),
])
def test_plan_update(tmp_path: Path, plain: bool, releases: list[str], previous: str, new_dir: str) -> None:
    for name in releases:
        (tmp_path / "core.releases" / name).mkdir(parents=True)
    running = tmp_path / ("core" if plain else "core.releases/1.0.0")
    layout = Layout(tmp_path / "core", tmp_path / "core.releases", running, plain=plain)
    plan = plan_update(context(tmp_path), ASSET, layout, tmp_path / "a.tar.gz", (1000, 1000))
    assert isinstance(plan, CorePlan)
    assert (plan.previous, plan.new_dir) == (tmp_path / previous, tmp_path / new_dir)


def test_the_plan_never_stages_over_the_running_release(tmp_path: Path) -> None:
    layout = Layout(tmp_path / "core", tmp_path / "core.releases", tmp_path / "core.releases/2.0.0", plain=False)
    refused = plan_update(context(tmp_path), ASSET, layout, tmp_path / "a.tar.gz", (1000, 1000))
    assert refused == CheckOutcome("release dir", False,
                                   f"{tmp_path}/core.releases/2.0.0 is the running or the previous release")


# ---- pre-checks -----------------------------------------------------------------------------------------------


def test_check_asset(tmp_path: Path) -> None:
    assert asset_name(context(tmp_path).component, "2.0.0") == "dunebugger-2.0.0.tar.gz"
    assert check_asset(context(tmp_path, release=release(ASSET))) == (
        CheckOutcome("release asset", True, "dunebugger-2.0.0.tar.gz, 1234 bytes"), ASSET)
    assert check_asset(context(tmp_path, release=release())) == (
        CheckOutcome("release asset", False, "no release asset dunebugger-2.0.0.tar.gz in v2.0.0"), None)


@pytest.mark.parametrize(("state", "required", "ok", "detail"), [
    pytest.param("active", True, True, "dunebugger.service is active (running)", id="running"),
    pytest.param("inactive", True, False, "dunebugger.service is inactive (dead)", id="stopped-required"),
    pytest.param("inactive", False, True, "dunebugger.service is inactive (dead)", id="stopped-wanted"),
])
def test_check_service(tmp_path: Path, state: str, required: bool, ok: bool, detail: str) -> None:
    sub = "running" if state == "active" else "dead"
    bus = FakeSystemd(states={"dunebugger.service": UnitState(state, sub, 0, 0, "", "success", "i")})
    outcome = check_service(context(tmp_path, systemd=bus, manifest=Manifest(require_service_running=required)))
    assert (outcome.ok, outcome.detail, outcome.required) == (ok, detail, required)


def test_check_service_without_the_bus(tmp_path: Path) -> None:
    assert check_service(context(tmp_path)) == CheckOutcome(
        "service", False, "dunebugger.service: the system bus is not connected")


def test_check_layout(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    outcome, layout = check_layout(ctx)
    assert (outcome.ok, layout) == (False, None)
    assert "neither a directory nor a link to one" in outcome.detail
    (tmp_path / "opt/core").mkdir(parents=True)
    outcome, layout = check_layout(ctx)
    assert outcome == CheckOutcome("install dir", True, f"{tmp_path}/opt/core: plain directory, migrated on this "
                                                        "update")
    assert layout == read_layout(ctx.component)


@pytest.mark.parametrize(("manifest_mb", "ok"), [pytest.param(None, True, id="the-config-default"),
                                                  pytest.param(10**9, False, id="the-manifest-raises-it")])
def test_check_disk(tmp_path: Path, manifest_mb: int | None, ok: bool) -> None:
    ctx = context(tmp_path, manifest=Manifest(min_free_mb=manifest_mb))
    layout = Layout(tmp_path / "core", tmp_path / "core.releases", tmp_path / "core", plain=True)
    outcome = check_disk(ctx, layout)
    assert outcome.ok is ok
    assert re.fullmatch(rf"\d+ MB free on {tmp_path}, {manifest_mb or 1} MB needed", outcome.detail)


# ---- configuration and version file -----------------------------------------------------------------------------


def test_the_kind_owns_its_configuration_keys() -> None:
    with pytest.raises(ConfigError, match=re.escape("components.core.python: expected an absolute path")):
        parse_config({"components": {"core": {"python": "python3"}}})
    with pytest.raises(ConfigError, match=re.escape("components.core.service: required for a python_app")):
        parse_config({"components": {"core": {"service": ""}}})
    with pytest.raises(ConfigError, match=re.escape("components.scheduler.install_dir: unknown key")):
        parse_config({"components": {"scheduler": {"install_dir": "/opt/x"}}})
    core = parse_config({"components": {"core": {"config_paths": ["app/config", "app/.env"]}}}).components["core"]
    assert core.config_paths == ("app/config", "app/.env")


def test_the_installed_version_is_read_from_the_version_file(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    (tmp_path / "opt/core").mkdir(parents=True)
    (tmp_path / "opt/core/VERSION").write_text('{"version": "1.4.0", "prerelease": "beta.2"}')
    assert kind_of("python_app").installed_version(ctx.config, ctx.component) == "1.4.0-beta.2"


def test_the_dry_run_plan_never_shows_the_index_credentials(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    ctx.component = ComponentConfig(name="core", type="python_app", repo="dunebugger", service="dunebugger.service",
                                    install_dir=str(tmp_path / "opt/core"),
                                    pip_index_url="https://deploy:s3cret-token@pypi.example/simple")
    layout = Layout(tmp_path / "core", tmp_path / "core.releases", tmp_path / "core", plain=True)
    plan = plan_update(ctx, ASSET, layout, tmp_path / "a.tar.gz", (1000, 1000))
    assert isinstance(plan, CorePlan)
    shown = PythonAppUpdate().describe(ctx, plan)
    assert "https://***@pypi.example/simple" in shown["pip"]
    assert "s3cret-token" not in repr(shown)
