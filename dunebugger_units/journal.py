"""Structured journal entries over systemd's native protocol, and the MESSAGE_IDs people search for.

One line per event: the sentence first, fields for machines (COMPONENT, PHASE, FROM_VERSION, TO_VERSION, ...).
Outside systemd (no journal socket) the sentence goes to stderr instead. Never pass secrets in here.
"""

from __future__ import annotations

import os
import socket
import struct
import sys
from enum import IntEnum

JOURNAL_SOCKET = "/run/systemd/journal/socket"

# Generated once with `systemd-id128 new`; the catalog in packaging/ describes each.
UPDATE_AVAILABLE = "96a92fa4085347a89076f8c744c2120d"
UPDATE_STARTED = "37a0a93ff7db4683bc0a3beddafcfea5"
UPDATE_SUCCEEDED = "58591517a9024b40a47261ced831e742"
UPDATE_FAILED = "40f137e16de84f66a6894b1c448b0e22"
ROLLBACK_SUCCEEDED = "07d8c492750f4480a88bffaad61c7afe"
ROLLBACK_FAILED = "85aa106f5622477eb521daa338f8624f"
CHECK_FAILED = "c7e937faff2c463f915829db55efc6db"
RECOVERY = "ad3960314b4644b8817c595ca13f5106"
AUTO_DEFERRED = "5ea0e402283b42f4ab4e2b3bcc89951e"
AUTO_SKIPPED = "6759a1827a5b4868ba22c8cc3c1598c8"
AUTO_FINISHED = "b7136baf4579492d8e27a8c6eb1d972d"


class Priority(IntEnum):
    CRIT = 2
    ERR = 3
    WARNING = 4
    NOTICE = 5
    INFO = 6
    DEBUG = 7


_identifier = "dunebugger-units"


def set_identifier(name: str) -> None:
    global _identifier  # noqa: PLW0603  # one process, one identifier, set once by the entry point
    _identifier = name


def encode_fields(fields: dict[str, str]) -> bytes:
    """The native protocol: KEY=value lines; a value with a newline is length-prefixed binary."""
    out = bytearray()
    for key, value in fields.items():
        raw = value.encode("utf-8", "replace")
        if b"\n" in raw:
            out += key.encode() + b"\n" + struct.pack("<Q", len(raw)) + raw + b"\n"
        else:
            out += key.encode() + b"=" + raw + b"\n"
    return bytes(out)


def event(message: str, priority: Priority = Priority.INFO, message_id: str | None = None, **fields: object) -> None:
    """Send one journal entry; extra fields are upper-cased (component= becomes COMPONENT=)."""
    record = {"MESSAGE": message, "PRIORITY": str(int(priority)), "SYSLOG_IDENTIFIER": _identifier}
    if message_id:
        record["MESSAGE_ID"] = message_id
    record.update({key.upper(): str(value) for key, value in fields.items() if value is not None})
    if not _send(encode_fields(record)):
        print(f"{_identifier}: {message}", file=sys.stderr)


def _send(payload: bytes) -> bool:
    path = os.environ.get("DUNEBUGGER_UNITS_JOURNAL_SOCKET", JOURNAL_SOCKET)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(payload, path)
    except OSError:
        return False
    return True
