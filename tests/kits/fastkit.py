"""The world of a run, faked for the unit tier: the system bus, the journal, the status text and GitHub's
answer about the target release. The run skeleton (phases/run.execute), the phases, the state dir, the
transaction record and the kind are the real ones; the system tier proves the real bus, journal and GitHub.

`fast_world` lays out one component of the test-only plain-file kind (kits/filekind.py) under tmp_path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dunebugger_units import journal, transaction
from dunebugger_units.config import Config, parse_config
from dunebugger_units.github import Lookup, Release
from dunebugger_units.manifest import Manifest
from dunebugger_units.phases import run as run_phase
from dunebugger_units.phases import update as update_phase
from dunebugger_units.phases.target_release import TargetRelease
from dunebugger_units.rules.preflight import Target
from dunebugger_units.systemd import SystemdError, UnitState
from kits.filekind import TYPE, FileKind, register_file_kind


@dataclass
class FakeSystemd:
    """What the phases ask of the bus: the jobs asked for are recorded, every unit is active."""

    jobs: list[tuple[str, str]] = field(default_factory=list)
    states: dict[str, UnitState] = field(default_factory=dict)
    unreachable: str | None = None  # connect() fails with this
    connects: int = 0
    closes: int = 0

    def connect(self) -> FakeSystemd:
        if self.unreachable is not None:
            raise SystemdError(self.unreachable)
        self.connects += 1
        return self

    def close(self) -> None:
        self.closes += 1

    def require_done(self, action: str, unit: str, deadline: float) -> None:
        self.jobs.append((action, unit))

    def reset_failed(self, unit: str) -> None:
        self.jobs.append(("reset-failed", unit))

    def unit_state(self, unit: str) -> UnitState:
        return self.states.get(unit, UnitState("active", "running", 0, 1, "", "success", "inv"))

    def unit_of_pid(self, pid: int) -> str | None:
        return None


@dataclass
class FastWorld:
    config: Config
    kind: FileKind
    systemd: FakeSystemd
    root: Path
    journal: list[dict[str, Any]] = field(default_factory=list)  # every journal.event, its fields lower-case
    status_texts: list[str] = field(default_factory=list)
    undo_after_cut: Callable[[], None] = lambda: None  # puts back what a run wrote after its power cut

    name = "notes"

    @property
    def target(self) -> Path:
        return self.root / "opt/notes.txt"

    @property
    def state_dir(self) -> Path:
        return Path(self.config.state_dir)

    def installed(self) -> tuple[str, str]:
        """The file's content and the version its sidecar says."""
        return self.target.read_text(), Path(f"{self.target}.version").read_text()

    def publish(self, version: str, content: str) -> None:
        (self.root / "releases" / version).write_text(content)

    def message_ids(self) -> list[str]:
        return [e["message_id"] for e in self.journal if e.get("message_id")]

    def cut_power(self) -> None:
        """Called inside a run: the disk keeps what it holds now, and the run ends here (PowerCut is caught
        by nothing). What the dying run still writes is put back by `undo_after_cut`."""
        paths = [transaction.transaction_path(self.state_dir), self.target, Path(f"{self.target}.version")]
        saved = {p: p.read_bytes() for p in paths if p.exists()}

        def undo() -> None:
            for path in paths:
                if path in saved:
                    path.write_bytes(saved[path])
                else:
                    path.unlink(missing_ok=True)

        self.undo_after_cut = undo
        raise PowerCut


class NoRemoteReleases:
    """GitHub's answer to root's own lookup of remote's latest release: none published."""

    def __init__(self, *_args: object) -> None:
        pass

    def latest_release(self, repo: str, etag: str | None = None) -> Lookup:
        return Lookup(release=None, etag=None)


class PowerCut(BaseException):
    """Not an Exception: the run skeleton does not catch it, as nothing runs after a power cut."""


def fast_world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FastWorld:
    """One plain-file component `notes`, at 1.0.0, with the fakes in place."""
    kind = register_file_kind(monkeypatch)
    (tmp_path / "opt").mkdir()
    (tmp_path / "releases").mkdir()
    config = parse_config({
        "state_dir": str(tmp_path / "state"), "backup_dir": str(tmp_path / "backups"),
        "compose_file": str(tmp_path / "opt/docker-compose.yml"),
        "policy": {"show_lock": str(tmp_path / "show.lock")},
        "components": {FastWorld.name: {"type": TYPE, "repo": "notes", "path": str(tmp_path / "opt/notes.txt"),
                                        "source": str(tmp_path / "releases")}},
    }, source="fast test")
    world = FastWorld(config, kind, FakeSystemd(), tmp_path)
    world.target.write_text("notes 1.0.0\n")
    Path(f"{world.target}.version").write_text("1.0.0")

    def event(message: str, priority: journal.Priority = journal.Priority.INFO, message_id: str | None = None,
              **fields: object) -> None:
        world.journal.append({"message": message, "priority": priority, "message_id": message_id, **fields})

    def gather(config: Config, component: Any, target: Target) -> TargetRelease:
        release = Release(tag=f"v{target.version}", version=target.version, name=target.version, notes="",
                          url="", published_at=None, prerelease=False)
        return TargetRelease(release, None, Manifest())

    monkeypatch.setattr(journal, "event", event)
    monkeypatch.setattr(run_phase, "notify_status", world.status_texts.append)
    monkeypatch.setattr(run_phase.Systemd, "connect", world.systemd.connect)
    monkeypatch.setattr(update_phase, "gather_target_release", gather)
    monkeypatch.setattr(update_phase, "GithubClient", NoRemoteReleases)
    for name in ("INVOCATION_ID", "MONITOR_INVOCATION_ID", "MONITOR_SERVICE_RESULT"):
        monkeypatch.delenv(name, raising=False)
    return world
