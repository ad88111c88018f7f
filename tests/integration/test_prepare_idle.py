"""A preparation with nothing to look at: every component's `prepare_ahead` off and nothing prepared before.

dunebugger-prepare.service runs after every check; then it answers from the configuration and root's state
alone, each component's line what the full preparation would say, without the bus, GitHub or the device.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from kits.devicekit import Device
from kits.standin import GithubStandin

from dunebugger_units import state
from dunebugger_units.config import Config, load_config
from dunebugger_units.phases.prepare import idle_lines, run_prepare


def config_with(tmp_path: Path, device: Device, standin: GithubStandin, **ahead: bool) -> Config:
    path = device.write_config(tmp_path / "updater.yaml", standin.url)
    data = yaml.safe_load(path.read_text())
    for name, value in ahead.items():
        data["components"][name]["prepare_ahead"] = value
    path.write_text(yaml.safe_dump(data))
    return load_config(path)


def test_nothing_allowed_and_nothing_prepared_is_answered_alone(tmp_path: Path, device: Device,
                                                                  standin: GithubStandin) -> None:
    config = config_with(tmp_path, device, standin)
    device.compose_file.write_text("services: [not, a, mapping]\n")  # the device is not even read
    report = run_prepare(config)
    assert report.lines == {"core": "prepare_ahead is off", "scheduler": "prepare_ahead is off",
                            "remote": "prepare_ahead is off"}
    assert report.failed == []
    assert standin.seen == []  # GitHub was not asked


@pytest.mark.parametrize("case", ["one-allowed", "one-prepared"])
def test_work_to_look_at_is_not_idle(tmp_path: Path, device: Device, standin: GithubStandin, case: str) -> None:
    config = config_with(tmp_path, device, standin, scheduler=case == "one-allowed")
    if case == "one-prepared":  # prepare_ahead off now: the full run drops what was prepared before
        state.set_prepared(Path(config.state_dir), "core", {"version": "1.2.0"})
    assert idle_lines(config) is None


def test_the_idle_answer_imports_no_bus_github_or_update_work(tmp_path: Path, device: Device,
                                                         standin: GithubStandin) -> None:
    config_with(tmp_path, device, standin)
    probe = ("import sys; from pathlib import Path; from dunebugger_units.config import Config, load_config;"
             "from dunebugger_units.phases.prepare import idle_lines;"
             f"assert idle_lines(load_config(Path({str(tmp_path / 'updater.yaml')!r}))) is not None;"
             "print(sorted(m for m in ('sdbus', 'asyncio', 'http.client', 'dunebugger_units.github',"
             " 'dunebugger_units.systemd', 'dunebugger_units.kinds.base', 'dunebugger_units.phases.run')"
             " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
