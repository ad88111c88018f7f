"""The compose corpus (tests/kits/composecorpus.py) against every reader, with the real `docker compose config` as
the judge: what it accepts is never called invalid, the image we read is the image it reads, and after our edit
it reads the new image for that service and exactly the same for everything else. Broken files are refused with
the parser's reason at the line docker compose names.

`docker compose config` parses and validates without a daemon, so this runs outside the test systemd.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from kits.composecorpus import CORPUS, Case
from kits.devicekit import Device
from kits.standin import GithubStandin

from dunebugger_units import compose
from dunebugger_units.compose import ComposeEditError
from dunebugger_units.config import parse_config
from dunebugger_units.device import read_current_version
from dunebugger_units.phases.check import run_check
from dunebugger_units.phases.status import read_status
from dunebugger_units.versions import UNKNOWN, strip_v

NEW = "127.0.0.1:5000/dunebugger-new:2.0.0"


def compose_config(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", "compose", "-f", str(path), "--project-directory", str(path.parent),
                           "config", "--format", "json"], capture_output=True, text=True, timeout=60, check=False,
                          env={"PATH": "/usr/bin:/bin"})


def config_of(path: Path) -> dict[str, Any]:
    """What docker compose makes of the file; `x-` extension fields left out (compose runs nothing from them,
    and the anchor they hold is where an image given through one is edited)."""
    out = compose_config(path)
    assert out.returncode == 0, out.stderr
    return {k: v for k, v in json.loads(out.stdout).items() if not k.startswith("x-")}


def written(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "docker-compose.yml"
    path.write_bytes(data)
    return path


CASES = [pytest.param(name, case, service, id=f"{name}-{service}")
         for name, case in CORPUS.items() for service in case.images]


@pytest.mark.parametrize(("name", "case", "service"), CASES)
def test_the_image_read_is_the_one_docker_compose_reads(tmp_path: Path, name: str, case: Case, service: str) -> None:
    path = written(tmp_path, case.text)
    theirs = config_of(path)["services"][service]["image"]
    ours = compose.service_image(compose.read_compose_text(path), service)
    assert ours == case.images[service]
    if "$" in ours:  # interpolated: docker compose fills in the default, we say what is written
        assert theirs == ours.replace("${REMOTE_TAG:-", "").replace("}", "")
    else:
        assert ours == theirs


@pytest.mark.parametrize(("name", "case", "service"), CASES)
def test_the_edit_changes_that_image_and_nothing_else(tmp_path: Path, name: str, case: Case, service: str) -> None:
    path = written(tmp_path, case.text)
    before = config_of(path)
    text = compose.read_compose_text(path)
    if service in case.refused:
        with pytest.raises(ComposeEditError) as refused:
            compose.set_service_image(text, service, NEW)
        assert case.refused[service] in str(refused.value)
        return
    edited = compose.set_service_image(text, service, NEW)
    path.write_bytes(edited.encode())
    after = config_of(path)
    before["services"][service]["image"] = NEW
    assert after == before
    assert compose.service_image(edited, service) == NEW
    # only the bytes of the image changed: BOM, line ends, comments and tabs stay as they were
    assert edited.replace(NEW, case.images[service], 1) == case.text.decode()


def device_config(device: Device, path: Path, api_url: str) -> Any:
    raw = device.config(api_url)
    raw["compose_file"] = str(path)
    return parse_config(raw)


def expected_version(image: str) -> str:
    tag = compose.image_tag(image)
    return UNKNOWN if tag is None or "$" in tag else strip_v(tag)


@pytest.mark.parametrize(("name", "case"), [pytest.param(n, c, id=n) for n, c in CORPUS.items()])
def test_version_status_and_check_read_every_file(tmp_path: Path, device: Device, standin: GithubStandin,
                                                  name: str, case: Case) -> None:
    path = written(tmp_path, case.text)
    config = device_config(device, path, standin.url)
    standin.add_release("dunebugger-scheduler", "v1.0.0")
    standin.add_release("dunebugger-remote", "v1.0.0")
    versions = {service: expected_version(image) for service, image in case.images.items()}
    assert {s: read_current_version(config, config.components[s]) for s in versions} == versions
    status = read_status(config)["components"]
    assert {s: status[s]["current"] for s in versions} == versions
    checked = run_check(config, ("scheduler", "remote")).body()["components"]
    assert {s: checked[s]["current"] for s in versions} == versions
    assert all(checked[s]["error"] is None for s in versions)


BROKEN = [
    pytest.param("services:\n  scheduler\n  remote:\n    image: x\n", id="key-without-colon"),
    pytest.param("services:\n  scheduler:\n\timage: x\n", id="tab-in-indentation"),
    pytest.param('services:\n  scheduler:\n    image: "x\n', id="unclosed-quote"),
    pytest.param("services:\n  scheduler:\n    image: x\n  scheduler:\n    image: y\n", id="duplicate-service"),
]


@pytest.mark.parametrize("text", BROKEN)
def test_a_broken_file_is_refused_with_the_reason_at_the_line_docker_compose_names(tmp_path: Path,
                                                                                   text: str) -> None:
    path = written(tmp_path, text.encode())
    theirs = compose_config(path)
    assert theirs.returncode != 0
    their_line = re.search(r"line (\d+)", theirs.stderr)
    with pytest.raises(ComposeEditError) as refused:
        compose.service_image(text, "scheduler")
    message = str(refused.value)
    assert message.startswith("compose file is not valid YAML: line ")
    assert their_line is not None and f"line {their_line[1]}," in message
    assert len(message.splitlines()) == 1
