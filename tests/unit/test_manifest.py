from __future__ import annotations

import pytest

from dunebugger_units.manifest import MAX_MANIFEST_BYTES, ManifestInvalid, load_manifest_text

GOOD = b"""
version: 1.2.0
component_type: container
min_remote_version: 1.0.0-beta.8
pre_update_checks:
  disk_space: {minimum_mb: 800}
  service_running: true
post_update_checks:
  container_running: true
  health_endpoint: {url: "http://localhost:8080/health", timeout: 30, expected_status: 200}
  version_check: true
"""


def test_good_manifest() -> None:
    manifest = load_manifest_text(GOOD, "test")
    assert manifest.min_free_mb == 800
    assert manifest.min_remote_version == "1.0.0-beta.8"
    assert manifest.health_url == "http://localhost:8080/health"
    assert manifest.health_timeout == 30
    assert manifest.require_service_running is True


def test_empty_manifest_is_defaults() -> None:
    assert load_manifest_text(b"", "test").min_free_mb is None


BAD = [
    pytest.param(b"!!python/object/apply:os.system ['true']", "not valid YAML", id="python-tag"),
    pytest.param(b"commands: [rm -rf /]", "commands: unknown key", id="commands-key"),
    pytest.param(b"pre_update_checks: {disk_space: {minimum_mb: lots}}", "expected an integer", id="wrong-type"),
    pytest.param(b"pre_update_checks: {disk_space: {minimum_mb: true}}", "expected an integer", id="bool-for-int"),
    pytest.param(b"min_remote_version: soon", "is not a version", id="bad-version"),
    pytest.param(b"component_type: vm", "unknown type 'vm'", id="bad-type"),
    pytest.param(b"post_update_checks: {health_endpoint: {url: 'file:///etc/shadow'}}", "http(s) URL", id="file-url"),
    pytest.param(b"- a\n- b\n", "expected a mapping", id="list"),
    pytest.param(b"a: &a [x,x,x,x]\nb: &b [*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b]\nd: [*c,*c,*c,*c]\n",
                 "a: unknown key", id="alias-bomb"),
    pytest.param(b"#" * (MAX_MANIFEST_BYTES + 1), "larger than", id="huge"),
    pytest.param(b"image_digest: latest", "expected sha256:<64 hex digits>", id="digest-not-a-digest"),
    pytest.param(b"image_digest: 'sha256:" + b"A" * 64 + b"'", "expected sha256", id="digest-upper-hex"),
    pytest.param(b"image_digest: 5", "expected a digest", id="digest-int"),
]


def test_image_digest_is_read() -> None:
    digest = "sha256:" + "0123456789abcdef" * 4
    assert load_manifest_text(f"image_digest: {digest}\n".encode(), "test").image_digest == digest


@pytest.mark.parametrize(("data", "message"), BAD)
def test_bad_manifests_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(ManifestInvalid) as info:
        load_manifest_text(data, "test")
    assert message in str(info.value)


FOREIGN: list[object] = [
    pytest.param(None, "http://127.0.0.1:8080/health", None, id="no-url-in-manifest"),
    pytest.param("http://127.0.0.1:8080/healthz", "http://127.0.0.1:8080/health", None, id="same-host-other-path"),
    pytest.param("http://127.0.0.1:9999/health", "http://127.0.0.1:8080/health", "is not on", id="other-port"),
    pytest.param("http://169.254.169.254/latest", "http://127.0.0.1:8080/health", "is not on", id="metadata-host"),
    pytest.param("https://127.0.0.1:8080/health", "http://127.0.0.1:8080/health", "is not on", id="other-scheme"),
    pytest.param("http://localhost:5000/health", None, None, id="loopback-when-none-configured"),
    pytest.param("http://[::1]:5000/health", None, None, id="ipv6-loopback-when-none-configured"),
    pytest.param("http://evil.example/health", None, "is not on loopback", id="remote-when-none-configured"),
    pytest.param("file:///etc/shadow", None, "plain http(s)", id="file-scheme"),
    pytest.param("http://u:p@127.0.0.1:8080/health", "http://127.0.0.1:8080/health", "plain http(s)",
                 id="credentials"),
    pytest.param("http://127.0.0.1:99999/health", "http://127.0.0.1:8080/health", "not a URL", id="bad-port"),
]


@pytest.mark.parametrize(("given", "configured", "why"), FOREIGN)
def test_root_probes_only_the_components_own_host(given: str | None, configured: str | None,
                                                   why: str | None) -> None:
    from dunebugger_units.manifest import foreign_health_url

    found = foreign_health_url(given, configured)
    assert found is None if why is None else why in (found or ""), found
