"""The one compose parser: reading a service's image, image references, the tag edit and the dry-run diff.

`check`, `status` and the update all read the compose file through `read_compose_text` and `service_image`,
so they cannot disagree. Everything but `read_compose_text` is pure: text in, text out.

The edit uses ruamel.yaml's round-trip parser, which records where each scalar sits in the text: the new
scalar is written at exactly that spot, in the old one's quoting, and nothing else moves. Re-emitting the
whole document would not do: the emitter re-aligns trailing comments, re-indents lists and drops CRLF line
ends. The result is then parsed again and must equal the old document with only that one image changed.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UnitsError
from .versions import strip_v

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


# ---- the edit ---------------------------------------------------------------------------------------------


def _yaml() -> Any:
    from ruamel.yaml import YAML  # deferred: keeps `--help` fast on a Pi

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    return yaml


def load(text: str) -> Any:
    """Round-trip load; ComposeEditError when it is not a compose file with services."""
    from ruamel.yaml.error import YAMLError

    try:
        doc = _yaml().load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ComposeEditError(f"compose file is not valid YAML{where}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("services"), dict):
        raise ComposeEditError("compose file has no services")
    return doc


def service_image(text: str, service: str) -> str:
    """The image of `service` in the compose text."""
    return _image_of(load(text), service)


def _image_of(doc: Any, service: str) -> str:
    entry = doc["services"].get(service)
    if not isinstance(entry, dict):
        raise ComposeEditError(f"compose file has no service {service!r}")
    image = entry.get("image")
    if not isinstance(image, str):
        raise ComposeEditError(f"compose service {service!r} has no image")
    return str(image)


def set_service_image(text: str, service: str, image: str) -> str:
    """`text` with only `services.<service>.image` changed to `image`, keeping its quoting."""
    parse_image_ref(image)
    doc = load(text)
    old = _image_of(doc, service)
    line, col = doc["services"][service].lc.value("image")
    edited = _splice(text, line, col, old, image)
    expected = doc
    expected["services"][service]["image"] = image
    if load(edited) != expected:
        raise ComposeEditError(f"editing the image of {service!r}: the result differs in more than the image")
    return edited


def _splice(text: str, line: int, col: int, old: str, new: str) -> str:
    """Replace the scalar at (line, col) in place; refused when its source text is not the plain value."""
    lines = text.splitlines(keepends=True)
    source = lines[line]
    for quote in ("", '"', "'"):
        written = f"{quote}{old}{quote}"
        if source.startswith(written, col):
            lines[line] = source[:col] + f"{quote}{new}{quote}" + source[col + len(written):]
            return "".join(lines)
    raise ComposeEditError(f"image on line {line + 1} is written in a form this editor does not change "
                           "(escapes or several lines)")


def unified_diff(before: str, after: str, path: str) -> str:
    """The dry run's view of the edit."""
    return "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                        fromfile=f"{path} (now)", tofile=f"{path} (after update)"))
