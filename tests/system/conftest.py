"""System tier: every test here runs against a throw-away real systemd (see tests/kits/harness).

The fixtures every system test module shares, one definition each:
- `booted`: a test systemd with the device's /opt/dunebugger bound in (`device`, from tests/conftest.py).
  A test marked `pytest.mark.containers` gets Docker and the registry in it, with scheduler and remote
  running 1.0.0 from busybox test images (tests/kits/containerkit.py); one marked `pytest.mark.docker` gets
  Docker and the registry only (`pytest.mark.docker(images)`: booted on the seed of the image set `images`
  once it exists, see containerkit.images_once); one marked `pytest.mark.on_disk` keeps what survives a
  power cut on the real disk (tests/kits/crashkit.py). `pytest.mark.device(change, ...)` names functions
  that change the device's files before it boots.
- `gh`: the GitHub stand-in, listening inside `booted`'s network; `pytest.mark.releases(publish, ...)` names the
  functions that publish the releases the test starts from.
- `product`: dunebugger-units installed in `booted`, configured for the device's containers
  (`containerkit.updater_config`); `core`: the same for core (`corekit.updater_config`), with core 1.0.0
  installed and running. `pytest.mark.updater(...)` passes its keyword arguments to that function.
- `harness`, `docker_harness`: a bare test systemd, without or with Docker (tests of the harness itself).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kits import containerkit, corekit, crashkit
from kits.devicekit import Device
from kits.harness import INSTALL_HINT, Harness, missing_dependencies
from kits.productkit import install_product
from kits.standin import GithubStandin


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.system)


@pytest.fixture(scope="session")
def system_deps() -> None:
    """Fail, never skip: a system tier that silently skips proves nothing."""
    missing = missing_dependencies()
    if missing:
        pytest.fail(f"system tests need {', '.join(missing)}; {INSTALL_HINT}", pytrace=False)


@pytest.fixture
def harness(system_deps: None, tmp_path: Path) -> Iterator[Harness]:
    h = Harness.boot(tmp_path / "harness")
    try:
        yield h
    finally:
        h.poweroff()


@pytest.fixture
def docker_harness(system_deps: None, tmp_path: Path) -> Iterator[Harness]:
    h = Harness.boot(tmp_path / "harness", docker=True)
    try:
        yield h
    finally:
        h.poweroff()


def _named_images(docker_marker: pytest.Mark | None) -> str | None:
    """The image set a `pytest.mark.docker(images)` names, whose seed `booted` boots on."""
    return docker_marker.args[0] if docker_marker is not None and docker_marker.args else None


@pytest.fixture
def booted(system_deps: None, tmp_path: Path, device: Device, request: pytest.FixtureRequest) -> Iterator[Harness]:
    """The device in a test systemd (the markers in this module's docstring choose how)."""
    containers = request.node.get_closest_marker("containers") is not None
    docker_marker = request.node.get_closest_marker("docker")
    docker = containers or docker_marker is not None
    images = containerkit.BUSYBOX_IMAGES if containers else _named_images(docker_marker)
    if containers:
        containerkit.lay_out(device)
    for marker in request.node.iter_markers("device"):
        for change in marker.args:
            change(device)
    on_disk = request.node.get_closest_marker("on_disk") is not None
    seed = containerkit.docker_seed(images) if images and not on_disk else None
    if on_disk:
        h = crashkit.boot(tmp_path, device, docker=docker)
    else:
        h = Harness.boot(tmp_path / "harness", docker=docker, docker_seed=seed,
                         binds={"/opt/dunebugger": device.root / "opt/dunebugger"})
    try:
        if containers:
            containerkit.start_containers(h, tmp_path / "rootfs")
        yield h
    finally:
        h.poweroff()


@pytest.fixture
def gh(booted: Harness, request: pytest.FixtureRequest) -> Iterator[GithubStandin]:
    server = GithubStandin().start(booted.listen_tcp())
    try:
        for marker in request.node.iter_markers("releases"):
            for publish in marker.args:
                publish(server)
        yield server
    finally:
        server.stop()


def _updater_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker("updater")
    return dict(marker.kwargs) if marker else {}


@pytest.fixture
def product(booted: Harness, gh: GithubStandin, request: pytest.FixtureRequest) -> Harness:
    """dunebugger-units in `booted`, configured for the device's containers (`pytest.mark.updater` changes it)."""
    install_product(booted, containerkit.updater_config(gh.url, **_updater_settings(request)))
    return booted


@pytest.fixture
def core(booted: Harness, gh: GithubStandin, device: Device, request: pytest.FixtureRequest) -> Harness:
    """dunebugger-units in `booted` configured for core (`pytest.mark.updater` changes it), and core 1.0.0
    running as the installer lays it out; pi's uid is kept on the harness as `pi_uid`."""
    install_product(booted, corekit.updater_config(device, gh.url, **_updater_settings(request)))
    booted.pi_uid = corekit.install_core(booted, device)  # type: ignore[attr-defined]
    return booted
