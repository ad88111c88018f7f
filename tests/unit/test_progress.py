"""Progress of the long steps as "<step> NN%": the pure parsers and the CLI's bar."""

from __future__ import annotations

import pytest

from dunebugger_units.cli import progress_line
from dunebugger_units.progress import every_tenth, percent_of, pip_percent, pull_percent

PULL = """\
1.2.0: Pulling from dunebugger-scheduler
8a49fdb3b6a5: Already exists
a3ed95caeb02: Pulling fs layer
4f4fb700ef54: Pulling fs layer
a3ed95caeb02: Verifying Checksum
a3ed95caeb02: Download complete
a3ed95caeb02: Pull complete
4f4fb700ef54: Downloading
4f4fb700ef54: Download complete
4f4fb700ef54: Pull complete
Digest: sha256:0123
Status: Downloaded newer image for 127.0.0.1:5000/dunebugger-scheduler:1.2.0
""".splitlines()


@pytest.mark.parametrize(("upto", "percent"), [
    pytest.param(1, None, id="before-any-layer"),
    pytest.param(2, 100, id="one-layer-already-there"),
    pytest.param(4, 33, id="three-layers-one-there"),
    pytest.param(7, 66, id="second-pulled"),
    pytest.param(len(PULL), 100, id="all-done"),
])
def test_pull_percent(upto: int, percent: int | None) -> None:
    assert pull_percent(PULL[:upto]) == percent


PIP = [
    "2026-12-02T00:50:01,1 Collecting dunebugger-fixture-dep==1.0.0",
    "2026-12-02T00:50:01,2 Collecting requests==2.31.0",
    "2026-12-02T00:50:02,3 Collecting idna (from requests==2.31.0)",
    "2026-12-02T00:50:03,4 Installing collected packages: idna, requests, dunebugger-fixture-dep",
    "2026-12-02T00:50:04,5 Successfully installed dunebugger-fixture-dep-1.0.0 idna-3.4 requests-2.31.0",
]


@pytest.mark.parametrize(("upto", "requirements", "percent"), [
    pytest.param(0, 2, None, id="nothing-yet"),
    pytest.param(1, 2, 40, id="one-of-two"),
    pytest.param(3, 2, 80, id="dependencies-capped"),
    pytest.param(4, 2, 90, id="installing"),
    pytest.param(5, 2, 100, id="done"),
])
def test_pip_percent(upto: int, requirements: int, percent: int | None) -> None:
    assert pip_percent(PIP[:upto], requirements) == percent


def test_every_tenth_reports_once_per_tenth() -> None:
    seen: list[str] = []
    on_percent = every_tenth(seen.append, "pulling")
    for value in (0, 3, 9, 10, 15, 55, 56, 100, 100, 130):
        on_percent(value)
    assert seen == ["pulling 0%", "pulling 10%", "pulling 55%", "pulling 100%"]


@pytest.mark.parametrize(("text", "percent"), [
    pytest.param("scheduler: pulling 40%", 40, id="percent"),
    pytest.param("scheduler: applying", None, id="none"),
    pytest.param("core: downloading 100%", 100, id="hundred"),
    pytest.param("odd 140%", None, id="over-100"),
])
def test_percent_of(text: str, percent: int | None) -> None:
    assert percent_of(text) == percent


def test_the_bar() -> None:
    assert progress_line("scheduler: pulling 50%", width=10) == f"{'scheduler: pulling':<28} [#####.....]  50%"
    assert progress_line("scheduler: committing") == "scheduler: committing"
