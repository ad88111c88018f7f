"""Docker inside a harness, and the images of the tests: busybox rootfs dirs, a loopback registry, import and push.

No internet: images are built from the host's static busybox (Debian's busybox-static) and pushed to a no-auth
registry that listens on REGISTRY inside each harness's own network namespace.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import INSTALL_HINT, CommandFailed, HarnessError
from .plumbing import run_killing_group

if TYPE_CHECKING:
    from .machine import Harness

DOCKER_DEADLINE = 60.0
REGISTRY_DIR = "/var/lib/docker-registry"
DATA_ROOT = "/var/lib/docker"
# Not 5000: on the device that is core's health port (http://localhost:5000/health), and the demo runs both.
REGISTRY = "127.0.0.1:5050"

# Applets the test images use; busybox dispatches on argv[0].
BUSYBOX_APPLETS = (
    "sh", "ash", "cat", "echo", "env", "false", "true", "httpd", "wget", "sleep", "ls", "mkdir", "rm",
    "cp", "mv", "grep", "sed", "ps", "kill", "date", "id", "touch", "test", "[", "printf", "head", "tail",
    "nc", "hostname", "uname", "stat", "chmod", "ln", "pwd", "wc", "tr", "cut", "sort", "uptime",
)  # fmt: skip

_REGISTRY_CONFIG = """\
# Written by the test harness: a no-auth registry for test images, reachable only inside the harness.
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: /var/lib/docker-registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:5050
"""


def busybox_rootfs(dest: Path, files: Mapping[str, str | bytes] | None = None) -> Path:
    """Build a tiny image rootfs at `dest` from the host's static busybox (Debian's busybox-static).

    `files` maps paths inside the rootfs to contents, e.g. {"www/index.html": "v1"}.
    """
    busybox = Path("/bin/busybox")
    if not busybox.exists():
        raise HarnessError(f"{busybox} is missing; {INSTALL_HINT}")
    for sub in ("bin", "etc", "tmp", "proc", "sys", "dev", "root", "var/run"):
        (dest / sub).mkdir(parents=True, exist_ok=True)
    (dest / "tmp").chmod(0o1777)
    shutil.copy2(busybox, dest / "bin/busybox")
    for applet in BUSYBOX_APPLETS:
        link = dest / "bin" / applet
        if not link.is_symlink():
            link.symlink_to("busybox")
    (dest / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n")
    (dest / "etc/group").write_text("root:x:0:\nnogroup:x:65534:\n")
    for rel, content in (files or {}).items():
        target = dest / rel.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    return dest


def start_docker(h: Harness, deadline: float = DOCKER_DEADLINE, seed: Path | None = None) -> None:
    """Start the real dockerd and a no-auth registry on REGISTRY inside `h`; wait until both answer. A `seed`
    (a data root saved by `save_docker_data`) is copied into the tmpfs data root first."""
    started = time.monotonic()
    if h.run(["mountpoint", "-q", "/var/lib/docker"], check=False).returncode != 0:
        # overlay2 cannot stack on the /var overlay (dockerd would fall back to slow vfs).
        h.run(["mkdir", "-p", "/var/lib/docker"])
        h.run(["mount", "-t", "tmpfs", "-o", "mode=0711", "tmpfs", "/var/lib/docker"])
        if seed is not None:
            copy_into(seed, h.path(DATA_ROOT))
    # Containers share the harness's network (network_mode: host, as on the device); no bridge, no
    # iptables: nothing to set up, nothing to leak.
    daemon = {"bridge": "none", "iptables": False, "ip6tables": False, "ip-masq": False,
              "storage-driver": "overlay2", "log-driver": "journald"}  # fmt: skip
    h.write_file("/etc/docker/daemon.json", json.dumps(daemon, indent=2) + "\n")
    h.write_file("/etc/docker/registry/config.yml", _REGISTRY_CONFIG)
    h.run(["install", "-d", "-o", "docker-registry", "-g", "docker-registry", REGISTRY_DIR])
    h.systemctl("start", "docker.service", "docker-registry.service", timeout=deadline)
    h.wait_for(lambda: h.run(["docker", "info"], check=False).returncode == 0, deadline, "docker info")
    h.wait_for(
        lambda: h.run(["curl", "-fsS", f"http://{REGISTRY}/v2/"], check=False).returncode == 0,
        deadline,
        f"the registry on {REGISTRY}",
    )
    h.timings["docker_start"] = time.monotonic() - started


def import_image(h: Harness, ref: str, rootfs: Path, cmd: Sequence[str], *, push: bool = True) -> str:
    """`tar -C rootfs -c . | docker import -c 'CMD [...]' - ref` into `h`, then push; return the image ID."""
    with subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE) as tar:
        argv = [*h.nsenter_argv(), "docker", "import", "-c", f"CMD {json.dumps(list(cmd))}", "-", ref]
        result = run_killing_group(argv, timeout=120, env=h.inside_env(None), stdin=tar.stdout)
        assert tar.stdout is not None
        tar.stdout.close()
        tar_rc = tar.wait(timeout=60)
    if tar_rc != 0 or result.returncode != 0:
        raise CommandFailed(["docker", "import", ref], result.returncode, result.stdout, result.stderr)
    if push:
        h.docker("push", ref)
    return h.docker("image", "inspect", "--format", "{{.Id}}", ref).stdout.strip()


def copy_into(src: Path, dest: Path) -> None:
    """Copy what the dir `src` holds into the dir `dest` (made if missing), owners, modes and links as they are.
    `cp -a` does in C what shutil.copytree does file by file in Python: a third of the CPU for a venv."""
    dest.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["cp", "-a", "--no-target-directory", str(src), str(dest)], capture_output=True,
                            text=True, check=False)
    if result.returncode != 0:
        raise HarnessError(f"cp -a {src} {dest}: {result.stderr.strip()}")


def save_tree(src: Path, dest: Path, ignore: Sequence[str] = ()) -> None:
    """Copy the dir `src` to `dest`, which must not exist, whole or not at all (a temp name, then a rename)."""
    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(src, partial, symlinks=True, ignore=shutil.ignore_patterns(*ignore) if ignore else None)
    partial.rename(dest)


def save_registry(h: Harness, dest: Path) -> None:
    """Copy the storage of `h`'s registry (everything pushed there) to the host dir `dest`, which must not exist."""
    save_tree(h.path(REGISTRY_DIR), dest)


def save_docker_data(h: Harness, dest: Path) -> None:
    """Copy `h`'s docker data root (its local images) to the host dir `dest`, which must not exist: dockerd is
    stopped for the copy, so that what is saved is consistent, then started again."""
    h.systemctl("stop", "docker.service", "docker.socket", timeout=DOCKER_DEADLINE)
    try:
        # backingFsBlockDev: a device node dockerd makes again at start (copytree copies no device)
        save_tree(h.path(DATA_ROOT), dest, ignore=["backingFsBlockDev"])
    finally:
        h.systemctl("start", "docker.service", timeout=DOCKER_DEADLINE)
        h.wait_for(lambda: h.run(["docker", "info"], check=False).returncode == 0, DOCKER_DEADLINE, "docker info")


def restore_registry(h: Harness, src: Path) -> None:
    """Put a registry storage saved by `save_registry` into `h`'s running registry: its images can be pulled."""
    copy_into(src, h.path(REGISTRY_DIR))
    h.run(["chown", "-R", "docker-registry:docker-registry", REGISTRY_DIR])
