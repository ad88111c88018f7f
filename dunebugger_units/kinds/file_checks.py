"""The pre-checks of a release installed from a file (fromfile.py), in root's staged copy: its checksums, under
the rules of a download, and for a container the image its `docker save` carries. Nothing changes but the
staging area (a file whose checksum does not match is removed from it).

`checksums_beside`, `saved_images`, `index_names` and `judge_saved_image` are pure.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from .. import compose
from ..download import Checksum, ChecksumError, expected_sha256, sha256_of
from ..errors import UnitsError
from ..files import read_nofollow
from ..fromfile import SMALL_FILE_BYTES
from ..results import CheckOutcome
from ..signatures import SIGNATURE, SUMS, SignatureError, SignedSums, parse_sums
from .base import Found, UpdateContext

if TYPE_CHECKING:
    import tarfile

    from ..fromfile import Staged
    from .container_checks import ContainerFacts

MAX_MANIFEST_JSON = 1024 * 1024
IMAGE_NAME = "io.containerd.image.name"  # the annotation `docker load` names (tags) an image by


def read_beside(staged: Staged, name: str) -> str | None:
    """A small file staged beside the release file, or None when there was none."""
    path = staged.dir / name
    if not path.exists():
        return None
    return read_nofollow(path, SMALL_FILE_BYTES).decode("utf-8", "replace")


def checksums_beside(name: str, sidecar: str | None, sums: str | None, signed: SignedSums | None) -> list[Checksum]:
    """Pure: what the file must match. `sidecar` is `<name>.sha256`; `sums` the SHA256SUMS staged with its
    signature (verified, and then `signed`, when trusted_keys is set)."""
    checksums = expected_sha256(None, sidecar, name)
    if signed is not None:
        digest = signed.digest_of(name)
        if digest is None:
            raise SignatureError(f"{name} is not listed in the signed {SUMS}")
        return [*checksums, Checksum(digest, f"the signed {SUMS}")]
    if sums is not None:
        digest = parse_sums(sums).get(name)
        if digest is None:
            raise ChecksumError(f"{name} is not listed in the {SUMS} beside it")
        checksums.append(Checksum(digest, SUMS))
    return checksums


def verify_staged(ctx: UpdateContext, staged: Staged) -> str:
    """Every checksum beside the file matches root's copy; what verified it. The copy is removed on a mismatch."""
    sums = read_beside(staged, SUMS) if (staged.dir / SIGNATURE).exists() else None
    checksums = checksums_beside(staged.name, read_beside(staged, f"{staged.name}.sha256"), sums, ctx.signed)
    if not checksums:
        if not ctx.config.update.allow_missing_checksum:
            raise ChecksumError(f"no checksum beside {staged.name} (neither {staged.name}.sha256 nor {SUMS} "
                                f"with {SIGNATURE}); refused (update.allow_missing_checksum is off)")
        return "no checksum beside it (allowed by update.allow_missing_checksum)"
    actual = sha256_of(staged.file)
    for checksum in checksums:
        if actual != checksum.sha256:
            staged.file.unlink(missing_ok=True)
            raise ChecksumError(f"verifying {staged.name}: SHA-256 {actual[:12]}… does not match "
                                f"{checksum.sha256[:12]}… from {checksum.source}")
    return " and ".join(c.source for c in checksums) + " verified"


def check_staged_file(ctx: UpdateContext) -> Found[Path]:
    """The release file, verified in root's staging area: the `file` check (a download's `download`)."""
    staged = ctx.local
    if staged is None:
        return CheckOutcome("file", False, "no staged release file"), None
    try:
        verified_by = verify_staged(ctx, staged)
    except (UnitsError, OSError) as exc:
        return CheckOutcome("file", False, str(exc)), None
    return CheckOutcome("file", True, f"{staged.source}: {verified_by}"), staged.file


# ---- a container's docker save ------------------------------------------------------------------------------

def saved_images(manifest_json: bytes) -> list[list[str]]:
    """Pure: the RepoTags of each image in a `docker save` archive's manifest.json."""
    try:
        entries = json.loads(manifest_json)
    except ValueError:
        raise UnitsError("manifest.json is not JSON") from None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise UnitsError("manifest.json is not a list of images")
    return [[str(tag) for tag in (e.get("RepoTags") or [])] for e in entries]


def index_names(index_json: bytes | None) -> list[str]:
    """Pure: the image names an OCI index.json (a `docker save` of docker 25 and later) annotates: a load tags
    each of them as well."""
    try:
        manifests = json.loads(index_json).get("manifests") if index_json else []
    except (ValueError, AttributeError):
        raise UnitsError("index.json is not a JSON object") from None
    return [str(m["annotations"][IMAGE_NAME]) for m in manifests or []
            if isinstance(m, dict) and isinstance(m.get("annotations"), dict) and IMAGE_NAME in m["annotations"]]


def familiar(ref: str) -> str:
    """`docker.io/library/busybox:1` and `busybox:1` are one image (docker save writes the short form)."""
    for prefix in ("docker.io/library/", "docker.io/"):
        if ref.startswith(prefix):
            return ref.removeprefix(prefix)
    return ref


def judge_saved_image(images: list[list[str]], expected: str, names: list[str] | None = None) -> str | None:
    """Pure: None when the archive holds one image, tagged exactly `expected` (in manifest.json and in the
    names index.json annotates); else why it is refused (a load would add or move tags nobody asked for)."""
    if len(images) != 1:
        return f"it holds {len(images)} images, not one"
    tags = [familiar(tag) for tag in images[0]]
    if tags != [familiar(expected)]:
        return f"its image is tagged {', '.join(tags) or 'nothing'}, not {expected}"
    if others := sorted({familiar(name) for name in names or []} - {familiar(expected)}):
        return f"its index.json also names {', '.join(others)}"
    return None


def read_saved_index(path: Path) -> tuple[bytes, bytes | None]:
    """The archive's manifest.json, and its index.json when it has one."""
    import tarfile  # deferred: a person's check imports the kinds, never reads an archive (docs/performance.md)

    try:
        with tarfile.open(path, "r:") as tar:
            names = set(tar.getnames())
            if "manifest.json" not in names:
                raise UnitsError("no manifest.json: not a docker save archive")
            return _small(tar, "manifest.json"), _small(tar, "index.json") if "index.json" in names else None
    except (tarfile.TarError, OSError) as exc:
        raise UnitsError(f"not a tar archive ({exc})") from None


def _small(tar: tarfile.TarFile, name: str) -> bytes:
    member = tar.getmember(name)
    handle = tar.extractfile(member) if member.isfile() and member.size <= MAX_MANIFEST_JSON else None
    if handle is None:
        raise UnitsError(f"its {name} is not a small regular file")
    return handle.read()


def check_saved_image(ctx: UpdateContext, facts: ContainerFacts) -> list[CheckOutcome]:
    """The staged `docker save` archive: verified, one image, tagged with the compose file's repository and the
    target version; a compose entry pinned by digest cannot take it (a loaded image has no registry digest)."""
    outcome, path = check_staged_file(ctx)
    if path is None:
        return [outcome]
    if compose.parse_image_ref(facts.image_from).digest is not None:
        return [outcome, CheckOutcome("image file", False, f"{facts.image_from} is pinned by digest: a loaded "
                                                           "image has no registry digest to pin")]
    try:
        manifest, index = read_saved_index(path)
        why = judge_saved_image(saved_images(manifest), facts.image_to, index_names(index))
    except UnitsError as exc:
        why = str(exc)
    if why is not None:
        return [outcome, CheckOutcome("image file", False, f"{path.name}: {why}")]
    return [outcome, CheckOutcome("image file", True, f"{path.name} holds {facts.image_to}")]
