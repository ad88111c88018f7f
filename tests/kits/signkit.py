"""Throw-away OpenPGP keys for signed releases: made with `gpg --batch --quick-gen-key`, exported as the
keyring file `trusted_keys` names; they sign a release's SHA256SUMS as a maintainer's workflow does."""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Signer:
    home: Path  # its GNUPGHOME (private key inside)
    keyring: Path  # the exported public key: what `trusted_keys` points at

    def _gpg(self, *args: str, data: bytes | None = None) -> bytes:
        done = subprocess.run(["gpg", "--batch", "--yes", "--quiet", "--pinentry-mode", "loopback", "--passphrase",
                               "", *args], input=data, capture_output=True, timeout=120, check=False,
                              env={"GNUPGHOME": str(self.home), "PATH": "/usr/bin:/bin"})
        assert done.returncode == 0, done.stderr.decode()
        return done.stdout

    def sign(self, data: bytes) -> bytes:
        """A detached binary signature (SHA256SUMS.gpg)."""
        return self._gpg("--detach-sign", "--output", "-", data=data)

    def stop(self) -> None:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env={"GNUPGHOME": str(self.home), "PATH": "/usr/bin:/bin"},
                       capture_output=True, timeout=30, check=False)


def make_signer(where: Path, name: str = "Dunebugger Test Release Key") -> Signer:
    home = where / "gnupg"
    home.mkdir(parents=True, mode=0o700)
    signer = Signer(home, where / "trusted.gpg")
    signer._gpg("--quick-gen-key", f"{name} <release@example.invalid>", "ed25519", "sign", "never")
    signer.keyring.write_bytes(signer._gpg("--export"))
    return signer


def sha256sums(files: dict[str, bytes]) -> bytes:
    """`sha256sum` output for the files, as a release workflow writes it."""
    return "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in files.items()).encode()
