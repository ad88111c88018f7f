"""`dunebugger-remote-requests [UPDATES_DIR]`: what dunebugger-remote-requests.service runs, as root, each time
the remote leaves a request file. It answers every request there, then exits (fileserve.serve)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .. import journal
from ..config import config_path, load_config
from ..errors import ExitCode, UnitsError
from .fileserve import serve

NAME = "dunebugger-remote-requests"
UPDATES_DIR = "/var/dunebugger/updates"


def main() -> None:
    journal.set_identifier(NAME)
    if os.geteuid() != 0:
        print(f"{NAME}: needs root: it starts updates (run it with sudo)", file=sys.stderr)
        raise SystemExit(int(ExitCode.NEEDS_ROOT))
    root = Path(sys.argv[1] if len(sys.argv) > 1 else UPDATES_DIR)
    try:
        config = load_config(config_path(None))
    except UnitsError as exc:
        print(f"{NAME}: {exc}", file=sys.stderr)
        raise SystemExit(int(exc.exit_code)) from None
    raise SystemExit(serve(config, root))
