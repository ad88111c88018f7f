"""The pure rules of signed releases: reading SHA256SUMS, and whether the update manifest is covered."""

from __future__ import annotations

import hashlib

import pytest

from dunebugger_units.signatures import SignatureError, SignedSums, manifest_coverage, parse_sums

A, B = "a" * 64, "b" * 64

SUMS: list[object] = [
    pytest.param(f"{A}  dunebugger-1.2.0.tar.gz\n", {"dunebugger-1.2.0.tar.gz": A}, id="text-mode"),
    pytest.param(f"{A} *dunebugger-1.2.0.tar.gz\n", {"dunebugger-1.2.0.tar.gz": A}, id="binary-mode"),
    pytest.param(f"{A.upper()}  ./x\n", {"x": A}, id="upper-hex-dot-slash"),
    pytest.param(f"# comment\n\n{A}  x\nnot a line\n{B}  y\n", {"x": A, "y": B}, id="noise-ignored"),
    pytest.param(f"{A[:-1]}  x\n", {}, id="short-digest"),
    pytest.param(f"{A}  x\n{A}  x\n", {"x": A}, id="same-line-twice"),
]


@pytest.mark.parametrize(("text", "expected"), SUMS)
def test_parse_sums(text: str, expected: dict[str, str]) -> None:
    assert parse_sums(text) == expected


def test_a_name_listed_twice_differently_is_refused() -> None:
    with pytest.raises(SignatureError, match="listed twice"):
        parse_sums(f"{A}  x\n{B}  x\n")


MANIFEST = b"version: 1.2.0\n"
M = hashlib.sha256(MANIFEST).hexdigest()
COVERAGE: list[object] = [
    pytest.param({"update-manifest.yaml": M}, MANIFEST, None, id="covered"),
    pytest.param({}, None, None, id="none-on-both-sides"),
    pytest.param({}, MANIFEST, "not listed", id="not-listed"),
    pytest.param({"update-manifest.yaml": B}, MANIFEST, "does not match", id="changed"),
    pytest.param({"update-manifest.yaml": M}, None, "the release has none", id="withheld"),
]


@pytest.mark.parametrize(("sums", "manifest", "why"), COVERAGE)
def test_manifest_coverage(sums: dict[str, str], manifest: bytes | None, why: str | None) -> None:
    verdict = manifest_coverage(SignedSums("v1.2.0", sums), manifest)
    assert (verdict is None) if why is None else (verdict is not None and why in verdict)


NAMES: list[object] = [
    pytest.param(f"{A}  dunebugger-1.2.0.tar.gz\n", None, id="versioned-asset"),
    pytest.param(f"# release marco-svitol/dunebugger v1.2.0\n{A}  update-manifest.yaml\n", None, id="release-line"),
    pytest.param(f"{A}  update-manifest.yaml\n", "does not name release", id="nothing-names-it"),
    pytest.param(f"{A}  dunebugger-1.1.0.tar.gz\n", "does not name release", id="older-tag-asset"),
    pytest.param(f"# release marco-svitol/dunebugger v1.1.0\n{A}  x\n", "does not name release", id="older-tag-line"),
    pytest.param(f"# release marco-svitol/dunebugger-scheduler v1.2.0\n{A}  x\n", "does not name release",
                 id="other-component-line"),
    pytest.param(f"{A}  dunebugger-scheduler-1.2.0.tar.gz\n", "does not name release", id="other-component-asset"),
    pytest.param(f"{A}  dunebugger-1.2.0.tar.gz.bak\n", None, id="versioned-asset-any-suffix"),
    pytest.param(f"{A}  dunebugger-1.2.01.tar.gz\n", "does not name release", id="longer-version"),
]


@pytest.mark.parametrize(("text", "why"), NAMES)
def test_names_release(text: str, why: str | None) -> None:
    from dunebugger_units.signatures import names_release

    found = names_release(text, "marco-svitol/dunebugger", "v1.2.0", "1.2.0")
    assert found is None if why is None else why in (found or "")


PINS: list[object] = [
    pytest.param(None, None, None, id="unsigned-release"),
    pytest.param(SignedSums("v1.2.0", {}), "sha256:" + A, None, id="signed-and-pinned"),
    pytest.param(SignedSums("v1.2.0", {}), None, "pins no image_digest", id="signed-by-tag-only"),
]


@pytest.mark.parametrize(("signed", "digest", "why"), PINS)
def test_a_signed_container_release_pins_its_image(signed: SignedSums | None, digest: str | None,
                                                    why: str | None) -> None:
    from dunebugger_units.signatures import unpinned_image

    found = unpinned_image(signed, digest)
    assert found is None if why is None else why in (found or "")
