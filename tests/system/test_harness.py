"""Proof that the harness is the real thing: systemd, the system bus, journald, timers, Docker and compose."""

from __future__ import annotations

import contextlib
import http.server
import os
import textwrap
from pathlib import Path

from kits.harness import REGISTRY, Harness, busybox_rootfs, cgroup2_root
from kits.harness.images import save_docker_data
from kits.standin import GithubStandin


def test_boots_to_running_with_a_system_bus(harness: Harness) -> None:
    assert harness.run(["systemctl", "is-system-running"]).stdout.strip() == "running"
    assert harness.run(["hostname"]).stdout.strip() == harness.name
    names = harness.run(["busctl", "--system", "--no-pager", "--list", "--acquired", "list"]).stdout
    assert "org.freedesktop.systemd1" in names
    assert harness.run(["id", "-un"], user="nobody").stdout.strip() == "nobody"
    assert harness.run(["cat"], input="through stdin").stdout == "through stdin"


def test_templated_oneshot_logs_to_the_journal(harness: Harness) -> None:
    harness.write_file(
        "/etc/systemd/system/harness-hello@.service",
        textwrap.dedent("""\
            [Unit]
            Description=Say hello to %i

            [Service]
            Type=oneshot
            ExecStart=/bin/echo "hello from %i"
            SyslogIdentifier=harness-hello
            TimeoutStartSec=10
            """),
    )
    harness.systemctl("daemon-reload")
    harness.systemctl("start", "harness-hello@world.service")

    messages = harness.journal_messages("SYSLOG_IDENTIFIER=harness-hello")
    assert "hello from world" in messages


def test_on_failure_starts_the_handler(harness: Harness, tmp_path: Path) -> None:
    units = tmp_path / "units"
    units.mkdir()
    (units / "harness-broken.service").write_text(
        "[Unit]\nOnFailure=harness-rescue.service\n[Service]\nType=oneshot\nExecStart=/bin/false\nTimeoutStartSec=10\n"
    )
    (units / "harness-rescue.service").write_text(
        "[Service]\nType=oneshot\nExecStart=/bin/touch /run/rescued\nTimeoutStartSec=10\n"
    )
    harness.install_units(units)

    assert harness.systemctl("start", "harness-broken.service", check=False).returncode != 0

    harness.wait_for(lambda: harness.path("/run/rescued").exists(), 10, "the OnFailure= handler")
    messages = harness.journal_messages(unit="harness-broken.service")
    assert "harness-broken.service: Triggering OnFailure= dependencies." in messages


def test_timer_fires(harness: Harness) -> None:
    harness.write_file("/etc/systemd/system/harness-tick.timer", "[Timer]\nOnActiveSec=1s\nAccuracySec=50ms\n")
    harness.write_file(
        "/etc/systemd/system/harness-tick.service",
        "[Service]\nType=oneshot\nExecStart=/bin/touch /run/ticked\nTimeoutStartSec=10\n",
    )
    harness.systemctl("daemon-reload")
    harness.systemctl("start", "harness-tick.timer")

    harness.wait_for(lambda: harness.path("/run/ticked").exists(), 10, "the timer's service")


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"hello from the test process, you asked for {self.path}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_code_inside_reaches_a_server_of_the_test_process(harness: Harness) -> None:
    server = harness.serve_http(_Hello)
    url = f"http://127.0.0.1:{server.server_address[1]}/repos/x/releases"

    fetch = "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode(), end='')"
    by_python = harness.run(["/usr/bin/python3", "-c", fetch, url], timeout=20).stdout
    # A unit run as an unprivileged user (DynamicUser= here) sees the same loopback, as the check unit does.
    by_unit = harness.run(
        ["systemd-run", "--wait", "--pipe", "--quiet", "-p", "DynamicUser=yes", "/bin/busybox", "wget",
         "-q", "-O", "-", url],
        timeout=20,
    ).stdout  # fmt: skip

    assert by_python == by_unit == "hello from the test process, you asked for /repos/x/releases\n"


def test_listen_tcp_socket_lives_in_the_harness_network(harness: Harness) -> None:
    sock = harness.listen_tcp()
    port = sock.getsockname()[1]
    inside = harness.run(["ss", "-Hltn", f"sport = :{port}"]).stdout
    outside_netns = os.readlink("/proc/self/ns/net")

    assert f"127.0.0.1:{port}" in inside
    assert os.readlink(f"/proc/{harness.pid}/ns/net") != outside_netns


def test_a_server_on_its_socket_stops_when_the_harness_is_gone(tmp_path: Path, system_deps: None) -> None:
    """The GitHub stand-in outlives a power cut of its harness in the crash tests: it must stop serving the
    closed socket, not spin a core of the test process until the test ends."""
    h = Harness.boot(tmp_path / "harness")
    gh = GithubStandin().start(h.listen_tcp())
    try:
        assert gh.thread is not None
        assert h.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", f"{gh.url}/repos/x/y/releases"],
                     check=False).stdout == "200"
        h.kill()
        gh.thread.join(timeout=5)
        assert not gh.thread.is_alive()
    finally:
        h.kill()
        gh.stop()


def test_power_cut_keeps_what_was_on_disk(tmp_path: Path, system_deps: None) -> None:
    device, units = tmp_path / "device", tmp_path / "units"
    device.mkdir()
    units.mkdir()
    binds = {"/opt/dunebugger": device, "/etc/systemd/system": units}
    workdir = tmp_path / "harness"

    first = Harness.boot(workdir, binds=binds)
    try:
        first.run(["/bin/sh", "-c", "echo survived > /opt/dunebugger/flag && sync /opt/dunebugger/flag"])
        first.run(["mkdir", "-p", "/var/lib/harness-test"])
        first.write_file("/var/lib/harness-test/marker", "on the /var overlay\n")
        first.write_file("/run/volatile", "gone after the cut\n")
        first.write_file(
            "/etc/systemd/system/harness-at-boot.service",
            "[Service]\nType=oneshot\nExecStart=/bin/touch /run/booted-unit-ran\n"
            "TimeoutStartSec=10\n[Install]\nWantedBy=multi-user.target\n",
        )
        first.systemctl("daemon-reload")
        first.systemctl("enable", "harness-at-boot.service")
    finally:
        first.kill()
    assert not first.alive

    with Harness.boot(workdir, binds=binds) as second:
        assert second.path("/opt/dunebugger/flag").read_text() == "survived\n"
        assert second.path("/var/lib/harness-test/marker").read_text() == "on the /var overlay\n"
        assert not second.path("/run/volatile").exists()
        # Units enabled before the cut start at the next boot, as on a device.
        assert second.path("/run/booted-unit-ran").exists()
    assert (device / "flag").read_text() == "survived\n"


def _host_snapshot() -> dict[str, list[str]]:
    """The host's mounts and its /run and /dev: where a harness could leak."""
    mountinfo = Path("/proc/self/mountinfo").read_text().splitlines()
    return {
        "mounts": sorted(line.split(" - ")[0].split(" ", 4)[4] for line in mountinfo),
        "run": sorted(os.listdir("/run")),
        "dev": sorted(os.listdir("/dev")),
    }


def _processes_in_pid_namespaces(namespaces: set[str]) -> list[str]:
    """Processes in these pid namespaces (`pid:[N]` as /proc/<pid>/ns/pid names them).

    The kernel reuses a freed namespace's inode number, so the caller holds the namespaces open (an fd on
    /proc/<pid>/ns/pid) for as long as it asks: a process found then is in the very namespace it held."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and os.readlink(entry / "ns/pid") in namespaces:
                found.append(f"{entry.name} {(entry / 'comm').read_text().strip()}")
        except OSError:
            continue  # exited while we looked
    return found


def test_two_side_by_side_and_no_leaks(tmp_path: Path, system_deps: None) -> None:
    # Other harnesses may come and go on this machine meanwhile (parallel sessions): compare only what
    # ours could have left behind.
    before = _host_snapshot()
    rootfs = busybox_rootfs(tmp_path / "rootfs")
    with contextlib.ExitStack() as held:
        with Harness.boot(tmp_path / "a") as a, Harness.boot(tmp_path / "b", docker=True) as b:
            a.write_file("/etc/only-in-a", "a\n")
            assert a.run(["cat", "/etc/only-in-a"]).stdout == "a\n"
            assert b.run(["test", "-e", "/etc/only-in-a"], check=False).returncode == 1
            assert a.run(["hostname"]).stdout != b.run(["hostname"]).stdout
            assert not Path("/etc/only-in-a").exists()
            # A running container is the likeliest leak (shims, overlay mounts): leave one running.
            b.import_image(f"{REGISTRY}/harness/sleeper:1", rootfs, ["sleep", "1000"], push=False)
            b.docker("run", "-d", "--init", "--network", "host", f"{REGISTRY}/harness/sleeper:1")
            for h in (a, b):  # held open, their inode numbers cannot go to another test's container
                held.callback(os.close, os.open(f"/proc/{h.pid}/ns/pid", os.O_RDONLY))
            namespaces = {os.readlink(f"/proc/{h.pid}/ns/pid") for h in (a, b)}
            assert len(_processes_in_pid_namespaces(namespaces)) > 6
        after = _host_snapshot()

        assert not a.alive and not b.alive
        assert _processes_in_pid_namespaces(namespaces) == []
    assert not a.cgroup.exists() and not b.cgroup.exists()
    assert [cg.name for cg in cgroup2_root().iterdir() if cg.name in (a.name, b.name)] == []
    assert after == before


def test_docker_compose_and_registry_round_trip(docker_harness: Harness, tmp_path: Path) -> None:
    h = docker_harness
    serve = ["httpd", "-f", "-p", "127.0.0.1:8080", "-h", "/www"]
    ids = {}
    for tag in ("v1", "v2"):
        rootfs = busybox_rootfs(tmp_path / tag, {"www/index.html": f"web {tag}\n"})
        ref = f"{REGISTRY}/harness/web:{tag}"
        ids[tag] = h.import_image(ref, rootfs, serve)
        h.docker("image", "rm", ref)  # so that compose really pulls from the registry
    h.write_file(
        "/opt/stack/compose.yaml",
        textwrap.dedent(f"""\
            services:
              web:
                image: {REGISTRY}/harness/web:${{WEB_TAG}}
                network_mode: host
                init: true
                stop_grace_period: 1s
            """),
    )
    compose = ["docker", "compose", "--project-directory", "/opt/stack", "-p", "stack"]

    def page() -> str:
        return h.run(["curl", "-fsS", "http://127.0.0.1:8080/"], check=False).stdout

    h.write_file("/opt/stack/.env", "WEB_TAG=v1\n")
    h.run([*compose, "pull"], timeout=120)
    h.run([*compose, "up", "-d"], timeout=120)
    h.wait_for(lambda: page() == "web v1\n", 20, "the v1 container to serve")

    h.write_file("/opt/stack/.env", "WEB_TAG=v2\n")
    h.run([*compose, "pull"], timeout=120)
    h.run([*compose, "up", "-d", "--no-deps", "web"], timeout=120)
    h.wait_for(lambda: page() == "web v2\n", 20, "the recreated v2 container to serve")

    assert h.docker("info", "--format", "{{.Driver}}").stdout.strip() == "overlay2"
    container = h.run([*compose, "ps", "-q", "web"]).stdout.split()
    assert len(container) == 1
    state = h.docker("inspect", "--format", "{{.Image}} {{.State.Running}}", container[0]).stdout.split()
    assert state == [ids["v2"], "true"]


def test_docker_data_on_disk_survives_power_cut(tmp_path: Path, system_deps: None) -> None:
    docker_data = tmp_path / "docker"
    docker_data.mkdir()
    ref = f"{REGISTRY}/harness/kept:1"
    first = Harness.boot(tmp_path / "harness", docker=True, docker_data=docker_data)
    try:
        image = first.import_image(ref, busybox_rootfs(tmp_path / "rootfs"), ["sleep", "1000"], push=False)
        first.run(["sync"])
    finally:
        first.kill()

    with Harness.boot(tmp_path / "harness", docker=True, docker_data=docker_data) as second:
        # overlay2 works on a real-disk dir (it would not on the /var overlay).
        assert second.docker("info", "--format", "{{.Driver}}").stdout.strip() == "overlay2"
        assert second.docker("image", "inspect", "--format", "{{.Id}}", ref).stdout.strip() == image


def test_a_harness_booted_on_a_saved_data_root_has_its_images(tmp_path: Path, system_deps: None) -> None:
    """The seed of kits/buildonce.py: a data root saved with dockerd stopped, copied into a new harness, holds the
    same image (same ID) with nothing pulled; the harness it was saved from has a running dockerd again."""
    ref = f"{REGISTRY}/harness/seeded:1"
    seed = tmp_path / "seed"
    with Harness.boot(tmp_path / "first", docker=True) as first:
        image = first.import_image(ref, busybox_rootfs(tmp_path / "rootfs"), ["sleep", "1000"], push=False)
        save_docker_data(first, seed)
        assert first.docker("image", "inspect", "--format", "{{.Id}}", ref).stdout.strip() == image
    assert not seed.with_name("seed.partial").exists() and (seed / "image").is_dir()

    with Harness.boot(tmp_path / "second", docker=True, docker_seed=seed) as second:
        assert second.docker("image", "inspect", "--format", "{{.Id}}", ref).stdout.strip() == image
        # a real image, not a listing: it runs
        assert second.docker("run", "--rm", "--network", "host", ref, "echo", "ran").stdout == "ran\n"
        assert second.run(["curl", "-fsS", f"http://{REGISTRY}/v2/_catalog"]).stdout.strip() == '{"repositories":[]}'
