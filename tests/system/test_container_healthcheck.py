"""Images with a Docker HEALTHCHECK: the post-checks wait for `healthy`, and an `unhealthy` image rolls back.

The images are built in the test with the real `docker build` (offline: FROM an image in the loopback
registry), adding a HEALTHCHECK to the scheduler's busybox image.
"""

from __future__ import annotations

from typing import Any

import pytest
from kits.containerkit import publish, ref, wait_health
from kits.harness import Harness
from kits.productkit import history
from kits.standin import GithubStandin

HEALTHY = ('HEALTHCHECK --interval=1s --timeout=2s --retries=2 '
           'CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:18080/health"]')
UNHEALTHY = 'HEALTHCHECK --interval=1s --timeout=1s --retries=1 CMD ["false"]'

# no HTTP health URL: the HEALTHCHECK is what judges
pytestmark = [pytest.mark.containers, pytest.mark.updater(health_urls=False, stability_seconds=1, health_timeout=15)]


@pytest.fixture
def healthchecked(product: Harness) -> Harness:
    """The product, and scheduler images with a HEALTHCHECK in the registry: 1.6.0 healthy, 1.7.0 unhealthy."""
    for version, check in (("1.6.0", HEALTHY), ("1.7.0", UNHEALTHY)):
        dockerfile = f"FROM {ref('scheduler', '1.2.0')}\n{check}\n"
        product.run(["docker", "build", "-q", "-t", ref("scheduler", version), "-"], input=dockerfile, timeout=180)
        product.docker("push", ref("scheduler", version))
        product.docker("rmi", ref("scheduler", version))
    return product


def update(h: Harness, gh: GithubStandin, version: str) -> list[dict[str, Any]]:
    publish(gh, "scheduler", version)
    h.run(["dunebugger-units", "check"], check=False)
    h.systemctl("start", "dunebugger-update@scheduler.service", check=False, timeout=180)
    return history(h)


def test_healthcheck_must_report_healthy(healthchecked: Harness, gh: GithubStandin) -> None:
    h = healthchecked
    [result, *_] = update(h, gh, "1.6.0")
    assert result["message"] == "Updated scheduler to 1.6.0", result
    [health] = [c for c in result["checks"] if c["name"] == "docker healthcheck"]
    assert health["ok"] and health["detail"].endswith("is healthy")
    state = h.docker("inspect", "--format", "{{.State.Health.Status}}", "dunebugger-scheduler").stdout.strip()
    assert state == "healthy"
    # commit prunes the component's old images: the running one and the one a rollback needs stay
    local = set(h.docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}",
                         ref("scheduler", "1.0.0").rsplit(":", 1)[0]).stdout.split())
    assert local == {ref("scheduler", "1.6.0"), ref("scheduler", "1.0.0")}, local


def test_unhealthy_healthcheck_rolls_back(healthchecked: Harness, gh: GithubStandin) -> None:
    h = healthchecked
    update(h, gh, "1.7.0")

    [rollback] = h.wait_for(lambda: history(h, "rollback"), 120, "the rollback")
    assert rollback["message"] == "Post-update checks failed, rolled back to v1.0.0", rollback
    failed = history(h)[1]
    assert any(c["name"] == "docker healthcheck" and not c["ok"] and "unhealthy" in c["detail"]
               for c in failed["checks"]), failed
    running = h.docker("inspect", "--format", "{{.Config.Image}}", "dunebugger-scheduler").stdout.strip()
    assert running == ref("scheduler", "1.0.0")
    wait_health(h, "scheduler", "1.0.0", timeout=10)
