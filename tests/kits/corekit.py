"""The fixture core app on a real systemd: its wheelhouse, its release tarballs, and a device running 1.0.0.

Shared by tests/system/test_update_core.py and bench/core_downtime.py. The app's source is
tests/fixtures/coreapp; the dependency wheel is built here by hand (a wheel is a zip with three metadata
files), so nothing reaches PyPI. The 1.0.0 install is laid out as the device's installer leaves it: a plain
directory with `.venv` inside and a JSON VERSION, owned by `pi`.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import tarfile
import time
import zipfile
from pathlib import Path
from typing import Any

from kits.buildonce import built
from kits.devicekit import INSIDE, MANIFEST_URL, Device
from kits.harness import Harness
from kits.harness.images import copy_into, save_tree
from kits.standin import GithubStandin

COREAPP = Path(__file__).parent.parent / "fixtures" / "coreapp"
INSIDE_ROOT = Path("/opt/dunebugger")
INSTALL_DIR = INSIDE_ROOT / "core"
WHEELHOUSE = INSIDE_ROOT / "wheelhouse"
HEALTH_URL = "http://127.0.0.1:5000/health"
SERVICE = "dunebugger.service"
DEP = ("dunebugger_fixture_dep", "1.0.0")

# the device's own settings: never what a release tarball ships
DEVICE_SETTINGS = {
    "app/config/dunebugger.conf": "# edited on the device\n[show]\nname = Presepe di Marco\n\n[health]\nport = 5000\n",
    "app/config/gpio.conf": "# only on this device\nrelay_pin = 17\n",
}


def asset(version: str) -> str:
    return f"dunebugger-{version}.tar.gz"


def version_json(version: str) -> str:
    return json.dumps({"version": version, "prerelease": "null", "build_type": "release", "build_number": 1,
                       "commit": "0000000", "full_version": version})


# ---- the wheelhouse -----------------------------------------------------------------------------------


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_wheel(dest: Path) -> Path:
    """dunebugger_fixture_dep-1.0.0-py3-none-any.whl from tests/fixtures/coreapp/dep."""
    name, version = DEP
    info = f"{name}-{version}.dist-info"
    files = {f"{name}/__init__.py": (COREAPP / "dep" / name / "__init__.py").read_bytes(),
             f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name.replace('_', '-')}\nVersion: {version}\n"
                                 .encode(),
             f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: corekit\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = "\n".join([*(_record_line(n, d) for n, d in files.items()), f"{info}/RECORD,,"]) + "\n"
    dest.mkdir(parents=True, exist_ok=True)
    wheel = dest / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, d in files.items():
            zf.writestr(n, d)
        zf.writestr(f"{info}/RECORD", record)
    return wheel


# ---- release tarballs ---------------------------------------------------------------------------------


def release_files(version: str, *, crash: bool = False, extra_requirement: str | None = None) -> dict[str, bytes]:
    """The files of a release as the real ones are laid out (flat: app/, requirements.txt, VERSION, ...)."""
    files = {
        "app/main.py": (COREAPP / "app/main.py").read_bytes(),
        "app/config/dunebugger.conf": (COREAPP / "app/config/dunebugger.conf").read_bytes(),
        "app/config/commands.conf": (COREAPP / "app/config/commands.conf").read_bytes(),
        "requirements.txt": (COREAPP / "requirements.txt").read_bytes()
        + (f"{extra_requirement}\n".encode() if extra_requirement else b""),
        "VERSION": version_json(version).encode(),
        "CHANGELOG.md": f"# {version}\n".encode(),
        "ReadMe.md": b"fixture core app\n",
    }
    if crash:
        files["app/CRASH_AT_START"] = b""
    return files


def tarball(files: dict[str, bytes], raw_names: bool = False) -> bytes:
    """A flat .tar.gz (`./app/...`); `raw_names` keeps names as given (for the unsafe release)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        if not raw_names:
            root = tarfile.TarInfo(".")
            root.type, root.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(root)
        for name, data in files.items():
            info = tarfile.TarInfo(name if raw_names else f"./{name}")
            info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
            info.uid = info.gid = 1001  # an owner that is not the device's: extraction must not keep it
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def publish(gh: GithubStandin, version: str, data: bytes, *, checksum: str = "right") -> None:
    """A release with the tarball and its `.sha256` in sha256sum format (`wrong`: a checksum that lies)."""
    name = asset(version)
    digest = hashlib.sha256(data if checksum == "right" else b"something else").hexdigest()
    gh.add_release("dunebugger", f"v{version}",
                   assets={name: data, f"{name}.sha256": f"{digest}  {name}\n".encode()},
                   digests=checksum == "right")


def publish_all(gh: GithubStandin, versions: list[str]) -> None:
    """1.2.0 good, 1.3.0 crashes, 1.4.0 cannot install, 1.5.0 wrong checksum, 1.6.0 unsafe paths."""
    for version in versions:
        if version == "1.3.0":
            publish(gh, version, tarball(release_files(version, crash=True)))
        elif version == "1.4.0":
            publish(gh, version, tarball(release_files(version, extra_requirement="dunebugger-no-such-dep==9.9")))
        elif version == "1.5.0":
            publish(gh, version, tarball(release_files(version)), checksum="wrong")
        elif version == "1.6.0":
            evil = {**{f"./{k}": v for k, v in release_files(version).items()},
                    "../escaped.txt": b"outside", "/tmp/absolute.txt": b"absolute"}
            publish(gh, version, tarball(evil, raw_names=True))
        else:
            publish(gh, version, tarball(release_files(version)))


# ---- the device -----------------------------------------------------------------------------------------


def updater_config(device: Device, api_url: str, **update: Any) -> dict[str, Any]:
    config = INSIDE.config(api_url, manifest_url=MANIFEST_URL)
    config["components"]["core"].update({
        "install_dir": str(INSTALL_DIR), "health_url": HEALTH_URL, "pip_find_links": [str(WHEELHOUSE)]})
    config["update"] = {"stability_seconds": 3, "health_timeout": 20, "core_min_free_mb": 10, "job_timeout": 60,
                        **update}
    return config


def lay_out_plain_core(device: Device, version: str = "1.0.0") -> None:
    """The installer's layout, on the host side of the bind mount (the venv is built inside)."""
    core = device.core_dir
    for name, data in release_files(version).items():
        target = core / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    for name, text in DEVICE_SETTINGS.items():
        (core / name).write_text(text)
    (core / "app/config/commands.conf").unlink()  # this device never had it: the new default is added
    (core / "logs").mkdir(exist_ok=True)
    (core / "logs/dunebugger.log").write_text("a log line an update must keep\n")
    build_wheel(device.root / "opt/dunebugger/wheelhouse")


def build_venv(h: Harness) -> None:
    """The installed core's .venv, built inside `h` from the wheelhouse as the installer does.

    The first build of a run is saved (kits/buildonce.py) and later harnesses get a copy: a venv is tied to its
    path only, and this one always lives at INSTALL_DIR/.venv, made by the same Python from the same
    requirements.
    """
    venv = f"{INSTALL_DIR}/.venv"
    with built("core-venv") as (saved, there):
        if not there:
            h.run(["python3", "-m", "venv", venv], timeout=120)
            h.run([f"{venv}/bin/python", "-m", "pip", "install", "--no-index", "--find-links", str(WHEELHOUSE),
                   "-q", "--disable-pip-version-check", "-r", f"{INSTALL_DIR}/requirements.txt"], timeout=120)
            save_tree(h.path(venv), saved)
            return
    copy_into(saved, h.path(venv))


def install_core(h: Harness, device: Device, version: str = "1.0.0") -> int:
    """Create pi, build 1.0.0's venv from the wheelhouse, install and start dunebugger.service; pi's uid."""
    lay_out_plain_core(device, version)
    h.run(["useradd", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", "pi"])
    uid = int(h.run(["id", "-u", "pi"]).stdout)
    build_venv(h)
    h.run(["chown", "-R", "pi:pi", str(INSIDE_ROOT)])
    h.write_file(f"/etc/systemd/system/{SERVICE}", (COREAPP / "dunebugger.service").read_bytes())
    h.systemctl("daemon-reload")
    h.systemctl("start", SERVICE)
    wait_healthy(h, version)
    return uid


def health(h: Harness) -> dict[str, Any] | None:
    result = h.run(["curl", "-fsS", "--max-time", "2", HEALTH_URL], check=False, timeout=10)
    return json.loads(result.stdout) if result.returncode == 0 else None


def wait_healthy(h: Harness, version: str, timeout: float = 30) -> dict[str, Any]:
    def answer() -> dict[str, Any] | None:
        body = health(h)
        return body if body and body.get("version") == version else None

    return h.wait_for(answer, timeout, f"core {version} to answer /health")


def service_props(h: Harness, *names: str) -> dict[str, str]:
    out = h.systemctl("show", SERVICE, *(f"--property={n}" for n in names)).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def owners(top: Path) -> set[int]:
    """Every uid under top (links themselves), for "new files belong to pi, not root"."""
    found = {top.lstat().st_uid}
    for root, dirs, files in os.walk(top):
        for entry in (*dirs, *files):
            found.add(os.lstat(os.path.join(root, entry)).st_uid)
    return found
