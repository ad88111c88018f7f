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
