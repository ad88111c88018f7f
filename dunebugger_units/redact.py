"""Credentials out of what people read: a URL's user info is replaced before it reaches a result, a dry-run
plan or the journal (a private index may be configured as `https://user:token@host/simple`)."""

from __future__ import annotations

import re

# scheme://userinfo@ -> scheme://***@ ; userinfo never contains '/', '@' or whitespace
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")


def redact_credentials(text: str) -> str:
    """Pure: `text` with the user info of every URL in it replaced by `***`."""
    return _USERINFO.sub(r"\g<scheme>***@", text)
