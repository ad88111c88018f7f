from __future__ import annotations

import pytest

from dunebugger_units.versions import is_newer, parse_version

ORDERINGS = [
    pytest.param("1.0.0", "1.0.0-beta.4", True, id="release-above-its-beta"),
    pytest.param("1.0.0-beta.10", "1.0.0-beta.9", True, id="beta10-above-beta9"),
    pytest.param("v1.2.0", "1.0.0", True, id="leading-v-ignored"),
    pytest.param("1.0.0", "v1.0.0", False, id="equal-is-not-newer"),
    pytest.param("1.0.0-beta.4", "1.0.0", False, id="beta-below-release"),
    pytest.param("1.0.0-rc.1", "1.0.0-beta.15", True, id="rc-above-beta"),
    pytest.param("1.10.0", "1.9.9", True, id="numeric-not-lexical"),
    pytest.param("2.0.0", "unknown", True, id="unknown-current-below-all"),
    pytest.param("nightly", "1.0.0", False, id="non-version-candidate-never-newer"),
    pytest.param(None, "1.0.0", False, id="no-candidate"),
    pytest.param("1.0.0-alpha.1", "0.9.0", True, id="alpha-above-older-release"),
]


@pytest.mark.parametrize(("candidate", "current", "expected"), ORDERINGS)
def test_is_newer(candidate: str | None, current: str, expected: bool) -> None:
    assert is_newer(candidate, current) is expected


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        pytest.param("v1.0.0-beta.8", True, id="v-beta"),
        pytest.param("1.0.0", True, id="plain"),
        pytest.param("latest", False, id="latest-tag"),
        pytest.param("release-2024", False, id="word"),
        pytest.param("", False, id="empty"),
        pytest.param("unknown", False, id="unknown"),
    ],
)
def test_parse_version(text: str, ok: bool) -> None:
    assert (parse_version(text) is not None) is ok
