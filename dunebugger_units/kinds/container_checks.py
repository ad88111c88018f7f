"""The container kind's checks: before the update (the compose file, permissions, docker, the container, disk
space) and after it or a rollback (the running image, stable over the window, healthy by the deadline).

Each pre-check fills in `ContainerFacts` for the ones after it and for the plan; `judge_*` and
`disk_space_outcome` are pure.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .. import compose
from ..docker import Container, Docker, DockerError
from ..errors import UnitsError
from ..files import read_with_stat
from ..progress import every_tenth
from ..results import CheckOutcome, first_failure
from ..signatures import unpinned_image
from ..versions import UNKNOWN
from .base import UpdateContext
from .health import Sample, http_health, stable_over

MB = 1024 * 1024
HEALTH_POLL = 0.5


# ---- pure decisions ---------------------------------------------------------------------------------------


def disk_space_outcome(paths: list[str], free_bytes: int, needed_mb: int) -> CheckOutcome:
    """`disk space: 312 MB free on /var/lib/docker, 500 MB needed`."""
    free_mb = free_bytes // MB
    where = " and ".join(paths)
    return CheckOutcome("disk space", free_mb >= needed_mb,
                        f"{free_mb} MB free on {where}, {needed_mb} MB needed")


def judge_container(container: Container | None, service: str, must_run: bool) -> list[CheckOutcome]:
    if container is None:
        return [CheckOutcome("container", False, f"service {service} has no container (docker compose ps)")]
    outcomes = [CheckOutcome("container", True, container.describe())]
    if not container.running:
        outcomes.append(CheckOutcome("container running", False, f"{container.name} is {container.status}",
                                     required=must_run))
    return outcomes


def judge_running_image(container: Container, image: str, image_id: str | None) -> CheckOutcome:
    if container.image_ref != image:
        return CheckOutcome("running image", False,
                            f"{container.name} runs {container.image_ref}, expected {image}")
    if image_id is not None and container.image_id != image_id:
        return CheckOutcome("running image", False, f"{container.name} runs image "
                                                    f"{container.image_id[:19]}, {image} is {image_id[:19]}")
    return CheckOutcome("running image", True, f"{container.name} runs {image}")




@dataclass
class ContainerFacts:
    """What the pre-checks learn, in order, for the ones after them and for the plan."""

    before: bytes = b""  # as read: CRLF line ends and all
    target: Path | None = None  # the file the compose path led to when read: the only one apply writes
    identity: os.stat_result | None = None  # of that file, read through its descriptor
    after: bytes = b""
    image_from: str = ""
    image_to: str = ""
    docker_root: str = "/var/lib/docker"


# ---- post-checks, shared by verify and rollback ---------------------------------------------------------


def post_checks(ctx: UpdateContext, docker: Docker, service: str, image: str,
                version: str) -> list[CheckOutcome]:
    """Running the expected image, stable over the window, healthy (HEALTHCHECK and HTTP) by the deadline."""
    container_id = docker.service_container(service)
    container = docker.inspect(container_id) if container_id else None
    if container_id is None or container is None:
        return [CheckOutcome("container running", False, f"service {service} has no container")]
    outcomes = [judge_running_image(container, image, docker.image_id(image))]
    steps: list[Callable[[], CheckOutcome]] = [
        lambda: stable_over(lambda: _sample(docker, container_id), ctx.config.update.stability_seconds,
                            name="container running", on_percent=every_tenth(ctx.progress, "stability window")),
        lambda: _docker_health(docker, container_id, ctx.health_timeout),
    ]
    if ctx.health_url:
        url = ctx.health_url
        want = version if ctx.manifest.version_check and version != UNKNOWN else None
        steps.append(lambda: http_health(url, ctx.health_expected_status, want, ctx.health_timeout))
    for step in steps:
        if first_failure(outcomes) is not None:
            break
        outcomes.append(step())
    return outcomes


def _sample(docker: Docker, container_id: str) -> Sample:
    container = docker.inspect(container_id)
    if container is None:
        return Sample(False, 0, f"container {container_id[:12]} is gone")
    return Sample(container.running, container.restart_count, container.describe())


def _docker_health(docker: Docker, container_id: str, deadline: float) -> CheckOutcome:
    end = time.monotonic() + deadline
    while True:
        container = docker.inspect(container_id)
        if container is None:
            return CheckOutcome("docker healthcheck", False, f"container {container_id[:12]} is gone")
        if container.health is None:
            return CheckOutcome("docker healthcheck", True, "the image defines no HEALTHCHECK")
        if container.health == "healthy":
            return CheckOutcome("docker healthcheck", True, f"{container.name} is healthy")
        if container.health == "unhealthy" or time.monotonic() >= end:
            return CheckOutcome("docker healthcheck", False,
                                f"{container.name} is {container.health} after {deadline:g} s"
                                if container.health != "unhealthy" else f"{container.name} is unhealthy")
        time.sleep(HEALTH_POLL)


# ---- pre-checks -------------------------------------------------------------------------------------------


def check_signed_pin(ctx: UpdateContext, _facts: ContainerFacts) -> CheckOutcome:
    """A signature covers files, never a registry tag: a signed release must pin its image in its manifest."""
    why = unpinned_image(ctx.signed, ctx.manifest.image_digest)
    return CheckOutcome("signature", why is None, why or "the signed manifest pins the image by digest")


def check_compose(ctx: UpdateContext, facts: ContainerFacts) -> list[CheckOutcome]:
    path, service = compose_path(ctx), service_of(ctx)
    try:
        facts.target, facts.before, facts.identity = read_once(path)
        facts.image_from = compose.service_image(facts.before.decode(), service)
    except UnitsError as exc:
        return [CheckOutcome("compose file", False, f"{path}: {exc}")]
    outcomes = [CheckOutcome("compose file", True, f"{path}: service {service} runs {facts.image_from}")]
    try:
        facts.image_to = compose.target_image(facts.image_from, ctx.to_version)
        facts.after = compose.set_service_image(facts.before.decode(), service, facts.image_to).encode()
    except UnitsError as exc:
        return [*outcomes, CheckOutcome("image reference", False, str(exc))]
    return [*outcomes, CheckOutcome("image reference", True, f"{facts.image_to} (from {facts.image_from})")]


def check_permissions(ctx: UpdateContext, facts: ContainerFacts) -> list[CheckOutcome]:
    path, backup_dir = facts.target or written_file(compose_path(ctx)), Path(ctx.config.backup_dir)
    problems = []
    if not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
        problems.append(f"compose file {path} (and its directory) not writable")
    existing = nearest_existing(backup_dir)
    if not os.access(existing, os.W_OK):
        problems.append(f"backup dir {backup_dir} not writable ({existing})")
    if problems:
        return [CheckOutcome("permissions", False, "; ".join(problems))]
    return [CheckOutcome("permissions", True, f"{path} and {backup_dir} writable")]


def check_docker(ctx: UpdateContext, facts: ContainerFacts) -> list[CheckOutcome]:
    try:
        facts.docker_root = docker_of(ctx).root_dir()
    except DockerError as exc:
        return [CheckOutcome("docker", False, str(exc))]
    return [CheckOutcome("docker", True, f"the daemon answers; data root {facts.docker_root}")]


def check_container(ctx: UpdateContext, facts: ContainerFacts) -> list[CheckOutcome]:
    docker, service = docker_of(ctx), service_of(ctx)
    try:
        container_id = docker.service_container(service)
        container = docker.inspect(container_id) if container_id else None
    except DockerError as exc:
        return [CheckOutcome("container", False, str(exc))]
    return judge_container(container, service, must_run=ctx.manifest.require_service_running)


def check_disk_space(ctx: UpdateContext, facts: ContainerFacts) -> list[CheckOutcome]:
    """Measured on each filesystem that will be written; two paths on one filesystem are one check."""
    by_device: dict[int, tuple[list[str], int]] = {}
    for path in (facts.docker_root, ctx.config.backup_dir):
        existing = nearest_existing(Path(path))
        try:
            st, vfs = os.stat(existing), os.statvfs(existing)
        except OSError as exc:
            return [CheckOutcome("disk space", False, f"cannot measure {path}: {exc.strerror}")]
        paths, _ = by_device.get(st.st_dev, ([], 0))
        by_device[st.st_dev] = ([*paths, path], vfs.f_bavail * vfs.f_frsize)
    needed = ctx.free_mb_needed(ctx.config.update.container_min_free_mb)
    return [disk_space_outcome(paths, free, needed) for paths, free in by_device.values()]


# ---- small helpers ----------------------------------------------------------------------------------------


def compose_path(ctx: UpdateContext) -> Path:
    return Path(ctx.config.compose_file)


def service_of(ctx: UpdateContext) -> str:
    return ctx.component.compose_service or ctx.component.name


def docker_of(ctx: UpdateContext) -> Docker:
    return Docker(compose_path(ctx))


def read_bytes(path: Path) -> bytes:
    """The compose file exactly as it is on disk (line ends, BOM and all)."""
    return compose.read_compose_text(path).encode()


def read_once(path: Path) -> tuple[Path, bytes, os.stat_result]:
    """The file the compose path leads to now, its bytes and its identity, read through its descriptor (a
    link the app's user retargets later changes nothing root writes: apply writes this file, if still it)."""
    target = written_file(path)
    try:
        data, st = read_with_stat(target, compose.MAX_FILE_BYTES)
    except OSError as exc:
        raise UnitsError(f"reading compose file {target}: {exc.strerror or exc}") from None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnitsError(f"reading compose file {target}: not UTF-8 (byte {exc.start})") from None
    return target, data, st


def read_text(path: Path) -> str:
    return compose.read_compose_text(path)


def nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def written_file(path: Path) -> Path:
    """The file an edit of `path` writes: the target of a symlinked compose file (the link stays a link)."""
    return Path(os.path.realpath(path))
