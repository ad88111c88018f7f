"""gpgv against throw-away keys: a good signature passes; another key, a changed list, garbage and a missing
keyring are refused with a clear reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kits.signkit import Signer, make_signer, sha256sums

from dunebugger_units.signatures import SignatureError, verify_signature

SUMS = sha256sums({"dunebugger-1.2.0.tar.gz": b"tarball", "update-manifest.yaml": b"version: 1.2.0\n"})


@pytest.fixture(scope="module")
def signers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Signer, Signer]]:
    ours = make_signer(tmp_path_factory.mktemp("ours"))
    theirs = make_signer(tmp_path_factory.mktemp("theirs"), name="Someone Else")
    yield ours, theirs
    ours.stop()
    theirs.stop()


def test_good_signature_verifies(signers: tuple[Signer, Signer]) -> None:
    ours, _ = signers
    verify_signature(ours.keyring, SUMS, ours.sign(SUMS))


@pytest.mark.parametrize("case", ["other-key", "changed-list", "garbage", "empty"])
def test_bad_signatures_are_refused(signers: tuple[Signer, Signer], case: str) -> None:
    ours, theirs = signers
    signature = {"other-key": theirs.sign(SUMS), "changed-list": ours.sign(SUMS + b"0" * 64 + b"  extra\n"),
                 "garbage": b"not a signature", "empty": b""}[case]
    with pytest.raises(SignatureError, match="not signed by a key in trusted_keys"):
        verify_signature(ours.keyring, SUMS, signature)


def test_missing_keyring_is_named(tmp_path: Path, signers: tuple[Signer, Signer]) -> None:
    ours, _ = signers
    with pytest.raises(SignatureError, match="no such keyring file"):
        verify_signature(tmp_path / "nowhere.gpg", SUMS, ours.sign(SUMS))
