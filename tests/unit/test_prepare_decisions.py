"""The pure decisions of preparing ahead: what to prepare (phases/prepare.choose_preparation), whether a prepared
core release may be switched to as it is (kinds/python_app_ahead.usable_prepared), and what people see of it
(state.merge_view, render)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dunebugger_units import render
from dunebugger_units.download import Checksum
from dunebugger_units.kinds.python_app_ahead import usable_prepared
from dunebugger_units.phases.prepare import PrepareDecision, PrepareFacts, choose_preparation
from dunebugger_units.state import merge_view


def facts(**changes: Any) -> PrepareFacts:
    base: dict[str, Any] = {"component": "core", "allowed": True, "current": "1.0.0", "latest": "1.2.0"}
    return PrepareFacts(**(base | changes))


@pytest.mark.parametrize(("given", "expected"), [
    pytest.param(facts(), PrepareDecision("1.2.0", False, "preparing 1.2.0"), id="update-found"),
    pytest.param(facts(allowed=False), PrepareDecision(None, False, "prepare_ahead is off"), id="off"),
    pytest.param(facts(allowed=False, prepared="1.2.0", prepared_intact=True),
                 PrepareDecision(None, True, "prepare_ahead is off"), id="off-drops-what-was-prepared"),
    pytest.param(facts(latest=None), PrepareDecision(None, False, "no release published"), id="no-release"),
    pytest.param(facts(latest="1.0.0"), PrepareDecision(None, False, "up to date at 1.0.0"), id="up-to-date"),
    pytest.param(facts(latest="0.9.0"), PrepareDecision(None, False, "up to date at 1.0.0"), id="older"),
    pytest.param(facts(current="1.2.0", latest="1.2.0", prepared="1.2.0", prepared_intact=True),
                 PrepareDecision(None, True, "up to date at 1.2.0"), id="installed-record-dropped"),
    pytest.param(facts(failed=frozenset({"1.2.0"})),
                 PrepareDecision(None, False, "1.2.0 failed on this device before: not prepared again"),
                 id="failed-before"),
    pytest.param(facts(prepared="1.2.0", prepared_intact=True),
                 PrepareDecision(None, False, "1.2.0 is ready to install"), id="already-prepared"),
    pytest.param(facts(prepared="1.2.0", prepared_intact=False),
                 PrepareDecision("1.2.0", True, "preparing 1.2.0"), id="prepared-but-gone-again"),
    pytest.param(facts(latest="1.3.0", prepared="1.2.0", prepared_intact=True),
                 PrepareDecision("1.3.0", True, "preparing 1.3.0"), id="superseded"),
    pytest.param(facts(current="unknown"), PrepareDecision("1.2.0", False, "preparing 1.2.0"), id="unknown-current"),
])
def test_choose_preparation(given: PrepareFacts, expected: PrepareDecision) -> None:
    assert choose_preparation(given) == expected


DIR = Path("/opt/dunebugger/core.releases/1.2.0")
SUM = "a" * 64
RECORD = {"version": "1.2.0", "release_dir": str(DIR), "sha256": SUM}


@pytest.mark.parametrize(("record", "version", "complete", "checksums", "expected"), [
    pytest.param(RECORD, "1.2.0", True, [Checksum(SUM, "the asset's digest"), Checksum(SUM, "its .sha256 file")],
                 None, id="usable"),
    pytest.param(None, "1.2.0", True, [Checksum(SUM, "x")], "no release 1.2.0 prepared", id="no-record"),
    pytest.param(RECORD, "1.3.0", True, [Checksum(SUM, "x")], "no release 1.3.0 prepared", id="another-target"),
    pytest.param(RECORD | {"release_dir": "/tmp/1.2.0"}, "1.2.0", True, [Checksum(SUM, "x")],
                 f"the prepared release is not in {DIR}", id="elsewhere"),
    pytest.param(RECORD, "1.2.0", False, [Checksum(SUM, "x")], f"{DIR} is not completely staged",
                 id="half-staged"),
    pytest.param(RECORD, "1.2.0", True, [], "no checksum published to compare the prepared archive with",
                 id="no-checksum"),
    pytest.param(RECORD, "1.2.0", True, [Checksum(SUM, "x"), Checksum("b" * 64, "the signed SHA256SUMS")],
                 "the prepared archive does not match the checksums of 1.2.0", id="one-checksum-differs"),
])
def test_usable_prepared(record: dict[str, Any] | None, version: str, complete: bool, checksums: list[Checksum],
                         expected: str | None) -> None:
    assert usable_prepared(record, version, DIR, complete, checksums) == expected


@pytest.mark.parametrize(("current", "prepared", "expected"), [
    pytest.param("1.0.0", "1.2.0", "1.2.0", id="ready"),
    pytest.param("1.2.0", "1.2.0", None, id="installed"),
    pytest.param("1.0.0", {"version": "1.2.0"}, None, id="not-a-version-string"),
    pytest.param("1.0.0", None, None, id="none"),
])
def test_merge_view_shows_prepared_only_while_newer(current: str, prepared: object, expected: str | None) -> None:
    checked = {"components": {"core": {"current": current, "latest": "1.2.0", "last_checked": "2026-12-01T00:00:00Z"}}}
    own = {"components": {"core": {"prepared": prepared}}}
    assert merge_view(checked, own)["core"]["prepared"] == expected


def test_status_says_ready_to_install() -> None:
    record = {"current": "1.0.0", "latest": "1.2.0", "update_available": True, "last_checked": "2026-12-01"}
    ready = render.render_components({"components": {"core": record | {"prepared": "1.2.0"}}})
    assert ready.startswith("core       1.0.0            update available: 1.2.0, ready to install")
    plain = render.render_components({"components": {"core": record | {"prepared": None}}})
    assert "ready to install" not in plain
