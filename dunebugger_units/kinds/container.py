"""The container kind (scheduler, remote): pre-checks, plan, pull, compose edit, recreate, post-checks, undo.

The pre-checks produce a `ComposePlan` (the compose file as read, the edited text, both images); apply
carries out exactly that plan.

Order of apply, chosen so that every failure before the compose file is written changes nothing:
pull the new image by its full reference while the old container runs, back the compose file up, record the
backup in the transaction, write the edited compose file (the target of a link: the link stays), then
`docker compose up -d <service>` (not `--no-deps`: see docker.Docker.up).
Old images are never removed here: a rollback recreates the old container from the local image, with the
registry unreachable (`--pull never`).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import compose, transaction
from ..docker import Container, Docker, DockerError
from ..errors import Refused, UnitsError
from ..files import atomic_write, fsync_dir
from ..progress import every_tenth
from ..results import CheckOutcome, first_failure
from ..signatures import unpinned_image
from ..transaction import RollbackStep, Step, Transaction
from ..versions import UNKNOWN, strip_v
from .base import Checked, UpdateContext, run_checks
from .health import Sample, http_health, stable_over

MB = 1024 * 1024
BACKUP_NAME = re.compile(r"^docker-compose\.\d{8}_\d{6}(?:-\d+)?\.yml$")
HEALTH_POLL = 0.5


# ---- pure decisions ---------------------------------------------------------------------------------------


def disk_space_outcome(paths: list[str], free_bytes: int, needed_mb: int) -> CheckOutcome:
    """`disk space: 312 MB free on /var/lib/docker, 500 MB needed`."""
    free_mb = free_bytes // MB
    where = " and ".join(paths)
    return CheckOutcome("disk space", free_mb >= needed_mb,
                        f"{free_mb} MB free on {where}, {needed_mb} MB needed")


def backups_to_remove(names: list[str], keep: int, protect: set[str]) -> list[str]:
    """Compose backups beyond the newest `keep`, never one in `protect`; other files are not ours."""
    ours = sorted((n for n in names if BACKUP_NAME.match(n)), key=_backup_order, reverse=True)
    return [n for n in ours[keep:] if n not in protect]


def images_to_prune(local: list[str], keep: set[str]) -> list[str]:
    """Local images of the component's repository that no rollback can need: everything but the running
    image and the one before it (the disk of a Pi fills up with old images otherwise)."""
    return sorted(ref for ref in local if ref not in keep)


def _backup_order(name: str) -> tuple[str, int]:
    stem = name.removeprefix("docker-compose.").removesuffix(".yml")
    stamp, _, n = stem.partition("-")
    return stamp, int(n or 0)


def backup_name(stamp: str, taken: set[str]) -> str:
    """`docker-compose.<stamp>.yml`, or with `-2`, `-3`... when two runs share a second."""
    name, n = f"docker-compose.{stamp}.yml", 1
    while name in taken:
        n += 1
        name = f"docker-compose.{stamp}-{n}.yml"
    return name


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


# ---- the kind ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ComposePlan:
    """What the update of one compose service does, as the pre-checks found it."""

    path: Path
    service: str
    before: bytes  # the compose file as read: the backup's contents
    after: bytes  # the same bytes but for the image tag
    image_from: str
    image_to: str  # the target by its tag; pinned to a digest once pulled when `pinned` or `digest`
    pinned: bool = False  # the compose entry names a digest: it stays pinned, to the new image's digest
    digest: str | None = None  # the digest the release's manifest pins: pulled by it, checked in RepoDigests


@dataclass
class ContainerFacts:
    """What the pre-checks learn, in order, for the ones after them and for the plan."""

    before: bytes = b""  # as read: CRLF line ends and all
    after: bytes = b""
    image_from: str = ""
    image_to: str = ""
    docker_root: str = "/var/lib/docker"


class ContainerKind:
    """A compose service whose version is its image tag."""

    # -- before anything changes --------------------------------------------------------------------------

    def prepare(self, ctx: UpdateContext) -> Checked[ComposePlan]:
        facts = ContainerFacts()
        outcomes = run_checks(ctx, facts, (_check_signed_pin, _check_compose, _check_permissions, _check_docker,
                                           _check_container, _check_disk_space))
        if first_failure(outcomes) is not None:
            return Checked(outcomes, None)
        plan = ComposePlan(path=_compose_path(ctx), service=_service(ctx), before=facts.before,
                           after=facts.after, image_from=facts.image_from, image_to=facts.image_to,
                           pinned=compose.parse_image_ref(facts.image_from).digest is not None,
                           digest=ctx.manifest.image_digest)
        return Checked(outcomes, plan)

    def describe(self, ctx: UpdateContext, plan: ComposePlan) -> dict[str, Any]:
        backup = Path(ctx.config.backup_dir) / backup_name(ctx.stamp or "YYYYmmdd_HHMMSS", set())
        path, service = plan.path, plan.service
        return {
            "compose_file": str(path),
            "service": service,
            "image_from": plan.image_from,
            "image_to": plan.image_to,
            "pull": _pull_ref(plan),
            "pinned_to_digest": plan.pinned or plan.digest is not None,
            "backup": str(backup),
            "compose_diff": compose.unified_diff(plan.before.decode(), plan.after.decode(), str(path)),
            "steps": [f"docker pull {_pull_ref(plan)}", f"back up {path} to {backup}",
                      f"set {service}'s image to {plan.image_to} in {_describe_target(path)}",
                      f"docker compose -f {path} up -d {service}"],
        }

    # -- the change ---------------------------------------------------------------------------------------

    def apply(self, ctx: UpdateContext, plan: ComposePlan, txn: Transaction) -> None:
        docker = Docker(plan.path)
        ctx.progress("pulling")
        # Not a change yet: the old container keeps running, and a failed pull leaves the device as it was.
        image_to, after = _pull(docker, plan, every_tenth(ctx.progress, "pulling"))
        ctx.progress("backing up the compose file")
        backup = _write_backup(Path(ctx.config.backup_dir), ctx.stamp, plan.before, like=plan.path)
        state_dir = Path(ctx.state_dir)
        transaction.advance(state_dir, txn, Step.COMPOSE_WRITING, compose_file=str(plan.path),
                            compose_backup=str(backup), service=plan.service, previous_image=plan.image_from,
                            new_image=image_to)
        atomic_write(written_file(plan.path), after, like=plan.path)
        transaction.advance(state_dir, txn, Step.RECREATING)
        ctx.progress("recreating the container")
        docker.up(plan.service, doing=f"recreating {plan.service} with {image_to}")

    def verify(self, ctx: UpdateContext) -> list[CheckOutcome]:
        current = compose.service_image(_read_text(_compose_path(ctx)), _service(ctx))
        # a pinned entry names the target by its tag and the pulled image's digest
        image = current if compose.image_tag(current) == strip_v(ctx.to_version) else compose.target_image(
            current, ctx.to_version)
        return post_checks(ctx, _docker(ctx), _service(ctx), image, ctx.to_version)

    def commit(self, ctx: UpdateContext, txn: Transaction) -> None:
        backup_dir = Path(ctx.config.backup_dir)
        protect = {Path(txn.backups["compose_backup"]).name} if txn.backups.get("compose_backup") else set()
        keep = ctx.config.update.keep_backups
        for name in backups_to_remove(sorted(os.listdir(backup_dir)), keep, protect):
            (backup_dir / name).unlink(missing_ok=True)
        path = _compose_path(ctx)
        self._prune_images(Docker(path), compose.service_image(_read_text(path), _service(ctx)),
                           txn.backups.get("previous_image"))
        # Temp files of an atomic write cut short by a power cut; we hold the update lock, so none is live.
        target = written_file(path)
        for leftover in target.parent.glob(f".{target.name}.*.tmp"):
            leftover.unlink(missing_ok=True)
        fsync_dir(backup_dir)

    @staticmethod
    def _prune_images(docker: Docker, running: str, previous: str | None) -> None:
        repository = compose.parse_image_ref(running).repository
        keep = {compose.without_digest(running), compose.without_digest(previous or running)}
        for ref in images_to_prune(docker.local_tags(repository), keep):
            docker.remove_image(ref)  # one still in use stays: that is docker's call, and harmless

    def rollback(self, ctx: UpdateContext, txn: Transaction) -> list[CheckOutcome]:
        service = str(txn.backups.get("service") or _service(ctx))
        path = Path(txn.backups.get("compose_file") or ctx.config.compose_file)
        docker, state_dir = Docker(path), Path(ctx.state_dir)
        backup, image = txn.backups.get("compose_backup"), txn.backups.get("restore_image")
        if backup:
            _restore(path, Path(backup))
        elif image:  # on request: only this service's image goes back; later edits of the file stay
            _set_image(path, service, str(image))
        transaction.advance_rollback(state_dir, txn, RollbackStep.RESTORED)
        previous = compose.service_image(_read_text(path), service)
        if docker.image_id(previous) is None:
            raise UnitsError(f"rolling back {service}: image {previous} is no longer on this machine")
        ctx.progress("recreating the previous container")
        docker.up(service, doing=f"recreating {service} with {previous} during rollback")
        transaction.advance_rollback(state_dir, txn, RollbackStep.RESTARTED)
        return post_checks(ctx, docker, service, previous, ctx.from_version)

    def rollback_backups(self, ctx: UpdateContext, previous: dict[str, Any]) -> dict[str, Any]:
        """Back to the image the last update replaced; its image retention keeps it on this machine."""
        backups, service, path = previous.get("backups") or {}, _service(ctx), _compose_path(ctx)
        image, installed = backups.get("previous_image"), backups.get("new_image")
        try:
            text = _read_text(path)
            current = compose.service_image(text, service)
            if not image or current != installed:
                raise Refused(f"rolling back {service}: the compose file names {current}, not the {installed} "
                              "the last update wrote; the previous version is not known")
            compose.set_service_image(text, service, str(image))
            if Docker(path).image_id(str(image)) is None:
                raise Refused(f"rolling back {service}: the previous image {image} is no longer on this machine")
        except Refused:
            raise
        except UnitsError as exc:
            raise Refused(f"rolling back {service}: {exc}") from None
        return {"service": service, "compose_file": str(path), "restore_image": str(image),
                "previous_image": current, "new_image": current}

    def cleanup(self, ctx: UpdateContext) -> None:
        """Temp files of a compose write cut short; nothing else of a container update is half-done."""
        target = written_file(_compose_path(ctx))
        for leftover in target.parent.glob(f".{target.name}.*.tmp"):
            leftover.unlink(missing_ok=True)


def _pull_ref(plan: ComposePlan) -> str:
    if plan.digest is None:
        return plan.image_to
    return f"{compose.parse_image_ref(plan.image_to).repository}@{plan.digest}"


def _pull(docker: Docker, plan: ComposePlan, on_percent: Callable[[int], None]) -> tuple[str, bytes]:
    """Pull the target; return the reference the compose file gets and the file's new bytes. A digest the
    release pins is pulled by that digest (then tagged), and must be among the image's RepoDigests; a compose
    entry pinned by digest stays pinned, to the digest of the image just pulled."""
    docker.pull(_pull_ref(plan), on_percent=on_percent)
    if plan.digest is not None:
        docker.tag(_pull_ref(plan), plan.image_to)
    elif not plan.pinned:
        return plan.image_to, plan.after
    repository = compose.parse_image_ref(plan.image_to).repository
    digest = compose.choose_digest(docker.repo_digests(plan.image_to), repository, plan.digest)
    if digest is None:
        raise UnitsError(f"pulling {plan.image_to}: the image has no digest "
                         f"{plan.digest or 'from ' + repository} in its RepoDigests")
    pinned = f"{plan.image_to}@{digest}"
    return pinned, compose.set_service_image(plan.before.decode(), plan.service, pinned).encode()


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


def _check_signed_pin(ctx: UpdateContext, _facts: ContainerFacts) -> CheckOutcome:
    why = unpinned_image(ctx.signed, ctx.manifest.image_digest)
    return CheckOutcome("signature", why is None, why or "the signed manifest pins the image by digest")


def _check_compose(ctx: UpdateContext, facts: ContainerFacts) -> list[CheckOutcome]:
    path, service = _compose_path(ctx), _service(ctx)
    try:
        facts.before = _read_bytes(path)
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


def _check_permissions(ctx: UpdateContext, facts: ContainerFacts) -> list[CheckOutcome]:
    path, backup_dir = written_file(_compose_path(ctx)), Path(ctx.config.backup_dir)
    problems = []
    if not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
        problems.append(f"compose file {path} (and its directory) not writable")
    existing = _nearest_existing(backup_dir)
    if not os.access(existing, os.W_OK):
        problems.append(f"backup dir {backup_dir} not writable ({existing})")
    if problems:
        return [CheckOutcome("permissions", False, "; ".join(problems))]
    return [CheckOutcome("permissions", True, f"{path} and {backup_dir} writable")]


def _check_docker(ctx: UpdateContext, facts: ContainerFacts) -> list[CheckOutcome]:
    try:
        facts.docker_root = _docker(ctx).root_dir()
    except DockerError as exc:
        return [CheckOutcome("docker", False, str(exc))]
    return [CheckOutcome("docker", True, f"the daemon answers; data root {facts.docker_root}")]


def _check_container(ctx: UpdateContext, facts: ContainerFacts) -> list[CheckOutcome]:
    docker, service = _docker(ctx), _service(ctx)
    try:
        container_id = docker.service_container(service)
        container = docker.inspect(container_id) if container_id else None
    except DockerError as exc:
        return [CheckOutcome("container", False, str(exc))]
    return judge_container(container, service, must_run=ctx.manifest.require_service_running)


def _check_disk_space(ctx: UpdateContext, facts: ContainerFacts) -> list[CheckOutcome]:
    """Measured on each filesystem that will be written; two paths on one filesystem are one check."""
    by_device: dict[int, tuple[list[str], int]] = {}
    for path in (facts.docker_root, ctx.config.backup_dir):
        existing = _nearest_existing(Path(path))
        try:
            st, vfs = os.stat(existing), os.statvfs(existing)
        except OSError as exc:
            return [CheckOutcome("disk space", False, f"cannot measure {path}: {exc.strerror}")]
        paths, _ = by_device.get(st.st_dev, ([], 0))
        by_device[st.st_dev] = ([*paths, path], vfs.f_bavail * vfs.f_frsize)
    return [disk_space_outcome(paths, free, ctx.min_free_mb) for paths, free in by_device.values()]


# ---- small helpers ----------------------------------------------------------------------------------------


def _compose_path(ctx: UpdateContext) -> Path:
    return Path(ctx.config.compose_file)


def _service(ctx: UpdateContext) -> str:
    return ctx.component.compose_service or ctx.component.name


def _docker(ctx: UpdateContext) -> Docker:
    return Docker(_compose_path(ctx))


def _read_bytes(path: Path) -> bytes:
    """The compose file exactly as it is on disk (line ends, BOM and all)."""
    return compose.read_compose_text(path).encode()


def _read_text(path: Path) -> str:
    return compose.read_compose_text(path)


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def written_file(path: Path) -> Path:
    """The file an edit of `path` writes: the target of a symlinked compose file (the link stays a link)."""
    return Path(os.path.realpath(path))


def _describe_target(path: Path) -> str:
    target = written_file(path)
    return str(path) if target == path.absolute() else f"{target} (the target of the link {path})"


def _write_backup(backup_dir: Path, stamp: str, data: bytes, like: Path) -> Path:
    """Fsynced, with the compose file's owner (it belongs to pi) and mode 0600 (it may hold secrets)."""
    backup_dir.mkdir(parents=True, exist_ok=True)
    backup = backup_dir / backup_name(stamp, set(os.listdir(backup_dir)))
    atomic_write(backup, data, mode=0o600, like=like)
    return backup


def _set_image(path: Path, service: str, image: str) -> None:
    text = _read_text(path)
    if compose.service_image(text, service) != image:
        atomic_write(written_file(path), compose.set_service_image(text, service, image).encode(), like=path)


def _restore(path: Path, backup: Path) -> None:
    try:
        data = backup.read_bytes()
    except OSError as exc:
        raise UnitsError(f"restoring {path} from {backup}: {exc.strerror}") from None
    if not path.exists() or path.read_bytes() != data:
        atomic_write(written_file(path), data, like=path)
