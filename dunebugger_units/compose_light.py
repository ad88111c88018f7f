"""A service's image read with PyYAML (already loaded for the configuration) instead of ruamel, for the plain
compose files most devices have: importing ruamel costs more than a person's whole `check` may
(docs/performance.md), and a check only reads.

It answers only where it cannot disagree with compose.py's reader, and returns None everywhere else, so that
compose.py reads the file its one way: any parse error, a tab, a BOM or a line break YAML 1.1 and 1.2 read
differently, a directive, an explicit tag, an alias, a merge key, a key given twice or that is not a plain
string, a date-like scalar ruamel's load would construct, an image in a block scalar or with an escape, or an
image or name that YAML 1.2 could read as something other than a string. tests/unit/test_compose_light.py
holds it to the compose corpus.
"""

from __future__ import annotations

import re
from typing import Any

# a plain scalar that YAML 1.1 or 1.2 may resolve to something other than a string (number, bool, null, date)
# (every number of either version starts with a digit or a dot, after its sign)
_MAYBE_NOT_STR = re.compile(r"[-+]?[0-9.][-+0-9a-fA-FxXoObB._:]*|[~=]?|<<|[-+]?\.(?i:inf|nan)"
                            r"|(?i:y|n|yes|no|on|off|true|false|null)")
_DATE_LIKE = re.compile(r"[0-9]{4}-[0-9]")
_UNSURE_CHARS = ("\t", "\ufeff", "\x85", "\u2028", "\u2029")
_STR = "tag:yaml.org,2002:str"  # a plain scalar's style is None, or "" from the C loader
_STANDARD = ("tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:int",
             "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null")


class _Unsure(Exception):
    """The file has something this reader does not vouch for."""


def plain_service_image(text: str, service: str) -> str | None:
    """The image of `service` as compose.service_image reads it, or None when only that reader may say."""
    if any(char in text for char in _UNSURE_CHARS) or text.lstrip().startswith("%") or "\n%" in text \
            or _MAYBE_NOT_STR.fullmatch(service):
        return None
    import yaml  # deferred: the configuration's parser, loaded by then in a check

    try:
        docs = list(yaml.compose_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
        for doc in docs:
            _vouch(doc, set())
        image = _image(docs, service)
    except (_Unsure, RecursionError, yaml.YAMLError):
        return None  # a parser error too: compose.py names it in its own words
    if image.style == '"' and "\\" in text:
        return None  # an escape: YAML 1.1 and 1.2 know slightly different ones
    return str(image.value)


def _vouch(node: Any, seen: set[int]) -> None:
    """Raise _Unsure at the first node the two readers might read apart."""
    if node is None:
        return
    if id(node) in seen:
        raise _Unsure  # an alias: the composer hands back the anchored node
    seen.add(id(node))
    if node.tag not in _STANDARD:
        raise _Unsure
    if node.id == "scalar":
        if not node.style and _DATE_LIKE.match(node.value):
            raise _Unsure
        return
    if node.id == "sequence":
        for item in node.value:
            _vouch(item, seen)
        return
    keys = set()
    for key, value in node.value:
        if key.id != "scalar" or key.tag != _STR or key.value in keys or _MAYBE_NOT_STR.fullmatch(key.value):
            raise _Unsure
        keys.add(key.value)
        _vouch(key, seen)
        _vouch(value, seen)


def _get(node: Any, key: str) -> Any | None:
    if node is None or node.id != "mapping":
        return None
    return next((value for k, value in node.value if k.value == key), None)


def _image(docs: list[Any], service: str) -> Any:
    """As compose._locate: the last document whose `services.<service>` is a mapping that sets `image`."""
    found = None
    for doc in docs:
        services = _get(doc, "services")
        entry = _get(services, service) if services is not None and services.id == "mapping" else None
        if entry is not None and entry.id == "mapping":
            image = _get(entry, "image")
            if image is not None or found is None:
                found = image
    if found is None or found.id != "scalar" or found.tag != _STR or found.style not in ("", None, "'", '"'):
        raise _Unsure  # no service, no image, not a string: compose.py says which, in its words
    if not found.style and _MAYBE_NOT_STR.fullmatch(found.value):
        raise _Unsure
    return found
