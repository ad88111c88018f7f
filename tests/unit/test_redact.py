"""Credentials in configured URLs never reach what people read."""

from __future__ import annotations

import pytest

from dunebugger_units.redact import redact_credentials

CASES = [
    pytest.param("https://user:s3cret@pypi.example/simple", "https://***@pypi.example/simple", id="user-password"),
    pytest.param("https://tok3n@pypi.example/simple", "https://***@pypi.example/simple", id="token-only"),
    pytest.param("--index-url https://a:b@x/simple ERROR: no", "--index-url https://***@x/simple ERROR: no",
                 id="inside-a-line"),
    pytest.param("https://pypi.example/simple", "https://pypi.example/simple", id="no-credentials"),
    pytest.param("mail me@example.org", "mail me@example.org", id="not-a-url"),
    pytest.param("a https://u:p@h/ and http://v:q@k/", "a https://***@h/ and http://***@k/", id="two-urls"),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_redact_credentials(text: str, expected: str) -> None:
    assert redact_credentials(text) == expected
    assert "s3cret" not in redact_credentials(text)
