"""The update panel through the real stack: headless Chromium -> the demo page's WebSocket -> the remote
stand-in (the real message handler) inside a throw-away systemd -> D-Bus and polkit -> the real units ->
real containers from the loopback registry. Only GitHub is a stand-in, as everywhere.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kits.containerkit import publish, ref, running_image, wait_health
from kits.devicekit import Device
from kits.harness import Harness
from kits.remotekit import PORT, start_remote_standin
from kits.standin import GithubStandin
from kits.webkit import REPO, WEB, Page, PanelServer, chromium

from dunebugger_units import journal

SHOTS = REPO / "docs" / "screenshots"

NOTES = """## What's new in 1.2.0

- The schedule reloads **without a restart**
- Times use the `Europe/Rome` zone by default
- See [the changelog](https://github.com/marco-svitol/dunebugger-scheduler/blob/main/CHANGELOG.md)

<script>window.__pwned = true</script> <img src=x onerror="window.__pwned = true">
[not a link](javascript:window.__pwned=true)
"""


def scheduler_1_2_0_with_hostile_notes(gh: GithubStandin) -> None:
    gh.add_release("dunebugger-scheduler", "v1.2.0", body=NOTES)


pytestmark = [pytest.mark.containers, pytest.mark.releases.with_args(scheduler_1_2_0_with_hostile_notes)]


@pytest.fixture
def page(product: Harness) -> Iterator[Page]:
    """The product and the remote stand-in in the test systemd; the demo page in Chromium, connected to it."""
    start_remote_standin(product)
    server = PanelServer(lambda: product.connect_tcp(PORT)).start()
    try:
        with chromium(width=900, height=1000) as driver:
            page = Page(driver, server.url)
            page.wait(lambda: "→" in page.row("scheduler"), 60, "the first check through the real stack")
            yield page
    finally:
        server.stop()




def run_in_browser(page: Page, component: str, action: str, timeout: float = 240) -> dict[str, str]:
    page.watch_activity()
    page.button(component, action).click()
    page.wait(lambda: page.enabled() == [], 10, "every button to be disabled while it runs")
    return page.wait_result(component, timeout)


def test_check_in_the_browser(page: Page) -> None:
    [sent, *_] = page.sent()
    assert (sent["subject"], sent["body"]) == ("updater.check_updates", {})  # asked by the element itself
    [check] = [m for m in page.received() if m["subject"] == "update_check_result"][:1]
    assert check["destination"] == sent["connectionId"]
    assert "1.0.0 → 1.2.0" in page.row("scheduler")
    assert "Update available" in page.row("scheduler")
    assert {"scheduler:update", "scheduler:dry-run"} <= set(page.enabled())
    page.js("root.querySelector('li[data-component=scheduler] details').open = true")
    notes = page.text("li[data-component=scheduler] .md")
    assert "The schedule reloads without a restart" in notes
    assert page.js("return root.querySelector('li[data-component=scheduler] .md strong').textContent") == \
        "without a restart"
    # GitHub's text came through the whole stack and stays text
    assert '<img src=x onerror="window.__pwned = true">' in notes
    assert page.js("return [...root.querySelectorAll('.md a')].map((a) => a.getAttribute('href'))") == \
        ["https://github.com/marco-svitol/dunebugger-scheduler/blob/main/CHANGELOG.md"]
    assert page.js("return root.querySelectorAll('.md img, .md script').length") == 0
    assert page.driver.execute_script("return window.__pwned") is None


def test_update_in_the_browser(page: Page, product: Harness) -> None:
    h = product
    result = run_in_browser(page, "scheduler", "update")
    assert (result["kind"], result["tone"]) == ("updated", "ok")
    assert "Updated scheduler to 1.2.0" in result["text"]
    phases = [text for text in page.seen_activity() if text.startswith("Updating scheduler: ")]
    assert phases, page.seen_activity()  # live progress from the unit's status text
    assert any("disabled while the scheduler update runs" in text for text in page.seen_activity())
    final = [m for m in page.received() if m["subject"] == "update_result"][-1]
    assert final["body"]["success"] is True
    assert running_image(h, "scheduler") == ref("scheduler", "1.2.0")
    wait_health(h, "scheduler", "1.2.0", timeout=10)
    # the page heard it all as events, with what it needs in `detail`
    [started] = page.events("dunebugger-update-started")
    assert started["detail"] == {"component": "scheduler", "action": "update", "from": "1.0.0", "to": "1.2.0",
                                 "external": False}
    progress = page.events("dunebugger-update-progress")
    assert progress, page.events()
    assert {e["detail"]["component"] for e in progress} == {"scheduler"}
    finished = page.events("dunebugger-update-finished")
    assert finished[0]["detail"] | {"message": ""} == {
        "component": "scheduler", "action": "update", "outcome": "success", "kind": "updated", "success": True,
        "message": "", "dryRun": False, "from": "1.0.0", "to": "1.2.0", "external": False}
    assert "Updated scheduler to 1.2.0" in finished[0]["detail"]["message"]
    assert all(e["bubbles"] and e["composed"] for e in page.events())
    # the panel asks again after an update: the row now shows the new version, and what a rollback returns to
    page.wait(lambda: "Up to date" in page.row("scheduler") and "1.2.0" in page.row("scheduler"), 60,
              "the refreshed row")
    page.wait(lambda: "scheduler:rollback" in page.enabled(), 10, "Roll back, now that 1.0.0 is the previous version")
    after = page.events("dunebugger-check-finished")[-1]["detail"]["components"]["scheduler"]
    assert (after["state"], after["current"], after["previous"]) == ("current", "1.2.0", "1.0.0")
    assert len(page.events("dunebugger-update-finished")) == 1  # the broadcast twin is not a second outcome


def test_rollback_on_request_in_the_browser(page: Page, product: Harness) -> None:
    """The rollback asks first, naming both versions; then the real rollback unit returns to 1.0.0."""
    assert page.js("return root.querySelector('li[data-component=scheduler] button[data-action=rollback]').hidden")
    run_in_browser(page, "scheduler", "update")
    page.wait(lambda: "scheduler:rollback" in page.enabled(), 60, "Roll back after the update")
    page.button("scheduler", "rollback").click()
    assert page.text("dialog h3") == "Roll back scheduler from 1.2.0 to 1.0.0?"
    assert page.text("dialog button.confirm") == "Roll back to 1.0.0"
    assert running_image(product, "scheduler") == ref("scheduler", "1.2.0")  # nothing happens before the yes
    page.watch_activity()
    page.js("root.querySelector('dialog button.confirm').click()")
    result = page.wait_result("scheduler", 240)
    assert (result["kind"], result["tone"]) == ("rolled-back", "info")
    assert result["text"].startswith("↺ Rolled back — Rollback requested, rolled back to v1.0.0"), result
    assert any(text.startswith("Rolling back scheduler") for text in page.seen_activity()), page.seen_activity()
    assert running_image(product, "scheduler") == ref("scheduler", "1.0.0")
    wait_health(product, "scheduler", "1.0.0", timeout=10)
    finished = page.events("dunebugger-update-finished")[-1]["detail"]
    assert (finished["action"], finished["outcome"], finished["from"], finished["to"]) == \
        ("rollback", "success", "1.2.0", "1.0.0")
    # the previous version was used: nothing to roll back to now, and 1.2.0 is an update again
    page.wait(lambda: "1.0.0 → 1.2.0" in page.row("scheduler"), 60, "the refreshed row")
    assert "scheduler:rollback" not in page.enabled()


def test_dry_run_in_the_browser(page: Page, product: Harness, device: Device) -> None:
    h = product
    before = device.compose_file.read_bytes()
    result = run_in_browser(page, "scheduler", "dry-run")
    assert (result["kind"], result["tone"]) == ("dry-run", "info")
    assert "Dry run: scheduler 1.0.0 -> 1.2.0" in result["text"]
    sent = [m for m in page.sent() if m["subject"] == "updater.perform_update"]
    assert [m["body"] for m in sent] == [{"component": "scheduler", "dry_run": True}]
    assert device.compose_file.read_bytes() == before
    assert running_image(h, "scheduler") == ref("scheduler", "1.0.0")


def test_failed_update_rolls_back_in_the_browser(page: Page, product: Harness, gh: GithubStandin) -> None:
    h = product
    publish(gh, "scheduler", "1.3.0")  # exits at start
    page.check()
    page.wait(lambda: "1.0.0 → 1.3.0" in page.row("scheduler"), 60, "the check to see 1.3.0")
    result = run_in_browser(page, "scheduler", "update")
    assert (result["kind"], result["tone"]) == ("rolled-back", "warn")
    assert "↺ Failed, rolled back — Post-update checks failed, rolled back to v1.0.0" in result["text"]
    assert running_image(h, "scheduler") == ref("scheduler", "1.0.0")
    wait_health(h, "scheduler", "1.0.0", timeout=10)
    assert h.journal(f"MESSAGE_ID={journal.ROLLBACK_SUCCEEDED}", "COMPONENT=scheduler")
    assert page.events("dunebugger-update-finished")[0]["detail"]["outcome"] == "rollback"
    # the release failed here: the check after it says so, and its button reads "Try again"
    page.wait(lambda: "1.3.0 failed on this device and was rolled back." in page.row("scheduler"), 60,
              "the failed release's note")
    page.wait(lambda: "scheduler:update" in page.enabled(), 60, "the buttons to come back")
    assert page.button("scheduler", "update").text == "Try again"
    assert "Check failed" not in page.text()
    page.wait(lambda: page.js("return !root.querySelector('button.check').disabled"), 60, "the refreshing check")
    # the README's pictures: the outcome at a glance, in English and Italian, light and dark
    page.js("root.querySelector('li[data-component=scheduler] details').open = false")
    take_screenshot(page.driver, WEB / "screenshot.png")
    SHOTS.mkdir(parents=True, exist_ok=True)
    take_screenshot(page.driver, SHOTS / "panel-en-light.png", 1200)
    page.driver.find_element("id", "dark").click()
    assert page.colour("section") == "rgb(31, 32, 35)"
    take_screenshot(page.driver, SHOTS / "panel-en-dark.png", 1200)
    page.driver.find_element("id", "italian").click()
    page.wait(lambda: "Riprova" in page.row("scheduler"), 10, "the Italian panel")
    assert "Non riuscito, ripristinato" in page.row("scheduler")
    take_screenshot(page.driver, SHOTS / "panel-it-dark.png", 1200)
    page.driver.find_element("id", "dark").click()
    assert page.colour("section") == "rgb(255, 255, 255)"
    take_screenshot(page.driver, SHOTS / "panel-it-light.png", 1200)


def take_screenshot(driver: Any, path: Path, width: int = 900) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": 600, "deviceScaleFactor": 1, "mobile": False})
    height = driver.execute_script("return document.querySelector('main').getBoundingClientRect().bottom") + 16
    driver.set_window_size(width, int(height) + 140)  # the window's frame around the viewport
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": int(height), "deviceScaleFactor": 1, "mobile": False})
    png = driver.get_screenshot_as_png()
    assert png.startswith(b"\x89PNG")
    path.write_bytes(png)


def test_the_demo_command_serves_the_panel(system_deps: None) -> None:
    """`scripts/demo.py --web` (what `bash scripts/demo.sh --web` runs once the deps are in): the printed URL
    opens the panel, which checks through the demo's own device; SIGTERM tears the device down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    demo = subprocess.Popen([sys.executable, str(REPO / "scripts/demo.py"), "--web", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines: list[str] = []
        assert demo.stdout is not None
        for line in demo.stdout:
            lines.append(line)
            if "open http://" in line:
                break
        url = f"http://127.0.0.1:{port}/"
        assert any(url in line for line in lines), "".join(lines)
        with chromium() as driver:
            page = Page(driver, url)
            page.wait(lambda: "1.0.0 → 1.3.0" in page.row("core"), 120, "the demo device's check")
            assert "1.0.0 → 1.2.0" in page.row("scheduler")
    finally:
        demo.terminate()
        try:
            rest, _ = demo.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            demo.send_signal(signal.SIGUSR1)  # its threads' stacks, then the failure shows where it hung
            time.sleep(2)
            demo.kill()
            rest, _ = demo.communicate(timeout=30)
    assert demo.returncode == 0, rest
    assert "the throw-away systemd is gone" in rest
