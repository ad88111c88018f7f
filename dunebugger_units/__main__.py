"""`python -m dunebugger_units`: the same command as `dunebugger-units`."""

from __future__ import annotations

from .cli import run

run()
