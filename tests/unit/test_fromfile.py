"""Installing from a file, the pure parts: the version a file name gives, what `import` plans from a directory
listing, which checksums a file must match, and which `docker save` archives a container takes."""

from __future__ import annotations

import hashlib
import json

import pytest

from dunebugger_units.config import parse_config
from dunebugger_units.download import ChecksumError
from dunebugger_units.errors import Refused, UnitsError
from dunebugger_units.fromfile import plan_import, version_from_name
from dunebugger_units.kinds.file_checks import checksums_beside, index_names, judge_saved_image, saved_images
from dunebugger_units.signatures import SignatureError, SignedSums

CONFIG = parse_config({})
CUSTOM = parse_config({"components": {"core": {"asset_pattern": "core_v{version}-armhf.tgz"}}})
DIGEST = hashlib.sha256(b"release").hexdigest()
OTHER = hashlib.sha256(b"other").hexdigest()
NAMES = [
    pytest.param("core", "dunebugger-1.3.0.tar.gz", "1.3.0", id="core-asset"),
    pytest.param("core", "dunebugger-v1.3.0.tar.gz", "1.3.0", id="core-asset-with-v"),
    pytest.param("core", "dunebugger-1.3.0-beta.2.tar.gz", "1.3.0-beta.2", id="core-prerelease"),
    pytest.param("core", "dunebugger-.tar.gz", None, id="core-no-version"),
    pytest.param("core", "dunebugger-latest.tar.gz", None, id="core-not-a-version"),
    pytest.param("core", "dunebugger-1.3.0.tar", None, id="core-other-suffix"),
    pytest.param("core", "dunebugger-1.3.0.tar.gz.sha256", None, id="core-checksum-file"),
    pytest.param("core", "dunebugger-../1.3.0.tar.gz", None, id="core-path-in-version"),
    pytest.param("scheduler", "scheduler-1.3.0.tar", "1.3.0", id="container-save"),
    pytest.param("scheduler", "remote-1.3.0.tar", None, id="container-other-component"),
    pytest.param("scheduler", "scheduler-1.3.0.tar.gz", None, id="container-compressed"),
    pytest.param("scheduler", "scheduler-1.3.0.tar.sha256", None, id="container-checksum-file"),
    pytest.param("remote", "remote-2.0.0-rc.1.tar", "2.0.0-rc.1", id="remote-prerelease"),
]


@pytest.mark.parametrize(("component", "name", "version"), NAMES)
def test_the_version_comes_from_the_name_the_release_gives_the_file(component: str, name: str,
                                                                     version: str | None) -> None:
    assert version_from_name(CONFIG.component(component), name) == version


def test_the_version_follows_the_configured_asset_pattern() -> None:
    core = CUSTOM.component("core")
    assert version_from_name(core, "core_v1.4.0-armhf.tgz") == "1.4.0"
    assert version_from_name(core, "dunebugger-1.4.0.tar.gz") is None


IMPORTS = [
    pytest.param(["dunebugger-1.3.0.tar.gz", "dunebugger-1.3.0.tar.gz.sha256", "scheduler-1.3.0.tar",
                  "scheduler-1.3.0.tar.sha256", "remote-1.2.0.tar", "SHA256SUMS", "README.txt"],
                 [("remote", "remote-1.2.0.tar"), ("scheduler", "scheduler-1.3.0.tar"),
                  ("core", "dunebugger-1.3.0.tar.gz")], id="all-three-in-order"),
    pytest.param(["dunebugger-1.3.0.tar.gz", "dunebugger-1.3.0.tar.gz.sha256"],
                 [("remote", None), ("scheduler", None), ("core", "dunebugger-1.3.0.tar.gz")], id="core-only"),
    pytest.param(["notes.txt", "SHA256SUMS"], [("remote", None), ("scheduler", None), ("core", None)],
                 id="nothing-to-install"),
]
ORDER = ["remote", "scheduler", "core"]


@pytest.mark.parametrize(("names", "plan"), IMPORTS)
def test_import_plans_one_file_per_component_in_the_order_given(names: list[str],
                                                                 plan: list[tuple[str, str | None]]) -> None:
    assert plan_import([CONFIG.component(n) for n in ORDER], names) == plan


def test_import_refuses_two_versions_of_one_component() -> None:
    with pytest.raises(Refused, match=r"importing scheduler: more than one release file \(scheduler-1.2.0.tar, "
                                         r"scheduler-1.3.0.tar\)"):
        plan_import([CONFIG.component(n) for n in ORDER], ["scheduler-1.3.0.tar", "scheduler-1.2.0.tar"])


NAME = "dunebugger-1.3.0.tar.gz"
SIDECAR = f"{DIGEST}  {NAME}\n"
SUMS = f"{DIGEST}  {NAME}\n{OTHER}  scheduler-1.3.0.tar\n"
SIGNED = SignedSums("v1.3.0", {NAME: DIGEST})
CHECKSUMS = [
    pytest.param(SIDECAR, None, None, [f"{NAME}.sha256"], id="sidecar"),
    pytest.param(None, SUMS, None, ["SHA256SUMS"], id="sums-with-signature"),
    pytest.param(SIDECAR, SUMS, None, [f"{NAME}.sha256", "SHA256SUMS"], id="both"),
    pytest.param(None, None, SIGNED, ["the signed SHA256SUMS"], id="signed"),
    pytest.param(SIDECAR, SUMS, SIGNED, [f"{NAME}.sha256", "the signed SHA256SUMS"], id="signed-wins-over-sums"),
    pytest.param(None, None, None, [], id="none: allow_missing_checksum decides"),
]


@pytest.mark.parametrize(("sidecar", "sums", "signed", "sources"), CHECKSUMS)
def test_a_file_must_match_every_checksum_beside_it(sidecar: str | None, sums: str | None,
                                                    signed: SignedSums | None, sources: list[str]) -> None:
    found = checksums_beside(NAME, sidecar, sums, signed)
    assert [c.source for c in found] == sources
    assert {c.sha256 for c in found} <= {DIGEST}


def test_a_file_a_checksum_list_does_not_name_is_refused() -> None:
    with pytest.raises(ChecksumError, match=f"{NAME} is not listed in the SHA256SUMS beside it"):
        checksums_beside(NAME, None, f"{OTHER}  scheduler-1.3.0.tar\n", None)
    with pytest.raises(SignatureError, match=f"{NAME} is not listed in the signed SHA256SUMS"):
        checksums_beside(NAME, SIDECAR, None, SignedSums("v1.3.0", {"scheduler-1.3.0.tar": OTHER}))


REF = "localhost:5000/dunebugger-scheduler:1.3.0"
SAVED = [
    pytest.param([[REF]], None, id="one-image-right-tag"),
    pytest.param([["localhost:5000/dunebugger-scheduler:1.2.0"]], f"its image is tagged "
                 f"localhost:5000/dunebugger-scheduler:1.2.0, not {REF}", id="other-version"),
    pytest.param([["localhost:5000/dunebugger-remote:1.3.0"]], "its image is tagged "
                 f"localhost:5000/dunebugger-remote:1.3.0, not {REF}", id="other-repository"),
    pytest.param([[REF, "busybox:latest"]], f"its image is tagged {REF}, busybox:latest, not {REF}",
                 id="an-extra-tag"),
    pytest.param([[]], f"its image is tagged nothing, not {REF}", id="untagged"),
    pytest.param([[REF], [REF]], "it holds 2 images, not one", id="two-images"),
]


@pytest.mark.parametrize(("images", "why"), SAVED)
def test_a_docker_save_must_hold_one_image_tagged_with_the_target(images: list[list[str]], why: str | None) -> None:
    assert judge_saved_image(images, REF) == why


def test_docker_hub_names_are_compared_in_their_short_form() -> None:
    assert judge_saved_image([["busybox:1.3.0"]], "docker.io/library/busybox:1.3.0") is None


def test_the_tags_come_from_the_archives_manifest_json() -> None:
    manifest = json.dumps([{"Config": "blobs/sha256/ab", "RepoTags": [REF], "Layers": []}]).encode()
    assert saved_images(manifest) == [[REF]]
    with pytest.raises(UnitsError, match="not a list of images"):
        saved_images(b'{"RepoTags": []}')


def test_a_name_index_json_gives_besides_the_target_is_refused() -> None:
    index = json.dumps({"schemaVersion": 2, "manifests": [
        {"digest": "sha256:aa", "annotations": {"io.containerd.image.name": REF,
                                                "org.opencontainers.image.ref.name": "1.3.0"}},
        {"digest": "sha256:bb", "annotations": {"io.containerd.image.name": "localhost:5000/dunebugger-remote:1.0.0"}},
        {"digest": "sha256:cc"}]}).encode()
    assert index_names(index) == [REF, "localhost:5000/dunebugger-remote:1.0.0"]
    assert judge_saved_image([[REF]], REF, index_names(index)) == ("its index.json also names "
                                                                   "localhost:5000/dunebugger-remote:1.0.0")
    assert judge_saved_image([[REF]], REF, [REF]) is None
    assert index_names(None) == []
