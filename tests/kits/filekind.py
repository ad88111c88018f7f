"""A third kind of component that exists only in the tests: one plain file, its version in a sidecar file.

Its releases are files in a local directory (`source`/<version>), so it needs no network and no service. A
test registers it into kinds.KINDS (`register_file_kind`): that a kind can be added so, and then be
configured, updated, rolled back and recovered by the phases, proves that adding a kind touches kinds/ and
KINDS only. A release whose content says `broken` fails its post-check, as a broken release would.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

from dunebugger_units import kinds, transaction
from dunebugger_units.config import ComponentConfig, Config, KeySpec
from dunebugger_units.errors import ConfigError, Refused, UnitsError
from dunebugger_units.files import atomic_write
from dunebugger_units.kinds.base import BoundPlan, CheckList, Prepared, UpdateContext
from dunebugger_units.results import CheckOutcome
from dunebugger_units.transaction import RollbackStep, Step, Transaction

TYPE = "plain_file"
BROKEN = "broken"


def target_of(component: ComponentConfig) -> Path:
    return Path(component.settings["path"])


def version_file_of(component: ComponentConfig) -> Path:
    return Path(f"{component.settings['path']}.version")


@dataclass(frozen=True)
class FilePlan:
    source: Path  # the release: <source>/<to_version>
    target: Path
    backup: Path  # where the running file is kept for a rollback


class FileKind:
    """kinds/base.Kind for one plain file."""

    config_keys: ClassVar[Mapping[str, KeySpec]] = {
        "path": ((str,), "an absolute path", False),
        "source": ((str,), "a directory of releases", False),
    }
    required_keys = ("repo", "path", "source")

    def __init__(self) -> None:
        # called at "prepare", at "written" (the file is written, its version not yet) and at "verify": a
        # test's stand-in for a stop or a power cut at that moment
        self.hooks: dict[str, Callable[[], None]] = {}

    def check_config(self, values: Mapping[str, Any], where: str) -> None:
        if not str(values.get("path", "/")).startswith("/"):
            raise ConfigError(f"{where}.path: expected an absolute path, got {values['path']!r}")

    def installed_version(self, config: Config, component: ComponentConfig) -> str:
        return version_file_of(component).read_text().strip()

    def prepare(self, ctx: UpdateContext) -> Prepared:
        self.hooks.get("prepare", lambda: None)()
        source = Path(ctx.component.settings["source"]) / ctx.to_version
        checks = CheckList()
        if not checks.add(CheckOutcome("release file", source.is_file(), str(source))):
            return Prepared(checks.outcomes)
        target = target_of(ctx.component)
        free_mb = shutil.disk_usage(target.parent).free // (1024 * 1024)
        needed = ctx.free_mb_needed(1)
        if not checks.add(CheckOutcome("disk space", free_mb >= needed, f"{free_mb} MB free, {needed} MB needed")):
            return Prepared(checks.outcomes)
        backup = Path(ctx.config.backup_dir) / f"{ctx.component.name}.{ctx.from_version}.{ctx.stamp}"
        return Prepared(checks.outcomes, BoundPlan(FilePlan(source, target, backup), self.describe, self.apply))

    def describe(self, ctx: UpdateContext, plan: FilePlan) -> dict[str, Any]:
        return {"copy": str(plan.source), "to": str(plan.target), "backup": str(plan.backup)}

    def apply(self, ctx: UpdateContext, plan: FilePlan, txn: Transaction) -> None:
        plan.backup.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(plan.target, plan.backup)
        transaction.advance(Path(ctx.state_dir), txn, Step.SWITCHING, backup=str(plan.backup))
        ctx.progress("writing the file")
        atomic_write(plan.target, plan.source.read_bytes())
        self.hooks.get("written", lambda: None)()
        atomic_write(version_file_of(ctx.component), ctx.to_version.encode())

    def verify(self, ctx: UpdateContext) -> list[CheckOutcome]:
        self.hooks.get("verify", lambda: None)()
        return self._recheck(ctx, ctx.to_version)

    @staticmethod
    def _recheck(ctx: UpdateContext, version: str) -> list[CheckOutcome]:
        content = target_of(ctx.component).read_text()
        installed = version_file_of(ctx.component).read_text().strip()
        return [CheckOutcome("content", BROKEN not in content, content.strip()[:40]),
                CheckOutcome("version", installed == version, f"{installed}, expected {version}")]

    def commit(self, ctx: UpdateContext, txn: Transaction) -> None:
        """Nothing to drop: the backup stays for a rollback on request."""

    def rollback(self, ctx: UpdateContext, txn: Transaction) -> list[CheckOutcome]:
        backup = Path(txn.backups.get("backup") or "")
        if not backup.is_file():
            raise UnitsError(f"rolling back {ctx.component.name}: the backup {backup} is gone")
        atomic_write(target_of(ctx.component), backup.read_bytes())
        atomic_write(version_file_of(ctx.component), ctx.from_version.encode())
        transaction.advance_rollback(Path(ctx.state_dir), txn, RollbackStep.RESTORED)
        return self._recheck(ctx, ctx.from_version)

    def backups_for_requested_rollback(self, ctx: UpdateContext, previous: dict[str, Any]) -> dict[str, Any]:
        backup = (previous.get("backups") or {}).get("backup")
        if not backup or not Path(backup).is_file():
            raise Refused(f"rolling back {ctx.component.name}: the backup of {previous.get('version')} is gone")
        return {"backup": backup}

    def cleanup(self, ctx: UpdateContext) -> None:
        """An atomic write cut short leaves a temp file beside the target."""
        target = target_of(ctx.component)
        for leftover in target.parent.glob(f".{target.name}.*.tmp"):
            leftover.unlink()


def register_file_kind(monkeypatch: pytest.MonkeyPatch) -> FileKind:
    """Into kinds.KINDS for one test (monkeypatch takes it out again)."""
    kind = FileKind()
    monkeypatch.setitem(kinds.KINDS, TYPE, kind)
    return kind
