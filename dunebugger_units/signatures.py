"""Authenticity: a release's checksum list, signed with a maintainer's OpenPGP key and verified with gpgv.

Opt-in through `trusted_keys` (an OpenPGP keyring file). When it is set, every release must carry
`SHA256SUMS` and `SHA256SUMS.gpg` (a detached signature of it), as apt and systemd-sysupdate use. gpgv checks
the signature against that keyring alone, before anything is staged; every file the update then uses (core's
tarball, the update manifest) must be listed there with its SHA-256. A SHA-256 published beside a tarball only
proves the download is whole; the signature proves who made it.

A signed list must also name the release it belongs to, or a list signed for another component or an older tag
would vouch for this one: it lists a versioned asset of this repository (`dunebugger-1.3.0.tar.gz` for
`marco-svitol/dunebugger` v1.3.0), or it carries the line `# release marco-svitol/dunebugger v1.3.0`.

`parse_sums`, `names_release` and `manifest_coverage` are pure; `verify_signature` runs gpgv; `gather_signed`
fetches.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import Refused

if TYPE_CHECKING:
    from .github import Release

SUMS = "SHA256SUMS"
SIGNATURE = "SHA256SUMS.gpg"
MANIFEST = "update-manifest.yaml"
MAX_SUMS_BYTES = 64 * 1024
GPGV_DEADLINE = 60.0
_LINE = re.compile(r"^([0-9a-fA-F]{64}) [ *]?(\S.*)$")


class SignatureError(Refused):
    """The release is unsigned, badly signed, or a file it uses is not covered: refused, nothing changed."""


@dataclass(frozen=True)
class SignedSums:
    """The verified SHA256SUMS of one release: file name -> SHA-256 (lowercase hex)."""

    tag: str
    sums: Mapping[str, str]

    def digest_of(self, name: str) -> str | None:
        return self.sums.get(name)


def parse_sums(text: str) -> dict[str, str]:
    """Pure: `sha256sum` output (`<hex>  name` or `<hex> *name`) to name -> digest; other lines are ignored,
    a name listed twice is refused (which one would count?)."""
    sums: dict[str, str] = {}
    for raw in text.splitlines():
        match = _LINE.match(raw.strip())
        if match is None:
            continue
        digest, name = match.group(1).lower(), match.group(2).strip().removeprefix("./")
        if name in sums and sums[name] != digest:
            raise SignatureError(f"{SUMS}: {name} is listed twice with different digests")
        sums[name] = digest
    return sums


def release_line(repo: str, tag: str) -> str:
    """The line that binds a SHA256SUMS to one release (a comment to `sha256sum --check`)."""
    return f"# release {repo} {tag}"


def names_release(text: str, repo: str, tag: str, version: str) -> str | None:
    """Pure: None when the SHA256SUMS `text` names this release (see the module's docstring), else why not."""
    if release_line(repo, tag) in (line.strip() for line in text.splitlines()):
        return None
    stem = f"{repo.rsplit('/', 1)[-1]}-{version}"
    if any(name == stem or name.startswith(f"{stem}.") for name in parse_sums(text)):
        return None
    return (f"the signed {SUMS} does not name release {repo} {tag}: it must list a versioned asset ({stem}.*) "
            f"or carry the line '{release_line(repo, tag)}'")


def unpinned_image(signed: SignedSums | None, image_digest: str | None) -> str | None:
    """Pure: why a container release cannot be trusted as signed, or None. A signature covers files, never a
    tag in a registry: only an image digest in the signed manifest ties the image to the signature."""
    if signed is None or image_digest is not None:
        return None
    return (f"release {signed.tag} is signed, but its {MANIFEST} pins no image_digest: a signed container "
            "release must pin its image by digest (a tag can be moved)")


def manifest_coverage(signed: SignedSums, manifest: bytes | None) -> str | None:
    """Pure: None when the update manifest is what the signature covers (or absent on both sides)."""
    listed = signed.digest_of(MANIFEST)
    if manifest is None:
        return None if listed is None else f"the signed {SUMS} lists {MANIFEST}, but the release has none"
    if listed is None:
        return f"{MANIFEST} is not listed in the signed {SUMS}"
    import hashlib  # deferred: a person's check imports this module, never hashes (docs/performance.md)

    if hashlib.sha256(manifest).hexdigest() != listed:
        return f"{MANIFEST} does not match its SHA-256 in the signed {SUMS}"
    return None


def verify_signature(keyring: Path, sums: bytes, signature: bytes) -> None:
    """gpgv, with only `keyring` trusted (an empty private HOME: no default keyring is ever consulted)."""
    if not keyring.is_file():
        raise SignatureError(f"trusted_keys {keyring}: no such keyring file")
    with tempfile.TemporaryDirectory(prefix="dunebugger-units-gpgv.") as tmp:
        home = Path(tmp)
        (home / SUMS).write_bytes(sums)
        (home / SIGNATURE).write_bytes(signature)
        try:
            done = subprocess.run(
                ["gpgv", "--keyring", str(keyring.resolve()), str(home / SIGNATURE), str(home / SUMS)],
                capture_output=True, text=True, timeout=GPGV_DEADLINE, check=False,
                env={"HOME": str(home), "GNUPGHOME": str(home), "LANG": "C", "PATH": "/usr/bin:/bin"})
        except FileNotFoundError:
            raise SignatureError("verifying the release signature: gpgv is not installed") from None
        except subprocess.TimeoutExpired:
            raise SignatureError(f"verifying the release signature: gpgv gave no answer in {GPGV_DEADLINE:g} s") \
                from None
    if done.returncode != 0:
        lines = [ln.strip() for ln in done.stderr.splitlines() if ln.strip()]
        why = next((ln for ln in lines if "BAD signature" in ln or "No public key" in ln), lines[-1] if lines
                   else f"exit {done.returncode}")
        raise SignatureError(f"{SUMS} is not signed by a key in trusted_keys ({why.removeprefix('gpgv: ')})")


def gather_signed(release: Release, repo: str, keyring: Path, fetch: Callable[[str], bytes]) -> SignedSums:
    """Fetch the release's SHA256SUMS and its signature, verify, parse; refused when either is missing, or
    when the list is not this release's."""
    by_name = {asset.name: asset for asset in release.assets}
    missing = [name for name in (SUMS, SIGNATURE) if name not in by_name]
    if missing:
        raise SignatureError(f"release {release.tag} is not signed: no {' or '.join(missing)} asset "
                             "(trusted_keys is set)")
    sums, signature = fetch(by_name[SUMS].url), fetch(by_name[SIGNATURE].url)
    verify_signature(keyring, sums, signature)
    text = sums.decode("utf-8", "replace")
    if (why := names_release(text, repo, release.tag, release.version)) is not None:
        raise SignatureError(why)
    return SignedSums(release.tag, parse_sums(text))
