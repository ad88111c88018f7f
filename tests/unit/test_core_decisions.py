"""The core kind's pure decisions: which settings survive, which releases and backups go, pip's options."""

from __future__ import annotations

from pathlib import Path

import pytest

from dunebugger_units.kinds.releases import backups_to_prune, plan_settings, releases_to_prune
from dunebugger_units.kinds.venv import pip_argv

SETTINGS = [
    pytest.param({"app/config/a.conf"}, {"app/config/a.conf"}, ("app/config/a.conf",), (),
                 ("app/config/a.conf",), id="device-wins-over-default"),
    pytest.param({"app/config/a.conf"}, {"app/config/a.conf", "app/config/new.conf"}, ("app/config/a.conf",),
                 ("app/config/new.conf",), ("app/config/a.conf",), id="new-default-added"),
    pytest.param({"app/config/a.conf", "app/config/mine.conf"}, {"app/config/a.conf"},
                 ("app/config/a.conf", "app/config/mine.conf"), (), ("app/config/a.conf",),
                 id="device-only-file-kept"),
    pytest.param(set(), {"app/config/a.conf"}, (), ("app/config/a.conf",), (), id="first-install-defaults"),
]


@pytest.mark.parametrize(("device", "defaults", "kept", "added", "ignored"), SETTINGS)
def test_settings_carry_over(device: set[str], defaults: set[str], kept: tuple[str, ...],
                             added: tuple[str, ...], ignored: tuple[str, ...]) -> None:
    plan = plan_settings(device, defaults)
    assert (plan.from_device, plan.defaults_added, plan.defaults_ignored) == (kept, added, ignored)


RELEASES = [
    pytest.param(["1.0.0", "1.1.0", "1.2.0"], "1.2.0", "1.1.0", 3, [], id="under-the-limit"),
    pytest.param(["0.9", "1.0.0", "1.1.0", "1.2.0", "1.3.0"], "1.3.0", "1.2.0", 3, ["0.9"], id="oldest-goes"),
    pytest.param(["1.0.0", "1.1.0", "1.2.0"], "1.2.0", "1.1.0", 0, ["1.0.0"], id="keep-0-keeps-previous"),
    pytest.param(["1.1.0", "1.2.0", "1.0.0"], "1.2.0", "1.0.0", 1, ["1.1.0"],
                 id="previous-kept-even-if-oldest"),
    pytest.param(["1.0.0", "1.2.0", "1.1.0"], "1.0.0", "1.1.0", 1, ["1.2.0"], id="running-is-never-pruned"),
]


@pytest.mark.parametrize(("oldest_first", "running", "previous", "keep", "pruned"), RELEASES)
def test_release_retention(oldest_first: list[str], running: str, previous: str, keep: int,
                           pruned: list[str]) -> None:
    assert releases_to_prune(oldest_first, running, previous, keep) == pruned
    assert running not in pruned and previous not in pruned


BACKUPS = [
    pytest.param(["core.20260101_000000.tar.gz"], 3, [], id="few"),
    pytest.param([f"core.2026010{i}_000000.tar.gz" for i in range(1, 6)], 3,
                 ["core.20260101_000000.tar.gz", "core.20260102_000000.tar.gz"], id="oldest-two-go"),
    pytest.param(["core.20260102_000000.tar.gz", "core.20260101_000000.tar.gz"], 0,
                 ["core.20260101_000000.tar.gz"], id="newest-always-kept"),
]


@pytest.mark.parametrize(("names", "keep", "pruned"), BACKUPS)
def test_backup_retention(names: list[str], keep: int, pruned: list[str]) -> None:
    assert backups_to_prune(names, keep) == pruned


PIP = [
    pytest.param(None, (), [], id="defaults"),
    pytest.param("https://mirror/simple", (), ["--index-url", "https://mirror/simple"], id="mirror"),
    pytest.param(None, ("/opt/wheels",), ["--no-index", "--find-links", "/opt/wheels"], id="offline"),
    pytest.param("https://m/simple", ("/w",), ["--index-url", "https://m/simple", "--find-links", "/w"],
                 id="mirror-plus-wheels"),
]


@pytest.mark.parametrize(("index", "links", "tail"), PIP)
def test_pip_options(index: str | None, links: tuple[str, ...], tail: list[str]) -> None:
    argv = pip_argv(Path("/r/.venv/bin/python"), Path("/r/requirements.txt"), index, links)
    assert argv[:4] == ["/r/.venv/bin/python", "-m", "pip", "install"]
    assert argv[argv.index("-r") + 1] == "/r/requirements.txt"
    assert argv[argv.index("-r") + 2:] == tail
