"""The optional update-manifest.yaml of a release: declarative checks and limits, never commands.

`parse_manifest` is pure; `fetch_manifest` is the I/O (a 404 means the built-in defaults).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import Refused
from .versions import parse_version

MAX_MANIFEST_BYTES = 64 * 1024


@dataclass(frozen=True)
class Manifest:
    version: str | None = None
    component_type: str | None = None
    min_remote_version: str | None = None
    min_free_mb: int | None = None
    require_service_running: bool = False
    health_url: str | None = None
    health_timeout: float | None = None
    health_expected_status: int | None = None
    container_running: bool = True
    service_active: bool = True
    version_check: bool = True
    image_digest: str | None = None  # a container release's image, pinned (sha256:<hex>): pulled by it
    source: str = "built-in defaults"


class ManifestInvalid(Refused):
    pass


LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


def foreign_health_url(manifest_url: str | None, configured_url: str | None) -> str | None:
    """Pure: why root must not probe the manifest's health URL, or None. Root's probe goes only to the
    component's own configured host (scheme, host and port), or to loopback when none is configured: a release
    must not turn root into a client of any host it names."""
    if manifest_url is None:
        return None
    from urllib.parse import urlsplit

    try:
        wanted, given = urlsplit(configured_url or "http://localhost"), urlsplit(manifest_url)
        same = (given.scheme, given.hostname, given.port) == (wanted.scheme, wanted.hostname, wanted.port)
    except ValueError:
        return f"update manifest: health_endpoint.url {manifest_url!r} is not a URL"
    if given.scheme not in ("http", "https") or given.username or given.password:
        return f"update manifest: health_endpoint.url {manifest_url!r}: only a plain http(s) URL is probed"
    if configured_url is None and given.hostname in LOOPBACK:
        return None
    if not same:
        where = f"the component's configured host {wanted.netloc}" if configured_url else "loopback"
        return f"update manifest: health_endpoint.url {manifest_url!r} is not on {where}"
    return None


_TOP = {"version", "component_type", "min_remote_version", "pre_update_checks", "post_update_checks",
        "image_digest"}
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_PRE = {"disk_space", "service_running"}
_POST = {"container_running", "service_active", "health_endpoint", "version_check"}
_HEALTH = {"url", "timeout", "expected_status"}


def _expect(value: object, kind: type | tuple[type, ...], where: str, wanted: str) -> Any:
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise ManifestInvalid(f"update manifest: {where}: expected {wanted}, got {value!r}")
    if not isinstance(value, kind):
        raise ManifestInvalid(f"update manifest: {where}: expected {wanted}, got {type(value).__name__}")
    return value


def _keys(obj: object, allowed: set[str], where: str) -> Mapping[str, Any]:
    mapping = _expect(obj, dict, where, "a mapping")
    for key in mapping:
        if key not in allowed:
            raise ManifestInvalid(f"update manifest: {where}.{key}: unknown key")
    return mapping  # type: ignore[no-any-return]


def parse_manifest(raw: object, source: str) -> Manifest:
    """Validate a loaded manifest document; any unknown key or wrong type refuses the update."""
    top = _keys(raw, _TOP, "manifest")
    pre = _keys(top.get("pre_update_checks") or {}, _PRE, "pre_update_checks")
    post = _keys(top.get("post_update_checks") or {}, _POST, "post_update_checks")
    disk = _keys(pre.get("disk_space") or {}, {"minimum_mb"}, "pre_update_checks.disk_space")
    health = _keys(post.get("health_endpoint") or {}, _HEALTH, "post_update_checks.health_endpoint")
    minimum = top.get("min_remote_version")
    if minimum is not None and parse_version(str(_expect(minimum, str, "min_remote_version", "a version"))) is None:
        raise ManifestInvalid(f"update manifest: min_remote_version: {minimum!r} is not a version")
    from .kinds import KINDS  # deferred: the kinds read the manifest

    kind = top.get("component_type")
    if kind is not None and kind not in KINDS:
        raise ManifestInvalid(f"update manifest: component_type: unknown type {kind!r}")
    url = health.get("url")
    if url is not None and not str(_expect(url, str, "health_endpoint.url", "a URL")).startswith(("http://", "https://")):
        raise ManifestInvalid(f"update manifest: health_endpoint.url: expected an http(s) URL, got {url!r}")

    digest = top.get("image_digest")
    if digest is not None and not _DIGEST.match(str(_expect(digest, str, "image_digest", "a digest"))):
        raise ManifestInvalid(f"update manifest: image_digest: expected sha256:<64 hex digits>, got {digest!r}")

    def opt(value: Any, kind: type | tuple[type, ...], where: str, wanted: str) -> Any:
        return None if value is None else _expect(value, kind, where, wanted)

    return Manifest(
        version=opt(top.get("version"), str, "version", "a string"),
        component_type=kind,
        min_remote_version=minimum,
        min_free_mb=opt(disk.get("minimum_mb"), int, "disk_space.minimum_mb", "an integer"),
        require_service_running=bool(opt(pre.get("service_running"), bool, "service_running", "true/false")),
        health_url=url,
        health_timeout=opt(health.get("timeout"), (int, float), "health_endpoint.timeout", "seconds"),
        health_expected_status=opt(health.get("expected_status"), int, "health_endpoint.expected_status",
                                   "an HTTP status"),
        container_running=opt(post.get("container_running"), bool, "container_running", "true/false") is not False,
        service_active=opt(post.get("service_active"), bool, "service_active", "true/false") is not False,
        version_check=opt(post.get("version_check"), bool, "version_check", "true/false") is not False,
        image_digest=digest,
        source=source,
    )


def load_manifest_text(data: bytes, source: str) -> Manifest:
    import yaml  # deferred: keeps `--help` fast on a Pi

    if len(data) > MAX_MANIFEST_BYTES:
        raise ManifestInvalid(f"update manifest {source}: larger than {MAX_MANIFEST_BYTES} bytes")
    try:
        # safe_load: no Python tags; aliases stay references (no expansion) and the schema walk below
        # only visits known keys, so an alias bomb costs nothing
        raw = yaml.safe_load(data)
    except yaml.YAMLError as exc:
        raise ManifestInvalid(f"update manifest {source}: not valid YAML ({type(exc).__name__})") from None
    return parse_manifest(raw if raw is not None else {}, source)
