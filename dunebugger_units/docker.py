"""The Docker engine and `docker compose`, through the docker CLI: the only module that runs it.

Every call is an argv list (never a shell) with a timeout; a failure becomes a DockerError that says what
was being done, to what, and the last line docker printed. Parsing what docker prints is pure
(`container_from_inspect`).
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UnitsError

DOCKER = "docker"
QUICK = 30.0  # info, inspect, ps: answered from the daemon's memory
PULL_TIMEOUT = 900.0  # a large image over a Pi's Wi-Fi
UP_TIMEOUT = 300.0  # stopping the old container (its stop timeout) and starting the new one


class DockerError(UnitsError):
    """A docker command failed or timed out."""


@dataclass(frozen=True)
class Container:
    """What `docker container inspect` says about one container."""

    id: str
    name: str
    status: str  # created | running | restarting | paused | exited | dead
    running: bool
    restarting: bool
    restart_count: int
    image_id: str  # sha256:... of the image it runs
    image_ref: str  # the reference it was created from (Config.Image)
    health: str | None  # starting | healthy | unhealthy, or None without a HEALTHCHECK
    started_at: str
    exit_code: int

    def describe(self) -> str:
        extra = f", health {self.health}" if self.health else ""
        code = f" (exit code {self.exit_code})" if self.status == "exited" else ""
        return f"{self.name} {self.id[:12]} {self.status}{code}{extra}, {self.restart_count} restart(s)"


def container_from_inspect(data: dict[str, Any]) -> Container:
    """Pure: one element of `docker container inspect` output."""
    state = data.get("State") or {}
    health = state.get("Health") or {}
    return Container(
        id=str(data.get("Id", "")),
        name=str(data.get("Name", "")).lstrip("/"),
        status=str(state.get("Status", "unknown")),
        running=bool(state.get("Running")) and not bool(state.get("Restarting")),
        restarting=bool(state.get("Restarting")),
        restart_count=int(data.get("RestartCount") or 0),
        image_id=str(data.get("Image", "")),
        image_ref=str((data.get("Config") or {}).get("Image", "")),
        health=health.get("Status") or None,
        started_at=str(state.get("StartedAt", "")),
        exit_code=int(state.get("ExitCode") or 0),
    )


def refused_unknown_flag(message: str, flag: str) -> bool:
    """Pure: docker (cobra) refused `flag` as unknown, so it did nothing ("unknown flag: --pull")."""
    return f"unknown flag: {flag}" in message


def reason(stderr: str) -> str:
    """Pure: the line of docker's stderr that says why: an unknown flag (docker prints its usage after it),
    else the last line."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    flagged = [line for line in lines if line.startswith("unknown flag: ")]
    return (flagged or lines or ["no output"])[-1][:300]


@dataclass(frozen=True)
class Docker:
    """The docker CLI, pointed at one compose file (its dir is the compose project dir)."""

    compose_file: Path
    executable: str = DOCKER

    def run(self, args: list[str], doing: str, timeout: float = QUICK) -> str:
        """Run `docker <args>`; DockerError on a non-zero exit or the timeout. Returns stdout."""
        argv = [self.executable, *args]
        try:
            result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False,
                                    stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise DockerError(f"{doing}: docker did not finish within {timeout:g} s") from None
        except OSError as exc:
            raise DockerError(f"{doing}: cannot run {self.executable}: {exc.strerror}") from None
        if result.returncode != 0:
            raise DockerError(f"{doing}: docker exited {result.returncode}: {reason(result.stderr)}")
        return result.stdout

    def compose(self, args: list[str], doing: str, timeout: float = QUICK) -> str:
        file = str(self.compose_file)
        return self.run(["compose", "-f", file, "--project-directory", str(self.compose_file.parent), *args],
                        doing, timeout)

    # ---- the engine ---------------------------------------------------------------------------------------

    def root_dir(self) -> str:
        """The daemon's data root (`DockerRootDir`): where pulled images land. Also proves it answers."""
        doing = "asking the docker daemon for its data root"
        out = self.run(["info", "--format", "{{.DockerRootDir}}"], doing)
        root = out.strip()
        if not root.startswith("/"):
            raise DockerError(f"{doing}: it answered {root[:80]!r}")
        return root

    def inspect(self, container_id: str) -> Container | None:
        """The container, or None when it no longer exists."""
        try:
            out = self.run(["container", "inspect", container_id],
                           f"inspecting container {container_id[:12]}")
        except DockerError as exc:
            if "No such" in str(exc):
                return None
            raise
        data = json.loads(out)
        return container_from_inspect(data[0]) if data else None

    def image_id(self, ref: str) -> str | None:
        """The local image's ID, or None when it is not on this machine."""
        try:
            out = self.run(["image", "inspect", "--format", "{{.Id}}", ref], f"inspecting image {ref}")
        except DockerError as exc:
            if "No such" in str(exc):
                return None
            raise
        return out.strip() or None

    def local_tags(self, repository: str) -> list[str]:
        """The `repository:tag` references of this repository on this machine (untagged layers left out)."""
        out = self.run(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}", repository],
                       f"listing the local images of {repository}")
        return [ref for ref in out.split() if not ref.endswith(":<none>")]

    def remove_image(self, ref: str) -> bool:
        """Remove (or untag) `ref`; False when docker refuses, e.g. because a container still uses it."""
        try:
            self.run(["image", "rm", ref], f"removing image {ref}")
        except DockerError:
            return False
        return True

    def repo_digests(self, ref: str) -> list[str]:
        """The local image's RepoDigests (`repository@sha256:...`, one per registry it came from)."""
        out = self.run(["image", "inspect", "--format", "{{json .RepoDigests}}", ref], f"inspecting image {ref}")
        found = json.loads(out or "[]")
        return [str(d) for d in found] if isinstance(found, list) else []

    def tag(self, source: str, target: str) -> None:
        self.run(["tag", source, target], f"tagging image {source} as {target}")

    def load(self, archive: Path) -> None:
        """`docker load` of a `docker save` archive (kinds/file_checks.py judged its image first)."""
        self.run(["load", "--quiet", "--input", str(archive)], f"loading image file {archive.name}",
                 timeout=PULL_TIMEOUT)

    def pull(self, ref: str, on_percent: Callable[[int], None] | None = None) -> None:
        """`docker pull`; with `on_percent`, its plain per-layer output becomes a percent as it comes."""
        if on_percent is None:
            self.run(["pull", "--quiet", ref], f"pulling image {ref}", timeout=PULL_TIMEOUT)
            return
        from .progress import pull_percent

        doing = f"pulling image {ref}"
        try:
            child = subprocess.Popen([self.executable, "pull", ref], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        except OSError as exc:
            raise DockerError(f"{doing}: cannot run {self.executable}: {exc.strerror}") from None
        watchdog = threading.Timer(PULL_TIMEOUT, child.kill)
        watchdog.start()
        lines: list[str] = []
        try:
            for line in child.stdout or ():
                lines.append(line)
                if (percent := pull_percent(lines)) is not None:
                    on_percent(percent)
            errors = child.stderr.read() if child.stderr else ""
            code = child.wait()
        finally:
            watchdog.cancel()
        if code != 0:
            why = f"did not finish within {PULL_TIMEOUT:g} s" if code < 0 else f"exited {code}: {reason(errors)}"
            raise DockerError(f"{doing}: docker {why}")

    # ---- compose ------------------------------------------------------------------------------------------

    def service_container(self, service: str) -> str | None:
        """The ID of the service's container (running or not), or None when it has none."""
        out = self.compose(["ps", "--all", "--quiet", service], f"listing the container of service {service}")
        ids = out.split()
        return ids[0] if ids else None

    def up(self, service: str, *, doing: str) -> None:
        """`up -d <service>`: recreate this service (its dependencies only if a plain `up -d` would too), never
        pull (the image must be local).

        Not `--no-deps`: compose then hashes the service without its `depends_on`, so the container is labelled
        with a config hash that a plain `docker compose up -d` (a boot, the installer) does not compute, and it
        recreates the container once more (docker/compose#12069).

        `--pull never` is tried first: a compose too old to know the flag refuses it before doing anything, and
        the same `up` runs again without it (one call in the usual case, where asking `up --help` cost two).
        """
        try:
            self.compose(["up", "--detach", "--pull", "never", service], doing, timeout=UP_TIMEOUT)
        except DockerError as exc:
            if not refused_unknown_flag(str(exc), "--pull"):
                raise
            self.compose(["up", "--detach", service], doing, timeout=UP_TIMEOUT)
