"""The core kind's pure decisions: which settings survive, which releases and backups go, pip's options."""

from __future__ import annotations

from pathlib import Path

import pytest

from dunebugger_units.kinds.owner_child import rewrite_shebang
from dunebugger_units.kinds.releases import backups_to_prune, plan_settings, releases_to_prune
from dunebugger_units.kinds.venv import can_reuse_venv, pip_argv

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
    assert argv[:5] == ["/r/.venv/bin/python", "-I", "-m", "pip", "install"]
    assert argv[argv.index("-r") + 1] == "/r/requirements.txt"
    assert argv[argv.index("-r") + 2:] == tail


# ---- reuse of the previous release's installed packages --------------------------------------------------

SITE = Path("/r/1.0.0/.venv/lib/python3.11/site-packages")


@pytest.mark.parametrize(("old", "new", "site", "name", "reuse"), [
    pytest.param(b"a==1\nb==2\n", b"a==1\nb==2\n", SITE, "python3.11", True, id="identical"),
    pytest.param(b"a==1\n", b"a==2\n", SITE, "python3.11", False, id="changed"),
    pytest.param(b"a==1\n", b"a==1\n", SITE, "python3.13", False, id="another-python"),
    pytest.param(None, b"a==1\n", SITE, "python3.11", False, id="old-has-none"),
    pytest.param(b"a==1\n", b"a==1\n", None, "python3.11", False, id="old-has-no-venv"),
    pytest.param(b"-e .\n", b"-e .\n", SITE, "python3.11", False, id="editable"),
    pytest.param(b"./libs/x\n", b"./libs/x\n", SITE, "python3.11", False, id="local-path"),
    pytest.param(b"x @ file:///r/x\n", b"x @ file:///r/x\n", SITE, "python3.11", False, id="file-url"),
    pytest.param(b"-r base.txt\n", b"-r base.txt\n", SITE, "python3.11", False, id="included-file"),
    pytest.param(b"# pinned\na==1\n", b"# pinned\na==1\n", SITE, "python3.11", True, id="comments"),
])
def test_can_reuse_venv(old: bytes | None, new: bytes | None, site: Path | None, name: str, reuse: bool) -> None:
    assert can_reuse_venv(old, new, site, name) is reuse


@pytest.mark.parametrize(("script", "expected"), [
    pytest.param(b"#!/r/1.0.0/.venv/bin/python3\nimport x\n", b"#!/r/1.2.0/.venv/bin/python3\nimport x\n",
                 id="console-script"),
    pytest.param(b"#!/opt/dunebugger/core/.venv/bin/python\nx\n", b"#!/r/1.2.0/.venv/bin/python\nx\n",
                 id="plain-layout"),
    pytest.param(b"#!/bin/sh\necho\n", b"#!/bin/sh\necho\n", id="not-python"),
    pytest.param(b"\x7fELF...", b"\x7fELF...", id="binary"),
])
def test_rewrite_shebang(script: bytes, expected: bytes) -> None:
    assert rewrite_shebang(script, Path("/r/1.2.0/.venv")) == expected
