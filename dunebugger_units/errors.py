"""The error classes and the one exit-code table (mirrored in the README)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0  # done: updated, dry run passed, rolled back, or a rollback or recovery with nothing to do
    UPDATE_FAILED = 1  # the update failed after changing something: OnFailure= starts rollback
    USAGE = 2  # bad arguments (click's own code)
    CONFIG = 3  # the configuration file is unusable
    ROLLBACK_FAILED = 4  # rollback itself failed: manual intervention needed
    CHECK_INCOMPLETE = 5  # one or more components could not be checked
    NEEDS_ROOT = 77  # a person ran, without root, a command that changes the device (EX_NOPERM)
    REFUSED = 75  # refused before changing anything (EX_TEMPFAIL); SuccessExitStatus= in update@


class UnitsError(Exception):
    """An expected failure: one line for people, one exit code for systemd."""

    exit_code: ExitCode = ExitCode.UPDATE_FAILED


class ConfigError(UnitsError):
    exit_code = ExitCode.CONFIG


class StateError(UnitsError):
    exit_code = ExitCode.CONFIG


class CheckFailed(UnitsError):
    """One component's release lookup failed; the others go on."""

    exit_code = ExitCode.CHECK_INCOMPLETE


class RateLimited(CheckFailed):
    def __init__(self, until: str) -> None:
        super().__init__(f"rate limited until {until}")
        self.until = until


class NeedsRoot(UnitsError):
    exit_code = ExitCode.NEEDS_ROOT


class Cancelled(BaseException):  # not an error: like KeyboardInterrupt, it must pass `except Exception`
    """The run was stopped (SIGTERM from `systemctl stop`, or Ctrl-C): the skeleton records it as cancelled."""


class Refused(UnitsError):
    """Refused before anything on the device changed."""

    exit_code = ExitCode.REFUSED


class PostCheckFailed(UnitsError):
    """A required post-update check failed: the update is rolled back."""


class UpToDate(Refused):
    """Nothing to install: the run ends `unchanged` and exits 0, as apt and podman do."""

    exit_code = ExitCode.OK
