"""The update panel in a real headless Chromium, fed by a loopback WebSocket that plays the remote's messages.

What needs no device is proven here: hostile release notes, the message shapes of the dunebugger-remote app,
progress and the kinds of outcome, the remote's own update (reconnect), keyboard-only use, a phone-width screen.
The real stack (browser -> remote stand-in -> D-Bus -> units -> containers) is tests/system/test_web_panel.py.
"""

from __future__ import annotations

import json
from typing import Any

from kits.webkit import Page, PanelServer, Remote, components, reply

HOSTILE = """# Release 1.2.0 <script>window.__pwned = 'heading'</script>

<script>window.__pwned = 'script'</script>
<img src=x onerror="window.__pwned = 'img'">
<svg onload="window.__pwned = 'svg'"></svg>

- [click me](javascript:window.__pwned='link')
- [sneaky](  JaVaScRiPt:window.__pwned='link2')
- [data](data:text/html,<script>window.__pwned='data'</script>)
- **bold** and `<b>code</b>` and [the changelog](https://example.invalid/changelog)
- <a href="javascript:window.__pwned='a'">raw anchor</a>

```
<iframe src="javascript:window.__pwned='iframe'"></iframe>
```
"""


def open_panel(driver: Any, server: PanelServer) -> Page:
    page = Page(driver, server.url)
    page.wait(lambda: "→" in page.row("scheduler"), 10, "the first check's rows")
    return page


def test_the_element_asks_for_a_check_on_connection(driver: Any, server: PanelServer, remote: Remote) -> None:
    page = open_panel(driver, server)
    first = remote.fake.next("updater.check_updates")
    assert first["body"] == {}
    assert first["connectionId"] == driver.execute_script("return window.dunebuggerDemo.connectionId")
    assert "1.0.0 → 1.2.0" in page.row("scheduler")
    assert "Update available" in page.row("scheduler")
    assert "Up to date" in page.row("core")
    # remote first, then the others: the remote-first rule reads top-down
    assert page.js("return [...root.querySelectorAll('li.row')].map((r) => r.dataset.component)") == \
        ["remote", "scheduler", "core"]
    # nothing was updated here yet: no previous version, so no "Roll back" at all
    assert set(page.enabled()) == {"scheduler:update", "scheduler:dry-run"}
    assert page.js("return [...root.querySelectorAll('button[data-action=rollback]')].map((b) => b.hidden)") == \
        [True, True, True]


def test_hostile_release_notes_are_inert(driver: Any, server: PanelServer, remote: Remote) -> None:
    remote.check = components(scheduler={"release_notes": HOSTILE, "release_url": "javascript:window.__pwned='url'"})
    page = open_panel(driver, server)
    page.button("scheduler", "update")  # the row is there
    page.js("root.querySelector('li[data-component=scheduler] details').open = true")
    notes = page.text("li[data-component=scheduler] .md")
    # shown, as text
    assert "<script>window.__pwned = 'script'</script>" in notes
    assert "<img src=x onerror=" in notes
    assert "click me" in notes
    # inert: no element but the subset's own, no link but http(s), and nothing ran
    tags = set(page.js("return [...root.querySelectorAll('li[data-component=scheduler] details *')]"
                       ".map((n) => n.localName)"))
    assert tags <= {"summary", "div", "h4", "p", "ul", "li", "strong", "code", "a", "pre"}, tags
    hrefs = page.js("return [...root.querySelectorAll('details a')].map((a) => a.getAttribute('href'))")
    assert hrefs == ["https://example.invalid/changelog"]
    for item in page.js("return [...root.querySelectorAll('details li')]"):  # click what looks like a link
        item.click()
    assert driver.execute_script("return window.__pwned") is None
    assert driver.execute_script("return document.querySelectorAll('img, script:not([type=module]), iframe, svg')"
                                 ".length") == 0


def test_the_remote_apps_shapes(driver: Any, server: PanelServer, remote: Remote) -> None:
    """The dunebugger-remote app: component records with `current_version`, `unknown`, and an update told through
    `updater_progress` and a final `log`; the remote-first rule inferred when the remote does not say it."""
    remote.check = {"components": {
        "remote": {"name": "remote", "current_version": "1.0.0-beta.8", "latest_version": "1.0.0-beta.9",
                   "update_available": True, "component_type": "container", "prerelease": True},
        "scheduler": {"name": "scheduler", "current_version": "1.0.0-beta.15", "latest_version": "1.0.0-beta.16",
                      "update_available": True},
        "core": {"name": "core", "current_version": "unknown", "latest_version": "unknown",
                 "update_available": False},
    }}

    def progress_as_updater_progress(message: dict[str, Any]) -> list[dict[str, Any]]:
        return [reply("updater_progress", {"success": True, "message": f"Update in progress: {phase}...",
                                           "level": "info", "phase": phase}) for phase in ("backing_up", "downloading")]

    remote.on_update = progress_as_updater_progress
    page = open_panel(driver, server)
    assert "1.0.0-beta.8 → 1.0.0-beta.9" in page.row("remote")
    assert "Update remote first" in page.row("scheduler")
    assert "unknown" in page.row("core")
    assert "scheduler:update" not in page.enabled()  # blocked by the remote-first rule
    page.button("remote", "update").click()
    page.wait(lambda: "downloading" in page.activity(), 10, "the progress of `updater_progress`")
    assert page.enabled() == []
    remote.fake.send("log", {"success": True, "message": "Updated remote to 1.0.0-beta.9", "level": "info"})
    result = page.wait_result("remote", 10)
    assert (result["kind"], result["tone"]) == ("updated", "ok")
    assert "Updated remote to 1.0.0-beta.9" in result["text"]
    # a failed check, as the dunebugger-remote app reports it
    remote.check = {"error": "GitHub rate limit exceeded"}
    page.check()
    page.wait(lambda: "Check failed: GitHub rate limit exceeded" in page.text(), 10, "the check error")


def test_progress_percent_and_every_kind_of_outcome(driver: Any, server: PanelServer, remote: Remote) -> None:
    page = open_panel(driver, server)
    page.button("scheduler", "update").click()
    sent = remote.fake.next("updater.perform_update")
    assert sent["body"] == {"component": "scheduler", "dry_run": False}
    remote.fake.send("update_progress", {"component": "scheduler", "phase": "downloading", "percent": 42})
    page.wait(lambda: "42%" in page.activity(), 10, "the percent")
    assert page.js("return root.querySelector('progress').value") == 42
    assert page.js("const a = root.querySelector('.activity'); return [a.getAttribute('role'), "
                   "a.getAttribute('aria-live')]") == ["status", "polite"]
    assert "Updating scheduler: downloading — 42%" in page.activity()
    assert "disabled while the scheduler update runs" in page.activity()
    assert page.enabled() == []
    remote.fake.send("update_progress", {"component": "scheduler", "phase": "health_check"})
    page.wait(lambda: "health check" in page.activity(), 10, "a phase without percent")
    assert page.js("return root.querySelector('progress').hasAttribute('value')") is False  # indeterminate
    cases = [  # (body of update_result, kind, tone)
        ({"success": True, "message": "Updated scheduler to 1.2.0", "dry_run": False}, "updated", "ok"),
        ({"success": False, "message": "Post-update checks failed, rolled back to v1.0.0", "dry_run": False},
         "rolled-back", "warn"),
        ({"success": False, "message": "Rollback of scheduler failed: manual intervention required",
          "dry_run": False}, "needs-manual", "danger"),
        ({"success": False, "message": "scheduler is stuck", "dry_run": False, "status": "needs-manual"},
         "needs-manual", "danger"),
        ({"success": True, "message": "Dry run: scheduler 1.0.0 -> 1.2.0", "dry_run": True}, "dry-run", "info"),
        ({"success": False, "message": "health check timed out", "dry_run": False, "status": "failed"},
         "failed", "bad"),
    ]
    looks = {}
    for body, kind, tone in cases:
        remote.fake.send("update_result", {"component": "scheduler", **body})
        page.wait(lambda kind=kind, body=body: (page.result("scheduler") or {}).get("kind") == kind
                  and body["message"] in page.result("scheduler")["text"], 10, kind)
        assert page.result("scheduler")["tone"] == tone
        looks[kind] = (page.result("scheduler")["text"].split(" — ")[0], page.js(
            "return getComputedStyle(root.querySelector('li[data-component=scheduler] .result')).backgroundColor"))
    # told apart at a glance: each outcome has its own label and its own colour
    assert looks["updated"][0] == "✔ Updated"
    assert looks["rolled-back"][0] == "↺ Failed, rolled back"
    assert looks["needs-manual"][0] == "⚠ Manual intervention required"
    assert looks["failed"][0] == "✖ Failed"
    colours = [looks[k][1] for k in ("updated", "rolled-back", "needs-manual", "failed", "dry-run")]
    assert len(set(colours)) == len(colours), colours


def test_rollback_button_and_an_error_reply(driver: Any, server: PanelServer, remote: Remote) -> None:
    """A remote that does not know `updater.rollback` yet answers with one error `log`: the panel shows it
    as the rollback's outcome and frees the buttons."""
    remote.on_update = lambda message: [reply("log", {"success": False, "level": "error",
                                                      "message": f"unknown subject {message['subject']!r}"},
                                              message["connectionId"])]
    remote.check = components(scheduler={"previous": "0.9.0"})
    page = open_panel(driver, server)
    page.button("scheduler", "rollback").click()
    page.js("root.querySelector('dialog button.confirm').click()")
    assert remote.fake.next("updater.rollback")["body"] == {"component": "scheduler"}
    result = page.wait_result("scheduler", 10)
    assert result["kind"] == "refused"
    assert "unknown subject 'updater.rollback'" in result["text"]
    page.wait(lambda: "scheduler:update" in page.enabled(), 10, "the buttons to come back")


def test_the_remotes_own_update_reconnects_and_shows_the_outcome(driver: Any, server: PanelServer,
                                                                  remote: Remote) -> None:
    remote.check = components(remote={"latest": "1.2.0", "update_available": True})
    page = open_panel(driver, server)
    page.button("remote", "update").click()
    remote.fake.next("updater.perform_update")
    remote.fake.send("update_progress", {"component": "remote", "phase": "recreating"})
    page.wait(lambda: "recreating" in page.activity(), 10, "progress")
    # the remote is recreated: the socket drops, then a new instance answers, still before the outcome
    page.watch_activity()
    server.drop()
    page.wait(lambda: driver.execute_script("return window.dunebuggerDemo.connections") == 2, 10, "a reconnect")
    page.wait(lambda: "waiting for the outcome" in page.activity(), 10, "waiting for the outcome")
    assert any("connection lost: reconnecting" in seen for seen in page.seen_activity()), page.seen_activity()
    assert page.enabled() == []
    # the new instance reads the outcome and broadcasts it; the check after it knows the version before
    remote.check = components(remote={"current": "1.2.0", "latest": "1.2.0", "previous": "1.0.0"})
    remote.fake.send("update_result", {"component": "remote", "success": True, "message": "Updated remote to 1.2.0",
                                       "dry_run": False, "status": "updated"})
    result = page.wait_result("remote", 10)
    assert result["kind"] == "updated"
    page.wait(lambda: "remote:rollback" in page.enabled(), 10, "Roll back, now that there is a version to go back to")

    # a second self-update whose outcome message never reaches the new instance: the versions tell
    remote.check = components(remote={"current": "1.2.0", "latest": "1.3.0", "update_available": True})
    page.check()
    page.wait(lambda: "1.2.0 → 1.3.0" in page.row("remote"), 10, "the new check")
    page.button("remote", "update").click()
    remote.fake.send("update_progress", {"component": "remote", "phase": "recreating"})
    page.wait(lambda: "recreating" in page.activity(), 10, "progress")
    remote.check = components(remote={"current": "1.3.0", "latest": "1.3.0", "update_available": False})
    server.drop()
    page.wait(lambda: (page.result("remote") or {}).get("kind") == "updated"
              and "1.3.0" in page.result("remote")["text"], 15, "the outcome read from the versions")
    assert "seen after reconnecting" in page.result("remote")["text"]


def test_keyboard_only(driver: Any, server: PanelServer, remote: Remote) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    page = open_panel(driver, server)
    focused = ("const a = root.activeElement; return a ? (a.dataset.action ? "
               "`${a.closest('li').dataset.component}:${a.dataset.action}` : a.localName + '.' + a.className) : "
               "document.activeElement.localName")
    driver.execute_script("document.getElementById('italian').focus()")  # the demo's last control before the panel
    order = []
    for _ in range(12):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        order.append(page.js(focused))
        if order[-1] == "scheduler:update":
            break
    assert order[0] == "button.check"
    assert "summary." in order  # the release notes open from the keyboard
    assert order[-1] == "scheduler:update", order
    # every control has a name a screen reader reads out
    names = page.js("return [...root.querySelectorAll('button, summary')].map((b) => "
                    "b.getAttribute('aria-label') || b.textContent.trim())")
    assert all(names), names
    assert "Update scheduler to 1.2.0" in names
    assert page.js("return root.querySelector('li[data-component=scheduler] .actions').getAttribute('role')") \
        == "group"
    # open the notes with Enter
    ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT).perform()
    ActionChains(driver).send_keys(Keys.TAB).perform()
    assert page.js(focused) == "scheduler:update"
    ActionChains(driver).send_keys(Keys.ENTER).perform()
    assert remote.fake.next("updater.perform_update")["body"] == {"component": "scheduler", "dry_run": False}
    # the disabled button handed the focus to the progress region, which reads out what runs
    assert page.js("return root.activeElement && root.activeElement.className") == "activity"
    remote.fake.send("update_result", {"component": "scheduler", "success": True, "dry_run": False,
                                       "message": "Updated scheduler to 1.2.0"})
    page.wait_result("scheduler", 10)
    page.wait(lambda: page.js(focused) == "scheduler:update", 10, "the focus to come back to the button")
    # and a dry run with the space bar, from the keyboard only
    ActionChains(driver).send_keys(Keys.TAB).perform()
    assert page.js(focused) == "scheduler:dry-run"
    ActionChains(driver).send_keys(Keys.SPACE).perform()
    assert remote.fake.next("updater.perform_update")["body"] == {"component": "scheduler", "dry_run": True}


def test_notes_open_from_the_keyboard(driver: Any, server: PanelServer, remote: Remote) -> None:
    from selenium.webdriver.common.keys import Keys

    page = open_panel(driver, server)
    summary = driver.find_element("css selector", "dunebugger-updates").shadow_root.find_element(
        "css selector", "li[data-component=scheduler] summary")
    page.js("root.querySelector('li[data-component=scheduler] summary').focus()")
    summary.send_keys(Keys.ENTER)
    page.wait(lambda: page.js("return root.querySelector('li[data-component=scheduler] details').open"), 5,
              "the notes to open")
    assert "faster start" in page.text("li[data-component=scheduler] .md")
    assert page.js("return root.querySelector('li[data-component=scheduler] .md strong').textContent") == "start"


def test_narrow_viewport(driver: Any, server: PanelServer, remote: Remote) -> None:
    long_word = "x" * 300
    remote.check = components(scheduler={"release_notes": f"# Notes\n\n{long_word}\n\n```\n{long_word}\n```",
                                         "latest": "1.2.0-beta.123456789+build.987654321"})
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 360, "height": 740, "deviceScaleFactor": 1, "mobile": True})
    page = open_panel(driver, server)
    page.js("root.querySelector('li[data-component=scheduler] details').open = true")
    page.button("scheduler", "update").click()
    remote.fake.send("update_progress", {"component": "scheduler", "phase": "downloading", "percent": 10})
    page.wait(lambda: "10%" in page.activity(), 10, "progress")
    remote.fake.send("update_result", {"component": "scheduler", "success": False, "dry_run": False,
                                       "message": f"Post-update checks failed, rolled back to v1.0.0 {long_word}"})
    page.wait_result("scheduler", 10)
    assert driver.execute_script("return window.innerWidth") == 360
    widths = driver.execute_script("return [document.documentElement.scrollWidth, document.body.scrollWidth]")
    assert max(widths) <= 360, widths
    # every button fits, and is big enough to hit with a thumb
    boxes = page.js("return [...root.querySelectorAll('button')].filter((b) => b.checkVisibility())"
                    ".map((b) => b.getBoundingClientRect()).map((r) => [r.left, r.right, r.height])")
    assert all(left >= 0 and right <= 360 and height >= 40 for left, right, height in boxes), boxes
    assert json.dumps(page.result("scheduler"))


def test_an_update_started_elsewhere_holds_the_buttons_too(driver: Any, server: PanelServer, remote: Remote) -> None:
    """The timer or a person on the device started it; the remote broadcasts its progress and outcome."""
    page = open_panel(driver, server)
    remote.fake.send("update_progress", {"component": "core", "phase": "staging"})
    page.wait(lambda: "Updating core: staging" in page.activity(), 10, "someone else's progress")
    assert page.enabled() == []
    assert "disabled while the core update runs" in page.activity()
    remote.fake.send("update_result", {"component": "core", "success": False, "dry_run": False,
                                       "message": "Rollback of core failed: manual intervention required"})
    result = page.wait_result("core", 10)
    assert (result["kind"], result["tone"]) == ("needs-manual", "danger")
    page.wait(lambda: "scheduler:update" in page.enabled(), 10, "the buttons to come back")
    assert [m["subject"] for m in page.sent()].count("updater.perform_update") == 0
