"""What the harness raises, shared by its modules."""

from __future__ import annotations

from collections.abc import Sequence

INSTALL_HINT = "run `bash scripts/install-test-deps.sh` as root to install the test dependencies"


class HarnessError(RuntimeError):
    """The harness itself could not do what was asked (boot, teardown, docker start)."""


class CommandFailed(HarnessError):
    """A command run inside the harness exited non-zero or timed out."""

    def __init__(self, argv: Sequence[str], returncode: int | None, stdout: str, stderr: str) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        status = "timed out" if returncode is None else f"exited {returncode}"
        super().__init__(
            f"running {self.argv!r} inside the harness: {status}\n"
            f"--- stdout ---\n{stdout[-4000:]}\n--- stderr ---\n{stderr[-4000:]}"
        )
