"""Version parsing and ordering: pure functions, no I/O."""

from __future__ import annotations

import re

from packaging.version import InvalidVersion, Version

UNKNOWN = "unknown"
# what a version may look like where it names a directory, an image tag or a request: 1.2.0, v1.0.0-beta.4
PLAIN_VERSION = re.compile(r"^[vV]?[0-9][0-9A-Za-z.+-]{0,63}$")


def strip_v(tag: str) -> str:
    """`v1.2.0` -> `1.2.0`: image tags and VERSION files carry no `v`."""
    tag = tag.strip()
    return tag[1:] if tag[:1] in ("v", "V") else tag


def parse_version(text: str | None) -> Version | None:
    """A semantic version (`1.0.0-beta.4` is PEP 440 `1.0.0b4`), or None when it is not one."""
    if not text or text == UNKNOWN:
        return None
    try:
        return Version(strip_v(text))
    except InvalidVersion:
        return None


def is_newer(candidate: str | None, current: str | None) -> bool:
    """True when `candidate` is a version above `current`; an unknown current is below everything."""
    new = parse_version(candidate)
    if new is None:
        return False
    old = parse_version(current)
    return old is None or new > old


def plain_version(text: object) -> str | None:
    """`text` without its `v` when it is a version in plain characters (safe as a path component), else None."""
    if not isinstance(text, str) or not PLAIN_VERSION.match(text) or ".." in text or parse_version(text) is None:
        return None
    return strip_v(text)
