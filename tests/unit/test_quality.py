"""The code reads as STYLE.md asks: ruff's broad rule set with a complexity cap, and mypy --strict."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
BIN = Path(sys.executable).parent


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=300, check=False)


def test_ruff_is_clean() -> None:
    result = run(str(BIN / "ruff"), "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean() -> None:
    result = run(str(BIN / "mypy"), "--no-incremental", "dunebugger_units")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_module_starts_with_future_annotations() -> None:
    missing = [str(p.relative_to(REPO)) for p in (REPO / "dunebugger_units").rglob("*.py")
               if p.stat().st_size and "from __future__ import annotations" not in p.read_text()]
    assert missing == []
