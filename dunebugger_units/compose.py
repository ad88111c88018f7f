"""The one compose parser: reading a service's image, image references, the tag edit and the dry-run diff.

`check`, `status` and the update all read the compose file through `read_compose_text` and `service_image`,
so they cannot disagree; `service_image` takes the answer of compose_light.py (PyYAML, no ruamel to import)
where that reader is sure to agree, and reads with ruamel otherwise. Everything but `read_compose_text` is
pure: text in, text out.

The edit uses ruamel.yaml's round-trip parser, which records where each scalar sits in the text: the new
scalar is written at exactly that spot, in the old one's quoting, and nothing else moves. Re-emitting the
whole document would not do: the emitter re-aligns trailing comments, re-indents lists and drops CRLF line
ends. The result is then parsed again and must equal the old document with only that one image changed.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UnitsError
from .versions import strip_v
from .yamlerror import yaml_error

# The grammar of github.com/distribution/reference (reference.go): [domain[:port]/]path[:tag][@digest]
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_TAG = r"[\w][\w.-]{0,127}"
_REFERENCE = re.compile(  # ASCII: \w in a tag is [A-Za-z0-9_] only
    rf"^(?P<name>(?:(?P<domain>{_DOMAIN})/)?{_COMPONENT}(?:/{_COMPONENT})*)"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{{32,}}))?",
    re.ASCII,
)
MAX_NAME = 255
MAX_FILE_BYTES = 1024 * 1024


class ComposeEditError(UnitsError):
    """The compose file cannot be read or edited safely; nothing was written."""


def read_compose_text(path: Path) -> str:
    """The compose file's text, line ends as they are (at most MAX_FILE_BYTES); UnitsError names the file
    and why not."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise UnitsError(f"reading compose file {path}: it does not exist") from None
    except OSError as exc:
        raise UnitsError(f"reading compose file {path}: {exc.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise UnitsError(f"reading compose file {path}: larger than {MAX_FILE_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnitsError(f"reading compose file {path}: not UTF-8 (byte {exc.start})") from None


def image_tag(ref: str) -> str | None:
    """`ghcr.io/o/x:1.0.0` -> `1.0.0`, also when pinned (`x:1.0.0@sha256:...`); None when there is no tag
    (`x@sha256:...`; the registry's port is no tag)."""
    name = ref.split("@", 1)[0].rsplit("/", 1)[-1]
    return name.split(":", 1)[1] if ":" in name else None


@dataclass(frozen=True)
class ImageRef:
    repository: str  # with the registry, e.g. 127.0.0.1:5000/dunebugger-scheduler
    tag: str | None
    digest: str | None = None

    def __str__(self) -> str:
        out = self.repository
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out


def parse_image_ref(ref: str) -> ImageRef:
    """Split a reference into repository, tag and digest; ComposeEditError says what is wrong with it."""
    match = _REFERENCE.fullmatch(ref)
    if match is None:
        raise ComposeEditError(f"image reference {ref!r} is not well-formed")
    name, domain = match["name"], match["domain"]
    # Docker reads a first part without '.', ':' or "localhost" as a path on Docker Hub, never a registry,
    # and paths are lowercase.
    if domain and not ("." in domain or ":" in domain or domain == "localhost") and domain != domain.lower():
        raise ComposeEditError(f"image reference {ref!r} is not well-formed: repository names are lowercase")
    if len(name) > MAX_NAME:
        raise ComposeEditError(f"image reference {ref!r}: the name is longer than {MAX_NAME} characters")
    return ImageRef(repository=name, tag=match["tag"], digest=match["digest"])


def target_image(current: str, version: str) -> str:
    """The current image with its tag replaced by the version without its leading `v`.

    `127.0.0.1:5000/x:1.0.0`, `v1.2.0` -> `127.0.0.1:5000/x:1.2.0`. A pinned digest is dropped: it names
    the old image.
    """
    ref = parse_image_ref(current)
    tag = strip_v(version)
    target = f"{ref.repository}:{tag}"
    parsed = parse_image_ref(target)
    if parsed.tag != tag:
        raise ComposeEditError(f"image reference {target!r}: {tag!r} is not a valid tag")
    return target


def without_digest(ref: str) -> str:
    """`x:1.2.0@sha256:...` -> `x:1.2.0`: the local tag of a pinned reference."""
    return ref.split("@", 1)[0]


def choose_digest(repo_digests: list[str], repository: str, wanted: str | None) -> str | None:
    """Pure: the image's digest for `repository` from its RepoDigests (`repo@sha256:...`); with `wanted`
    (a digest the release pins), that one or None when the image does not have it."""
    mine = [entry.split("@", 1)[1] for entry in repo_digests
            if "@" in entry and entry.split("@", 1)[0] == repository]
    if wanted is not None:
        return wanted if wanted in mine else None
    return mine[0] if mine else None


# ---- reading and the edit ----------------------------------------------------------------------------------
#
# Decisions (README, "Compose files the updater reads"):
# - The image is found as `docker compose` finds it: in the last document that sets it (several documents
#   merge like several -f files), directly or through a merge key (`<<: *base`) or an alias (`*image`).
# - It is edited where its text is (the anchor's value, when it comes through one) only when that edit changes
#   nothing but this service's image: the documents are read again and compared, `x-` extension fields
#   aside. Otherwise (an anchor other services use too) the pre-check refuses, naming the line and the
#   services it would also change.
# - An image with variable interpolation (`${TAG}`) is refused: its value comes from .env or the
#   environment, which the updater does not edit.
# - A tab before a comment (or between tokens) is valid YAML 1.2 and `docker compose` accepts it; ruamel's
#   scanner does not. Such a tab is read as a space (same length, so every position stays true); a tab in
#   indentation stays an error, as it is for docker compose.


@dataclass(frozen=True)
class ImageSource:
    """Where a service's image is written in the text."""

    service: str
    value: str
    start: int  # character offsets of the scalar's source text (quotes included)
    end: int
    line: int  # 1-based
    key_line: int  # the line of the service's `image:` or `<<:` through which it comes
    via: str  # "" (written in the service), "an alias of &name" or "the merge key at line N (&name)"
    document: int


def _yaml() -> Any:
    from ruamel.yaml import YAML  # deferred: keeps `--help` fast on a Pi

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    return yaml


_TAB_PROBLEM = "found character '\\t' that cannot start any token"


def _untab(text: str, exc: Any) -> str | None:
    """`text` with the tab the scanner stopped at read as a space, when that tab separates tokens on its
    line (never in indentation); None otherwise."""
    mark = getattr(exc, "problem_mark", None)
    if mark is None or str(getattr(exc, "problem", "")) != _TAB_PROBLEM:
        return None
    index = mark.index
    if not (0 <= index < len(text)) or text[index] != "\t":
        return None
    line_start = max(text.rfind("\n", 0, index), text.rfind("\r", 0, index)) + 1
    if not text[line_start:index].strip(" \t\ufeff"):
        return None  # indentation: a tab there is an error for docker compose too
    return text[:index] + " " + text[index + 1:]


_PARSED: dict[tuple[str, str], tuple[str, list[Any]]] = {}
_PARSING = threading.Lock()
_PARSED_KEPT = 4


def _parse(text: str, how: str) -> tuple[str, list[Any]]:
    """(the text as parsed, its documents): `how` is "compose" (nodes, with their positions) or "load"
    (data, merge keys resolved). ComposeEditError carries the parser's reason and line.

    The last few parses are kept: a check reads the same file for each container, concurrently, and the
    pure-Python parser is most of that read's time (docs/performance.md). Nothing here changes what it was
    given, so one parse serves every reader."""
    with _PARSING:
        if (text, how) not in _PARSED:
            if len(_PARSED) >= _PARSED_KEPT:
                _PARSED.pop(next(iter(_PARSED)))
            _PARSED[(text, how)] = _parse_now(text, how)
        return _PARSED[(text, how)]


def _parse_now(text: str, how: str) -> tuple[str, list[Any]]:
    from ruamel.yaml.error import YAMLError

    for _ in range(text.count("\t") + 1):
        try:
            yaml = _yaml()
            docs = list(yaml.compose_all(text) if how == "compose" else yaml.load_all(text))
        except YAMLError as exc:
            fixed = _untab(text, exc)
            if fixed is None:
                raise ComposeEditError(f"compose file is not valid YAML: {yaml_error(exc)}") from None
            text = fixed
            continue
        except RecursionError:
            raise ComposeEditError("compose file is not valid YAML: nested too deeply") from None
        return text, docs
    raise ComposeEditError("compose file is not valid YAML: too many tabs")  # pragma: no cover


def _mapping_get(node: Any, key: str) -> tuple[Any, Any] | None:
    """(key node, value node) of `key` in a mapping node, written in it (merge keys not followed)."""
    for key_node, value_node in node.value:
        if getattr(key_node, "value", None) == key and key_node.tag.endswith(":str"):
            return key_node, value_node
    return None


def _merged(node: Any) -> list[tuple[Any, Any]]:
    """The mapping nodes a mapping merges in, in precedence order, with the `<<` key node of each."""
    out = []
    for key_node, value_node in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            sources = value_node.value if value_node.id == "sequence" else [value_node]
            out += [(key_node, source) for source in sources if source.id == "mapping"]
    return out


def _find_image(node: Any, depth: int = 0) -> tuple[Any, Any, Any | None] | None:
    """(key node, value node, the `<<` key node it came through) of `image`, as YAML merge resolves it."""
    direct = _mapping_get(node, "image")
    if direct is not None:
        return direct[0], direct[1], None
    if depth > 20:
        return None
    for merge_key, source in _merged(node):
        found = _find_image(source, depth + 1)
        if found is not None:
            return found[0], found[1], merge_key
    return None


def _services(doc: Any) -> Any | None:
    if doc is None or doc.id != "mapping":
        return None
    entry = _mapping_get(doc, "services")
    return entry[1] if entry is not None and entry[1].id == "mapping" else None


# an anchor (`&name`) or a tag (`!!str`) before a scalar's value: part of the node's text, not of its value
_PROPERTIES = re.compile(r"(?:[&!][^\s]*[ \t]+)*")


def _locate(text: str, service: str) -> tuple[str, ImageSource]:
    """(the text as parsed, where the image of `service` is), as docker compose would read it."""
    _parse(text, "load")  # what the composer lets through but docker compose refuses: duplicate keys
    text, docs = _parse(text, "compose")
    services = [(i, s) for i, s in enumerate(_services(d) for d in docs) if s is not None]
    if not services:
        raise ComposeEditError("compose file has no services")
    found: tuple[int, Any] | None = None
    for index, mapping in services:
        entry = _mapping_get(mapping, service)
        if entry is not None and entry[1].id == "mapping":
            image = _find_image(entry[1])
            if image is not None or found is None:
                found = (index, (entry, image))
    if found is None:
        raise ComposeEditError(f"compose file has no service {service!r}")
    document, (entry, image) = found
    if image is None:
        raise ComposeEditError(f"compose service {service!r} has no image (line {entry[0].start_mark.line + 1})")
    key_node, value_node, merge_key = image
    if value_node.id != "scalar" or not value_node.tag.endswith(":str"):
        raise ComposeEditError(f"compose service {service!r}: its image at line "
                               f"{value_node.start_mark.line + 1} is not a string")
    start, end = value_node.start_mark.index, value_node.end_mark.index
    start += len(_PROPERTIES.match(text, start, end)[0])  # type: ignore[index]  # the pattern matches ""
    return text, ImageSource(service=service, value=str(value_node.value), start=start, end=end,
                             line=value_node.start_mark.line + 1,
                             key_line=(merge_key or key_node).start_mark.line + 1,
                             via=_via(value_node, key_node, merge_key), document=document)


def _via(value_node: Any, key_node: Any, merge_key: Any | None) -> str:
    anchor = getattr(value_node, "anchor", None)
    if merge_key is not None:
        return f"the merge key at line {merge_key.start_mark.line + 1}"
    if anchor and value_node.start_mark.line != key_node.start_mark.line:
        return f"an alias of &{anchor} at line {key_node.start_mark.line + 1}"
    return ""


def image_source(text: str, service: str) -> ImageSource:
    """Where the image of `service` is written; ComposeEditError says why it cannot be read."""
    return _locate(text, service)[1]


def service_image(text: str, service: str) -> str:
    """The image of `service` in the compose text, as written (an interpolated one with its `${...}`). A plain
    file is read without ruamel (compose_light.py), with the same answer."""
    from .compose_light import plain_service_image

    quick = plain_service_image(text, service)
    return quick if quick is not None else image_source(text, service).value


def set_service_image(text: str, service: str, image: str) -> str:
    """`text` with only the image of `service` changed to `image`, keeping its quoting; refused (with the line
    and the reason) when the edit would change more than that one service's image."""
    parse_image_ref(image)
    parsed, source = _locate(text, service)
    where = (f"the image of {service!r} (through {source.via}, its value at line {source.line})" if source.via
             else f"the image of {service!r} at line {source.line}")
    if "$" in source.value:
        raise ComposeEditError(f"{where} uses variable interpolation ({source.value!r}): its value comes from "
                               ".env or the environment, which the updater does not edit; write the image "
                               "out in the compose file")
    written = parsed[source.start:source.end]
    quote = written[:1] if written[:1] in ("'", '"') else ""
    if written != f"{quote}{source.value}{quote}":
        raise ComposeEditError(f"{where} is written in a form this editor does not change "
                               "(escapes, a block scalar or several lines)")
    edited = text[:source.start] + f"{quote}{image}{quote}" + text[source.end:]
    also = _also_changed(parsed, parsed[:source.start] + f"{quote}{image}{quote}" + parsed[source.end:],
                         source, image)
    if also:
        raise ComposeEditError(f"{where} would also change {', '.join(also)}: give {service!r} its own "
                               "`image:` line, or edit the file by hand")
    return edited


def _also_changed(before: str, after: str, source: ImageSource, image: str) -> list[str]:
    """What the edit changes besides this service's image, as docker compose reads the file."""
    _, old_docs = _parse(before, "load")
    _, new_docs = _parse(after, "load")
    expected = [_plain(d) for d in old_docs]
    services = expected[source.document]["services"]
    services[source.service] = {**services[source.service], "image": image}
    got = [_plain(d) for d in new_docs]
    if len(got) != len(expected):
        return ["the number of documents"]
    return sorted({d for want, have in zip(expected, got, strict=True) for d in _differences(want, have, "")})


def _plain(value: Any) -> Any:
    """Plain data, merge keys resolved and `x-` extension fields (which compose ignores) left out."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if not str(k).startswith("x-")}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _differences(want: Any, got: Any, path: str) -> list[str]:
    if isinstance(want, dict) and isinstance(got, dict):
        keys = list(dict.fromkeys([*want, *got]))
        return [d for k in keys for d in _differences(want.get(k), got.get(k), f"{path}.{k}" if path else k)]
    if isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        return [d for i, (w, g) in enumerate(zip(want, got, strict=True)) for d in _differences(w, g, f"{path}[{i}]")]
    return [] if want == got else [path or "the document"]


def unified_diff(before: str, after: str, path: str) -> str:
    """The dry run's view of the edit."""
    import difflib  # deferred: only a dry run shows it, and a person's check reads this module

    return "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                        fromfile=f"{path} (now)", tofile=f"{path} (after update)"))
