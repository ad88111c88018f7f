"""The container kind's update (scheduler, remote): plan, pull, compose edit, recreate, commit, undo.

The pre-checks (container_checks.py) produce a `ComposePlan` (the compose file as read, the edited text, both
images); apply carries out exactly that plan, and the post-checks (container_checks.py) judge it.

Order of apply, chosen so that every failure before the compose file is written changes nothing:
pull the new image by its full reference while the old container runs, back the compose file up, record the
backup in the transaction, write the edited compose file (the target of a link: the link stays), then
`docker compose up -d <service>` (not `--no-deps`: see docker.Docker.up).
Old images are never removed here: a rollback recreates the old container from the local image, with the
registry unreachable (`--pull never`).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import compose, transaction
from ..config import ComponentConfig, Config
from ..docker import Docker
from ..errors import Refused, UnitsError
from ..files import fsync_dir, read_nofollow, replace_in_place
from ..progress import every_tenth
from ..results import CheckOutcome, first_failure
from ..transaction import RollbackStep, Step, Transaction
from ..versions import strip_v
from .base import BoundPlan, Prepared, UpdateContext, run_checks
from .container import installed_version
from .container_checks import (
    MB,
    ContainerFacts,
    check_compose,
    check_container,
    check_disk_space,
    check_docker,
    check_permissions,
    check_signed_pin,
    compose_path,
    disk_space_outcome,
    docker_of,
    judge_container,
    judge_running_image,
    post_checks,
    read_once,
    read_text,
    service_of,
    written_file,
)
from .file_checks import check_saved_image

__all__ = ["MB", "ContainerUpdate", "backup_name", "backups_to_remove", "disk_space_outcome", "images_to_prune",
           "judge_container", "judge_running_image"]
BACKUP_NAME = re.compile(r"^docker-compose\.\d{8}_\d{6}(?:-\d+)?\.yml$")


# ---- pure decisions ---------------------------------------------------------------------------------------


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


# ---- the kind ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ComposePlan:
    """What the update of one compose service does, as the pre-checks found it."""

    path: Path
    target: Path  # the file `path` led to at the pre-checks: the one written, only while it is that file
    identity: os.stat_result  # of `target` as read: its inode, owner and mode
    service: str
    before: bytes  # the compose file as read: the backup's contents
    after: bytes  # the same bytes but for the image tag
    image_from: str
    image_to: str  # the target by its tag; pinned to a digest once pulled when `pinned` or `digest`
    pinned: bool = False  # the compose entry names a digest: it stays pinned, to the new image's digest
    digest: str | None = None  # the digest the release's manifest pins: pulled by it, checked in RepoDigests
    load: Path | None = None  # installing from a file: root's staged `docker save` archive, loaded, not pulled


class ContainerUpdate:
    """What an update, a preparation and a rollback do to a compose service (kinds/container.py is the kind)."""

    # -- before anything changes --------------------------------------------------------------------------

    def prepare(self, ctx: UpdateContext) -> Prepared:
        facts = ContainerFacts()
        # a file's own checksums (signed ones, with trusted_keys) stand for the digest a pull is pinned to
        first = (check_compose, check_saved_image) if ctx.local is not None else (check_signed_pin, check_compose)
        outcomes = run_checks(ctx, facts, (*first, check_permissions, check_docker, check_container,
                                           check_disk_space))
        if first_failure(outcomes) is not None:
            return Prepared(outcomes)
        assert facts.target is not None and facts.identity is not None  # check_compose found them, for mypy
        plan = ComposePlan(path=compose_path(ctx), target=facts.target, identity=facts.identity,
                           service=service_of(ctx), before=facts.before,
                           after=facts.after, image_from=facts.image_from, image_to=facts.image_to,
                           pinned=compose.parse_image_ref(facts.image_from).digest is not None,
                           digest=ctx.manifest.image_digest, load=ctx.local.file if ctx.local else None)
        return Prepared(outcomes, BoundPlan(plan, self.describe, self.apply))

    # -- prepared ahead (phases/prepare.py): the image pulled, the compose file untouched ----------------------

    def prepare_ahead(self, ctx: UpdateContext) -> dict[str, Any]:
        prepared = self.prepare(ctx)
        failed = first_failure(prepared.checks)
        plan = prepared.plan.plan if isinstance(prepared.plan, BoundPlan) else None
        if failed is not None or not isinstance(plan, ComposePlan):
            raise UnitsError(f"preparing {ctx.component.name} {ctx.to_version}: "
                             f"{failed.line() if failed else 'no plan'}")
        ctx.progress("pulling")
        docker_of(ctx).pull(_pull_ref(plan), on_percent=every_tenth(ctx.progress, "pulling"))
        return {"version": ctx.to_version, "image": _pull_ref(plan)}

    def is_prepared(self, config: Config, component: ComponentConfig, record: Mapping[str, Any]) -> bool:
        image = record.get("image")
        try:
            return isinstance(image, str) and Docker(Path(config.compose_file)).image_id(image) is not None
        except UnitsError:
            return False

    def drop_prepared(self, config: Config, component: ComponentConfig, record: Mapping[str, Any]) -> None:
        """A superseded image goes unless a container uses it (docker refuses then); never the running one."""
        image = record.get("image")
        with contextlib.suppress(UnitsError, OSError):
            if isinstance(image, str) and image and record.get("version") != installed_version(config, component):
                Docker(Path(config.compose_file)).remove_image(image)

    def describe(self, ctx: UpdateContext, plan: ComposePlan) -> dict[str, Any]:
        backup = Path(ctx.config.backup_dir) / backup_name(ctx.stamp or "YYYYmmdd_HHMMSS", set())
        path, service = plan.path, plan.service
        return {
            "compose_file": str(path),
            "service": service,
            "image_from": plan.image_from,
            "image_to": plan.image_to,
            "pull": None if plan.load else _pull_ref(plan),
            "load": str(plan.load) if plan.load else None,
            "pinned_to_digest": plan.pinned or plan.digest is not None,
            "backup": str(backup),
            "compose_diff": compose.unified_diff(plan.before.decode(), plan.after.decode(), str(path)),
            "steps": [_fetch_step(plan), f"back up {path} to {backup}",
                      f"set {service}'s image to {plan.image_to} in {_describe_target(path)}",
                      f"docker compose -f {path} up -d {service}"],
        }

    # -- the change ---------------------------------------------------------------------------------------

    def apply(self, ctx: UpdateContext, plan: ComposePlan, txn: Transaction) -> None:
        docker = Docker(plan.path)
        ctx.progress("loading" if plan.load else "pulling")
        # Not a change yet: the old container keeps running, and a failed pull leaves the device as it was.
        image_to, after = (_load(docker, plan) if plan.load else
                           _pull(docker, plan, every_tenth(ctx.progress, "pulling")))
        ctx.progress("backing up the compose file")
        owner = (plan.identity.st_uid, plan.identity.st_gid)
        backup = _write_backup(Path(ctx.config.backup_dir), ctx.stamp, plan.before, owner)
        state_dir = Path(ctx.state_dir)
        transaction.advance(state_dir, txn, Step.COMPOSE_WRITING, compose_file=str(plan.path),
                            compose_target=str(plan.target), compose_owner=list(owner),
                            compose_mode=plan.identity.st_mode & 0o7777, compose_backup=str(backup),
                            service=plan.service, previous_image=plan.image_from, new_image=image_to)
        try:
            replace_in_place(plan.target, after, mode=plan.identity.st_mode & 0o7777, owner=owner,
                             same_as=plan.identity)
        except OSError as exc:
            raise UnitsError(f"writing compose file {plan.target}: {exc.strerror or exc}") from None
        transaction.advance(state_dir, txn, Step.RECREATING)
        ctx.progress("recreating the container")
        docker.up(plan.service, doing=f"recreating {plan.service} with {image_to}")

    def verify(self, ctx: UpdateContext) -> list[CheckOutcome]:
        current = compose.service_image(read_text(compose_path(ctx)), service_of(ctx))
        # a pinned entry names the target by its tag and the pulled image's digest
        image = current if compose.image_tag(current) == strip_v(ctx.to_version) else compose.target_image(
            current, ctx.to_version)
        return post_checks(ctx, docker_of(ctx), service_of(ctx), image, ctx.to_version)

    def commit(self, ctx: UpdateContext, txn: Transaction) -> None:
        backup_dir = Path(ctx.config.backup_dir)
        protect = {Path(txn.backups["compose_backup"]).name} if txn.backups.get("compose_backup") else set()
        keep = ctx.config.update.keep_backups
        for name in backups_to_remove(sorted(os.listdir(backup_dir)), keep, protect):
            (backup_dir / name).unlink(missing_ok=True)
        path = compose_path(ctx)
        self._prune_images(Docker(path), compose.service_image(read_text(path), service_of(ctx)),
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
        service = str(txn.backups.get("service") or service_of(ctx))
        path, target, backup = recorded_compose(ctx, txn.backups)
        docker, state_dir = Docker(path), Path(ctx.state_dir)
        image = txn.backups.get("restore_image")
        if backup is not None:
            _restore(target, backup, txn.backups)
        elif image:  # on request: only this service's image goes back; later edits of the file stay
            _set_image(target, service, str(image))
        transaction.advance_rollback(state_dir, txn, RollbackStep.RESTORED)
        previous = compose.service_image(read_text(path), service)
        if docker.image_id(previous) is None:
            raise UnitsError(f"rolling back {service}: image {previous} is no longer on this machine")
        ctx.progress("recreating the previous container")
        docker.up(service, doing=f"recreating {service} with {previous} during rollback")
        transaction.advance_rollback(state_dir, txn, RollbackStep.RESTARTED)
        return post_checks(ctx, docker, service, previous, ctx.from_version)

    def backups_for_requested_rollback(self, ctx: UpdateContext, previous: dict[str, Any]) -> dict[str, Any]:
        """Back to the image the last update replaced; its image retention keeps it on this machine."""
        backups, service, path = previous.get("backups") or {}, service_of(ctx), compose_path(ctx)
        image, installed = backups.get("previous_image"), backups.get("new_image")
        try:
            text = read_text(path)
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
        return {"service": service, "compose_file": str(path), "compose_target": str(written_file(path)),
                "restore_image": str(image),
                "previous_image": current, "new_image": current}

    def cleanup(self, ctx: UpdateContext) -> None:
        """Temp files of a compose write cut short; nothing else of a container update is half-done."""
        target = written_file(compose_path(ctx))
        for leftover in target.parent.glob(f".{target.name}.*.tmp"):
            leftover.unlink(missing_ok=True)


def _fetch_step(plan: ComposePlan) -> str:
    return f"docker load --input {plan.load}" if plan.load else f"docker pull {_pull_ref(plan)}"


def _load(docker: Docker, plan: ComposePlan) -> tuple[str, bytes]:
    """Load the staged archive (its one image, tagged image_to, was checked before): the compose file names
    the target by its tag."""
    assert plan.load is not None  # only called with a file, for mypy
    docker.load(plan.load)
    if docker.image_id(plan.image_to) is None:
        raise UnitsError(f"loading {plan.load.name}: docker has no image {plan.image_to} afterwards")
    return plan.image_to, plan.after


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


def _describe_target(path: Path) -> str:
    target = written_file(path)
    return str(path) if target == path.absolute() else f"{target} (the target of the link {path})"


def _write_backup(backup_dir: Path, stamp: str, data: bytes, owner: tuple[int, int]) -> Path:
    """Fsynced, with the compose file's owner as read (it belongs to pi) and mode 0600 (it may hold
    secrets)."""
    backup_dir.mkdir(parents=True, exist_ok=True)
    backup = backup_dir / backup_name(stamp, set(os.listdir(backup_dir)))
    backup = backup_dir.resolve() / backup.name  # written through no link from here on
    replace_in_place(backup, data, mode=0o600, owner=owner)
    return backup


def recorded_compose(ctx: UpdateContext, backups: Mapping[str, Any]) -> tuple[Path, Path, Path | None]:
    """The compose path, the file it led to when the update read it, and the backup, from root's record;
    each checked against the configuration first (the path is the configured one, the file is where a link
    in it led at the time, the backup is in the backup dir)."""
    path = Path(ctx.config.compose_file)
    recorded = Path(backups.get("compose_file") or path)
    target = Path(backups.get("compose_target") or written_file(path))
    backup = Path(backups["compose_backup"]) if backups.get("compose_backup") else None
    backup_dir = Path(ctx.config.backup_dir)
    wrong = [f"compose_file {recorded}"] if recorded != path else []
    if not target.is_absolute() or ".." in target.parts:
        wrong.append(f"compose_target {target}")
    if backup is not None and backup.parent not in {backup_dir, backup_dir.resolve()}:
        wrong.append(f"compose_backup {backup}")
    if wrong:
        raise UnitsError(f"rolling back {service_of(ctx)}: the record names {', '.join(wrong)}, not the "
                         f"configured {path} and {backup_dir}")
    return path, target, backup


def _set_image(target: Path, service: str, image: str) -> None:
    """On request: the image of one service, in the file the compose path leads to (read through no link)."""
    _, data, st = read_once(target)
    text = data.decode()
    if compose.service_image(text, service) != image:
        replace_in_place(target, compose.set_service_image(text, service, image).encode(),
                         mode=st.st_mode & 0o7777, owner=(st.st_uid, st.st_gid), same_as=st)


def _restore(target: Path, backup: Path, backups: Mapping[str, Any]) -> None:
    """The backup's bytes at the file the update wrote, with its owner and mode as recorded: a link swapped
    in there since is replaced, never followed."""
    try:
        data = read_nofollow(backup, compose.MAX_FILE_BYTES)
    except OSError as exc:
        raise UnitsError(f"restoring {target} from {backup}: {exc.strerror or exc}") from None
    with contextlib.suppress(OSError):
        if read_nofollow(target, compose.MAX_FILE_BYTES) == data:
            return  # never written, or written back already: nothing to do (a full disk stays harmless)
    owner = backups.get("compose_owner") or [backup.stat().st_uid, backup.stat().st_gid]
    replace_in_place(target, data, mode=int(backups.get("compose_mode") or 0o644), owner=(int(owner[0]), int(owner[1])))
