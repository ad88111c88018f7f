"""Checksum parsing: `sha256sum` output, the API digest, and which of them count."""

from __future__ import annotations

import pytest

from dunebugger_units.download import (
    ChecksumError,
    expected_sha256,
    parse_api_digest,
    parse_sha256_file,
    percent,
)

H = "a" * 64
G = "b" * 64
NAME = "dunebugger-1.2.0.tar.gz"

SIDECARS = [
    pytest.param(f"{H}  {NAME}\n", H, id="sha256sum-text-mode"),
    pytest.param(f"{H} *{NAME}\n", H, id="sha256sum-binary-mode"),
    pytest.param(f"{H.upper()}  {NAME}", H, id="upper-case"),
    pytest.param(f"{H}\n", H, id="bare-digest"),
    pytest.param(f"{G}  other.tar.gz\n{H}  {NAME}\n", H, id="several-lines"),
    pytest.param(f"{H}  dist/{NAME}\n", H, id="with-a-directory"),
    pytest.param(f"{G}  other.tar.gz\n", None, id="names-another-file"),
    pytest.param(f"{H[:-1]}  {NAME}\n", None, id="short-digest"),
    pytest.param("", None, id="empty"),
    pytest.param(f"# comment\n{H}  {NAME}\n", H, id="comment-line"),
    pytest.param(f"{H}\n{G}\n", None, id="two-bare-digests"),
]


@pytest.mark.parametrize(("text", "digest"), SIDECARS)
def test_parse_sha256_file(text: str, digest: str | None) -> None:
    assert parse_sha256_file(text, NAME) == digest


API = [
    pytest.param(f"sha256:{H}", H, id="sha256"),
    pytest.param(f"SHA256:{H.upper()}", H, id="upper"),
    pytest.param(f"sha512:{H}", None, id="other-algorithm"),
    pytest.param("sha256:xyz", None, id="not-hex"),
    pytest.param(None, None, id="absent"),
]


@pytest.mark.parametrize(("digest", "expected"), API)
def test_parse_api_digest(digest: str | None, expected: str | None) -> None:
    assert parse_api_digest(digest) == expected


def test_both_sources_are_returned_and_both_must_match() -> None:
    found = expected_sha256(f"sha256:{G}", f"{H}  {NAME}", NAME)
    assert [(c.sha256, c.source) for c in found] == [(H, f"{NAME}.sha256"), (G, "the release's asset digest")]


def test_none_published_is_an_empty_list() -> None:
    assert expected_sha256(None, None, NAME) == []


def test_unreadable_sidecar_is_refused_not_ignored() -> None:
    with pytest.raises(ChecksumError, match="no SHA-256 line"):
        expected_sha256(f"sha256:{H}", "garbage", NAME)


@pytest.mark.parametrize(("done", "total", "expected"), [(0, 100, 0), (50, 200, 25), (10, None, None),
                                                        (300, 200, 100)])
def test_percent(done: int, total: int | None, expected: int | None) -> None:
    assert percent(done, total) == expected
