"""The docs hold together: the README stays an operator's guide, every link and repository path in the README
and docs/ names a file that exists, the units point at the one hardening rationale, and nothing shipped or
documented tells the history of the code instead of what it does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
DOCS = sorted((REPO / "docs").glob("*.md"))
MAN = REPO / "packaging/man/dunebugger-units.1"
UNITS = sorted(p for p in (REPO / "units").rglob("*") if p.is_file())
MARKDOWN = [README, *DOCS]
# The rest of what ships or is run as it is: its comments must not tell history either.
SHIPPED = [p for d in ("packaging", "web", "bench", "scripts") for p in sorted((REPO / d).rglob("*"))
           if p.is_file() and p.suffix not in {".png", ".gz"}]
# The code, the package's scripts and the tests say what is too (this file holds the examples they must not say).
CODE = [*(p for d in ("dunebugger_units", "tests") for p in sorted((REPO / d).rglob("*.py")) if p != Path(__file__)),
        *sorted(p for p in (REPO / "debian").rglob("*") if p.is_file())]

POINTER = ('# Hardening: the shared rationale is in docs/security.md ("Unit hardening"); only this unit\'s own '
           "choices are noted here.")
HISTORY = re.compile(r"\bissues? \d|\bstops? \d|\bthe seed's|\btoday's|\bthe last round|\bbefore the fix",
                     re.IGNORECASE)
TOP_DIRS = ("units", "packaging", "scripts", "bench", "web", "docs", "tests", "dunebugger_units", ".ci")
# A repository path written out anywhere in a text: it starts at one of the top-level dirs.
REPO_PATH = re.compile(r"(?<![\w/.@-])((?:" + "|".join(re.escape(d) for d in TOP_DIRS) + r")/[\w./@-]*\w)")
# A path inside the package, as the docs shorten it: `phases/run.py`, `kinds/venv.py`.
PACKAGE_PATH = re.compile(r"`((?:phases|kinds|rules|remote)/\w+\.py)`")
# A module or test named alone: `compose.py`, `test_messages.py`.
BARE_MODULE = re.compile(r"`(\w+\.py)`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def relative(path: Path) -> str:
    return str(path.relative_to(REPO))


def slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    text = re.sub(r"[^\w\s-]", "", heading.strip().lower())
    return re.sub(r"\s", "-", text)


def anchors(path: Path) -> set[str]:
    return {slug(line.lstrip("#")) for line in path.read_text().splitlines() if line.startswith("#")}


def test_the_readme_is_an_operators_guide_of_at_most_300_lines() -> None:
    lines = README.read_text().splitlines()
    assert len(lines) <= 300, f"README.md has {len(lines)} lines: move the detail to docs/"
    # the two commands of a fresh machine, exactly as CI and people type them
    assert "`bash scripts/demo.sh`" in README.read_text() and "`bash scripts/test.sh`" in README.read_text()


@pytest.mark.parametrize("doc", MARKDOWN, ids=relative)
def test_every_link_names_a_file_and_heading_that_exist(doc: Path) -> None:
    dead = []
    for target in LINK.findall(doc.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto, man: not a file of this repository
        name, _, anchor = target.partition("#")
        path = (doc.parent / name).resolve() if name else doc
        if not path.exists() or (anchor and path.suffix == ".md" and anchor not in anchors(path)):
            dead.append(target)
    assert not dead, f"{relative(doc)}: dead links {dead}"


def repo_paths(text: str) -> set[str]:
    """The repository paths a text names, without the ones that are patterns rather than paths."""
    return {p.rstrip(".") for p in REPO_PATH.findall(text) if not re.search(r"[*{<]", p)}


@pytest.mark.parametrize("doc", [*MARKDOWN, MAN, *UNITS, *SHIPPED], ids=relative)
def test_every_repository_path_named_exists(doc: Path) -> None:
    text = doc.read_text(errors="replace")
    dead = sorted(p for p in repo_paths(text) if not (REPO / p).exists())
    assert not dead, f"{relative(doc)} names paths that do not exist: {dead}"


@pytest.mark.parametrize("doc", MARKDOWN, ids=relative)
def test_every_module_named_exists(doc: Path) -> None:
    text = doc.read_text()
    dead = [p for p in PACKAGE_PATH.findall(text) if not (REPO / "dunebugger_units" / p).exists()]
    names = {p.name for d in ("dunebugger_units", "tests", "bench", "scripts") for p in (REPO / d).rglob("*.py")}
    dead += [m for m in BARE_MODULE.findall(text) if m not in names]
    assert not dead, f"{relative(doc)} names modules that do not exist: {dead}"


@pytest.mark.parametrize("doc", [*MARKDOWN, MAN, *UNITS, *SHIPPED, *CODE], ids=relative)
def test_no_history_words(doc: Path) -> None:
    found = [line.strip() for line in doc.read_text(errors="replace").splitlines() if HISTORY.search(line)]
    assert not found, f"{relative(doc)} tells history instead of what is: {found}"


@pytest.mark.parametrize("unit", [p for p in UNITS if p.suffix == ".service"], ids=relative)
def test_each_service_points_at_the_one_hardening_rationale(unit: Path) -> None:
    lines = unit.read_text().splitlines()
    assert POINTER in lines, f"{unit.name}: no pointer to the shared hardening rationale"
    # the shared reasons live in docs/security.md only; a unit keeps its own choices, not a copy of them
    assert not any("Left out on purpose" in line for line in lines), f"{unit.name} copies the shared rationale"


def test_the_shared_rationale_exists_where_the_pointer_says() -> None:
    assert "unit-hardening" in anchors(REPO / "docs/security.md")


@pytest.mark.parametrize(("text", "names"), [
    pytest.param("see `tests/kits/standin.py` and units/x.service.", {"tests/kits/standin.py", "units/x.service"},
                 id="backticked-and-bare"),
    pytest.param("/usr/lib/systemd/system/x and /var/lib/dunebugger-units/check", set(), id="system-paths"),
    pytest.param("`dunebugger_units/{a,b}.py`, `tests/*kit.py`, docs/<page>", set(), id="patterns"),
    pytest.param("(README, docs/security.md).", {"docs/security.md"}, id="sentence-end"),
])
def test_repo_paths_are_found_in_prose(text: str, names: set[str]) -> None:
    assert repo_paths(text) == names


@pytest.mark.parametrize(("line", "history"), [
    pytest.param("# unattended updates (issue 15)", True, id="issue"),
    pytest.param("measured at the end of stop 16", True, id="stop"),
    pytest.param("the seed's rule", True, id="seed"),
    pytest.param("Today's remote sends a log", True, id="today"),
    pytest.param("Against the code before the fix: it failed", True, id="before-the-fix"),
    pytest.param("the shipped remote sends a log", False, id="plain"),
    pytest.param("an issue with the network", False, id="word-issue"),
])
def test_history_words_are_recognised(line: str, history: bool) -> None:
    assert bool(HISTORY.search(line)) is history
