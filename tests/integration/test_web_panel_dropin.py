"""The update panel as a drop-in for a frontend, in a real headless Chromium fed by a loopback WebSocket: every
state a row can be in, its events and their detail, the attributes and properties, the custom properties and
parts, dark mode through emulated prefers-color-scheme, Italian, the rollback confirmation and "Update all".
The same through the real stack (a real update, a real rollback) is tests/system/test_web_panel.py.
"""

from __future__ import annotations

import queue
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kits.webkit import Page, PanelServer, Remote, components, reply

WINDOW = "2026-12-07T02:00:00+00:00"  # 03:00 in Rome, where the browser is told it is


def open_panel(driver: Any, server: PanelServer, query: str = "") -> Page:
    page = Page(driver, server.url + query)
    page.wait(lambda: "→" in page.row("scheduler") or page.badge("scheduler"), 10, "the first check's rows")
    return page


def hours_ago(hours: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


# (fields of scheduler's record, the badge's data-state, its English text, its Italian text)
STATES = [
    pytest.param(({"last_checked": None, "latest": None, "update_available": False, "release_notes": "",
                   "release_url": None}, "unchecked", "Not checked yet", "Non ancora controllato"), id="not-checked"),
    pytest.param(({"latest": None, "update_available": False, "release_notes": "", "release_url": None}, "none",
                  "No release published", "Nessuna versione pubblicata"), id="no-release"),
    pytest.param(({"error": "GitHub rate limit exceeded"}, "error", "Check failed: GitHub rate limit exceeded",
                  "Controllo non riuscito: GitHub rate limit exceeded"), id="check-failed"),
    pytest.param(({}, "available", "Update available", "Aggiornamento disponibile"), id="available"),
    pytest.param(({"prepared": {"version": "1.2.0"}}, "ready", "Ready to install", "Pronto da installare"),
                 id="ready-to-install"),
    pytest.param(({"latest": "1.0.0", "update_available": False}, "current", "Up to date", "Aggiornato"),
                 id="up-to-date"),
    pytest.param(({"held": True, "policy": "auto"}, "held", "Held (policy: auto)", "Bloccato (criterio: auto)"),
                 id="held"),
    pytest.param(({"policy": "auto", "next_window": WINDOW}, "window",
                  "Outside the maintenance window: next at Dec 7, 2026, 3:00 AM",
                  "Fuori dalla finestra di manutenzione: prossima il 7 dic 2026, 03:00"), id="outside-the-window"),
]


@pytest.mark.parametrize("case", STATES)
def test_every_honest_state(driver: Any, server: PanelServer, remote: Remote,
                            case: tuple[dict[str, Any], str, str, str]) -> None:
    fields, state, english, italian = case
    remote.check = components(scheduler=fields)
    page = open_panel(driver, server)
    page.wait(lambda: page.badge("scheduler").replace("\u202f", " ") == english, 10, f"the {state} state")
    assert page.js("return root.querySelector('li[data-component=scheduler] .badge').dataset.state") == state
    driver.find_element("id", "italian").click()  # one click: the document's lang, which the panel follows
    page.wait(lambda: page.badge("scheduler") == italian, 10, f"the {state} state in Italian")
    updatable = state in ("available", "ready", "window")
    assert ("scheduler:update" in page.enabled()) is updatable


def test_checked_ago_published_and_a_release_that_failed_before(driver: Any, server: PanelServer,
                                                                 remote: Remote) -> None:
    remote.check = components(scheduler={"last_checked": hours_ago(3), "failed_versions": ["1.2.0"],
                                         "published_at": "2026-11-30T10:00:00Z"})
    page = open_panel(driver, server)
    row = page.row("scheduler")
    assert "checked 3 hours ago" in row
    assert "1.2.0 failed on this device and was rolled back." in row
    assert page.button("scheduler", "update").text == "Try again"
    assert page.button("scheduler", "update").get_attribute("aria-label") == \
        "Try the update of scheduler to 1.2.0 again"
    page.js("root.querySelector('li[data-component=scheduler] details').open = true")
    assert "Published November 30, 2026." in page.row("scheduler")
    driver.find_element("id", "italian").click()
    page.wait(lambda: "controllato 3 ore fa" in page.row("scheduler"), 10, "the Italian row")
    row = page.row("scheduler")
    assert "1.2.0 non ha funzionato su questo dispositivo ed è stata annullata." in row
    assert "Pubblicata il 30 novembre 2026." in row
    assert page.button("scheduler", "update").text == "Riprova"
    # a release that did not fail here reads "Update"
    remote.check = components(scheduler={"failed_versions": ["1.1.0"]})
    page.check()
    page.wait(lambda: page.button("scheduler", "update").text == "Aggiorna", 10, "the plain button")
    assert page.js("return root.querySelector('li[data-component=scheduler] .note').hidden") is True


def test_italian_strings_and_the_lang_attribute(driver: Any, server: PanelServer, remote: Remote) -> None:
    remote.check = components(remote={"latest": "1.2.0", "update_available": True})
    page = open_panel(driver, server, "?lang=it")
    page.wait(lambda: page.text("h2") == "Aggiornamenti", 10, "the Italian title")
    assert page.text("button.check") == "Cerca aggiornamenti"
    assert page.badge("scheduler") == "Aggiorna prima remote"
    assert page.text("button.update-all") == "Aggiorna tutto (2)"
    assert [b.text for b in (page.button("remote", "update"), page.button("remote", "dry-run"))] == \
        ["Aggiorna", "Prova"]
    page.button("remote", "update").click()
    remote.fake.send("update_progress", {"component": "remote", "phase": "downloading", "percent": 42})
    page.wait(lambda: "Aggiornamento di remote: downloading — 42%" in page.activity(), 10, "Italian progress")
    remote.fake.send("update_result", {"component": "remote", "success": False, "dry_run": False,
                                       "message": "Post-update checks failed, rolled back to v1.0.0"})
    assert "Non riuscito, ripristinato" in page.wait_result("remote", 10)["text"]
    # the element's own lang wins over the document's
    page.js("root.host.setAttribute('lang', 'en')")
    page.wait(lambda: page.text("h2") == "Updates", 10, "English on the element")
    assert "Failed, rolled back" in page.result("remote")["text"]
    assert page.js("return root.host.language") == "en"
    # a page's own words, for any text
    page.js("root.host.strings = {update: 'Installa {name}', title: 'Software'}")
    page.wait(lambda: page.text("h2") == "Software", 10, "the page's title")
    assert page.button("remote", "update").text == "Installa {name}"  # placeholders the text has no value for stay


def test_events_bubble_out_of_the_element_with_their_detail(driver: Any, server: PanelServer, remote: Remote) -> None:
    page = open_panel(driver, server)
    page.wait(lambda: page.events("dunebugger-check-finished"), 10, "check-finished")
    [check] = page.events("dunebugger-check-finished")
    assert (check["bubbles"], check["composed"]) == (True, True)
    assert check["detail"]["error"] is None
    assert {n: c["state"] for n, c in check["detail"]["components"].items()} == \
        {"remote": "current", "scheduler": "available", "core": "current"}
    assert check["detail"]["components"]["scheduler"]["latest"] == "1.2.0"
    # one event per kind of outcome: success, rollback, failure and cancel told apart
    cases = [({"success": True, "message": "Updated scheduler to 1.2.0"}, "success", "updated"),
             ({"success": False, "message": "Post-update checks failed, rolled back to v1.0.0"}, "rollback",
              "rolled-back"),
             ({"success": False, "message": "health check timed out", "status": "failed"}, "failure", "failed"),
             ({"success": False, "message": "Update of scheduler cancelled", "status": "cancelled"}, "cancel",
              "cancelled")]
    for body, outcome, kind in cases:
        page.wait(lambda: "scheduler:update" in page.enabled(), 10, "the buttons")
        before = len(page.events())
        page.button("scheduler", "update").click()
        remote.fake.send("update_progress", {"component": "scheduler", "phase": "downloading", "percent": 40})
        remote.fake.send("update_result", {"component": "scheduler", "dry_run": False, **body})
        page.wait(lambda before=before: page.events("dunebugger-update-finished")
                  and len(page.events()) > before + 2, 10, outcome)
        started, progress, finished = [e for e in page.events()[before:]
                                       if e["type"] != "dunebugger-check-finished"][:3]
        assert all(e["bubbles"] and e["composed"] for e in (started, progress, finished))
        assert (started["type"], started["detail"]) == ("dunebugger-update-started", {
            "component": "scheduler", "action": "update", "from": "1.0.0", "to": "1.2.0", "external": False})
        assert (progress["type"], progress["detail"]) == ("dunebugger-update-progress", {
            "component": "scheduler", "action": "update", "phase": "downloading", "percent": 40, "external": False})
        assert finished["type"] == "dunebugger-update-finished"
        assert finished["detail"] == {"component": "scheduler", "action": "update", "outcome": outcome, "kind": kind,
                                      "success": body["success"], "message": body["message"], "dryRun": False,
                                      "from": "1.0.0", "to": "1.2.0", "external": False}
    # a failed check is a check-finished with its error
    remote.check = {"error": "GitHub rate limit exceeded"}
    page.check()
    page.wait(lambda: page.events("dunebugger-check-finished")[-1]["detail"]["error"] == "GitHub rate limit exceeded",
              10, "the failed check's event")


def test_the_rollback_asks_first_and_names_both_versions(driver: Any, server: PanelServer, remote: Remote) -> None:
    remote.check = components(scheduler={"current": "1.2.0", "latest": "1.2.0", "update_available": False,
                                         "previous": "1.0.0"})
    page = open_panel(driver, server)
    page.wait(lambda: "scheduler:rollback" in page.enabled(), 10, "Roll back")
    assert page.button("scheduler", "rollback").get_attribute("aria-label") == "Roll back scheduler to 1.0.0"
    assert [c for c in page.enabled() if c.endswith(":rollback")] == ["scheduler:rollback"]  # only there is a previous
    page.button("scheduler", "rollback").click()
    assert page.js("return root.querySelector('dialog').open") is True
    assert page.text("dialog h3") == "Roll back scheduler from 1.2.0 to 1.0.0?"
    assert "scheduler restarts with 1.0.0, the version it ran before 1.2.0." in page.text("dialog")
    assert page.text("dialog button.confirm") == "Roll back to 1.0.0"
    assert page.js("return root.activeElement.className") == "cancel"  # the safe answer has the focus
    page.js("root.querySelector('dialog button.cancel').click()")
    assert page.js("return root.querySelector('dialog').open") is False
    with pytest.raises(queue.Empty):
        remote.fake.next("updater.rollback", timeout=1)
    assert page.events("dunebugger-update-started") == []
    # Escape says no too
    page.button("scheduler", "rollback").click()
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    ActionChains(driver).send_keys(Keys.ESCAPE).perform()
    page.wait(lambda: page.js("return !root.querySelector('dialog').open"), 5, "Escape to close the dialog")
    # in Italian, then yes
    driver.find_element("id", "italian").click()
    page.button("scheduler", "rollback").click()
    assert page.text("dialog h3") == "Riportare scheduler da 1.2.0 a 1.0.0?"
    page.js("root.querySelector('dialog button.confirm').click()")
    assert remote.fake.next("updater.rollback")["body"] == {"component": "scheduler"}
    remote.fake.send("update_result", {"component": "scheduler", "success": False, "dry_run": False,
                                       "message": "Rollback requested, rolled back to v1.0.0"})
    result = page.wait_result("scheduler", 10)
    assert (result["kind"], result["tone"]) == ("rolled-back", "info")
    assert result["text"].startswith("↺ Ripristinato — Rollback requested")
    finished = page.events("dunebugger-update-finished")[-1]["detail"]
    assert (finished["action"], finished["outcome"], finished["from"], finished["to"]) == \
        ("rollback", "success", "1.2.0", "1.0.0")


def test_update_all_goes_remote_first_then_the_rest(driver: Any, server: PanelServer, remote: Remote) -> None:
    remote.check = components(remote={"latest": "1.1.0", "update_available": True},
                              core={"latest": "1.3.0", "update_available": True})
    page = open_panel(driver, server)
    assert page.text("button.update-all") == "Update all (3)"

    done = {"remote": "1.1.0", "scheduler": "1.2.0", "core": "1.3.0"}
    updated: list[str] = []

    def answer(message: dict[str, Any]) -> list[dict[str, Any]]:
        name = message["body"]["component"]
        updated.append(name)
        ok = name != "core"  # core's release fails its checks and is rolled back
        # the device after this update: what the next check says
        remote.check = components(**{"core": {"latest": "1.3.0", "update_available": True}} | {
            n: {"current": done[n], "latest": done[n], "update_available": False} for n in updated if n != "core"})
        return [reply("update_result", {"component": name, "success": ok, "dry_run": False,
                                        "message": f"Updated {name} to {done[name]}" if ok else
                                        "Post-update checks failed, rolled back to v1.0.0"}, message["connectionId"])]

    remote.on_update = answer
    page.js("root.querySelector('button.update-all').click()")
    page.wait(lambda: page.result("core"), 20, "the last update's outcome")
    assert updated == ["remote", "scheduler", "core"]
    outcomes = [(e["detail"]["component"], e["detail"]["outcome"]) for e in page.events("dunebugger-update-finished")]
    assert outcomes == [("remote", "success"), ("scheduler", "success"), ("core", "rollback")]
    page.wait(lambda: page.js("return root.querySelector('button.update-all').hidden"), 10,
              "Update all to go with fewer than two updates")


def test_an_update_all_stops_at_a_failure(driver: Any, server: PanelServer, remote: Remote) -> None:
    remote.check = components(remote={"latest": "1.1.0", "update_available": True})
    sent: list[str] = []

    def fail(message: dict[str, Any]) -> list[dict[str, Any]]:
        sent.append(message["body"]["component"])
        return [reply("update_result", {"component": message["body"]["component"], "success": False,
                                        "dry_run": False, "message": "health check timed out", "status": "failed"},
                      message["connectionId"])]

    remote.on_update = fail
    page = open_panel(driver, server)
    page.js("root.querySelector('button.update-all').click()")
    page.wait(lambda: page.result("remote"), 10, "remote's outcome")
    page.wait(lambda: "remote:update" in page.enabled(), 10, "the buttons after the refreshing check")
    assert sent == ["remote"]


def test_readonly_and_components(driver: Any, server: PanelServer, remote: Remote) -> None:
    remote.check = components(scheduler={"previous": "0.9.0"}, remote={"latest": "1.1.0", "update_available": True})
    page = open_panel(driver, server)
    page.js("root.host.readonly = true; root.host.components = ['scheduler', 'core']")
    page.wait(lambda: page.js("return root.querySelectorAll('li.row').length") == 2, 10, "two rows")
    assert page.js("return root.host.getAttribute('components')") == "scheduler core"
    assert page.js("return [...root.querySelectorAll('button')].filter((b) => b.checkVisibility()).length") == 0
    assert page.enabled() == []
    assert "Update remote first" in page.row("scheduler")  # the rule still reads the hidden remote row
    page.js("root.host.removeAttribute('readonly'); root.host.setAttribute('components', 'remote, scheduler')")
    page.wait(lambda: page.js("return [...root.querySelectorAll('li.row')].map((r) => r.dataset.component)")
              == ["remote", "scheduler"], 10, "the rows of the attribute")
    assert {"remote:update", "scheduler:rollback"} <= set(page.enabled())


PANEL_BG = "section"


def test_custom_properties_and_parts_change_the_computed_colours(driver: Any, server: PanelServer,
                                                                 remote: Remote) -> None:
    page = open_panel(driver, server)
    primary = "li[data-component=scheduler] button[data-action=update]"
    assert page.colour(PANEL_BG) == "rgb(255, 255, 255)"
    assert page.colour(primary) == "rgb(26, 86, 196)"
    page.js("""root.host.style.setProperty('--dbu-bg', 'rgb(250, 240, 230)');
               root.host.style.setProperty('--dbu-accent', 'rgb(120, 20, 90)');
               root.host.style.setProperty('--dbu-fg', 'rgb(10, 20, 30)');
               root.host.style.setProperty('--dbu-font', '20px/1.2 serif');
               root.host.style.setProperty('--dbu-space', '24px');""")
    assert page.colour(PANEL_BG) == "rgb(250, 240, 230)"
    assert page.colour(primary) == "rgb(120, 20, 90)"
    assert page.colour("h2", "color") == "rgb(10, 20, 30)"
    assert page.colour(PANEL_BG, "padding-top") == "24px"
    assert page.colour(PANEL_BG, "font-size") == "20px"
    # the parts, styled from the page
    driver.execute_script("""const s = document.createElement('style');
        s.textContent = `dunebugger-updates::part(row) { background-color: rgb(1, 2, 3); }
                         dunebugger-updates::part(update-button) { border-radius: 0px; }
                         dunebugger-updates::part(badge) { color: rgb(4, 5, 6); }`;
        document.head.append(s);""")
    assert page.colour("li[data-component=core]") == "rgb(1, 2, 3)"
    assert page.colour(primary, "border-top-left-radius") == "0px"
    assert page.colour("li[data-component=scheduler] .badge", "color") == "rgb(4, 5, 6)"
    parts = set(page.js("return [...root.querySelectorAll('[part]')]"
                        ".flatMap((n) => n.getAttribute('part').split(' '))"))
    assert {"row", "button", "update-button", "dry-run-button", "rollback-button", "check-button", "notes", "note",
            "progress", "badge", "result", "dialog", "confirm-button"} <= parts


def test_dark_mode_follows_prefers_color_scheme(driver: Any, server: PanelServer, remote: Remote) -> None:
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia",
                           {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    page = open_panel(driver, server)
    primary = "li[data-component=scheduler] button[data-action=update]"
    assert page.colour(PANEL_BG) == "rgb(31, 32, 35)"
    assert page.colour("h2", "color") == "rgb(232, 234, 237)"
    assert page.colour(primary) == "rgb(138, 180, 248)"
    assert page.colour(PANEL_BG, "color-scheme") == "dark"
    assert page.js("return getComputedStyle(document.body).backgroundColor") == "rgb(18, 19, 21)"  # the demo too
    # a page that chose light for itself
    page.js("root.host.setAttribute('theme', 'light')")
    assert page.colour(PANEL_BG) == "rgb(255, 255, 255)"
    # light media, and the demo's one click to dark
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia",
                           {"features": [{"name": "prefers-color-scheme", "value": "light"}]})
    page.js("root.host.removeAttribute('theme')")
    assert page.colour(PANEL_BG) == "rgb(255, 255, 255)"
    driver.find_element("id", "dark").click()
    assert page.colour(PANEL_BG) == "rgb(31, 32, 35)"
    assert page.js("return root.host.getAttribute('theme')") == "dark"
    # the page's own custom property still wins in the dark
    page.js("root.host.style.setProperty('--dbu-bg', 'rgb(0, 0, 64)')")
    assert page.colour(PANEL_BG) == "rgb(0, 0, 64)"


def test_an_update_started_elsewhere_is_an_event_too(driver: Any, server: PanelServer, remote: Remote) -> None:
    page = open_panel(driver, server)
    remote.fake.send("update_progress", {"component": "core", "phase": "staging"})
    page.wait(lambda: page.events("dunebugger-update-started"), 10, "the started event")
    assert page.events("dunebugger-update-started")[0]["detail"] == {
        "component": "core", "action": "update", "from": "1.0.0", "to": None, "external": True}
    remote.fake.send("update_result", {"component": "core", "success": True, "dry_run": False,
                                       "message": "Updated core to 1.1.0"})
    page.wait(lambda: page.events("dunebugger-update-finished"), 10, "the finished event")
    detail = page.events("dunebugger-update-finished")[0]["detail"]
    assert (detail["component"], detail["outcome"], detail["external"]) == ("core", "success", True)


def test_the_broadcast_twin_of_an_outcome_is_not_a_second_outcome(driver: Any, server: PanelServer,
                                                                   remote: Remote) -> None:
    """The remote answers the asker and broadcasts every result as `update_result` and a `log`; the panel's
    own check after the update may be running when they come. One outcome, one event, no "check failed"."""
    message = "Post-update checks failed, rolled back to v1.0.0"

    def answer(sent: dict[str, Any]) -> list[dict[str, Any]]:
        body = {"component": "scheduler", "success": False, "dry_run": False, "message": message}
        return [reply("update_result", body, sent["connectionId"]), reply("update_result", body),
                reply("log", {"success": False, "message": message, "level": "warning"})]

    remote.on_update = answer
    page = open_panel(driver, server)
    page.button("scheduler", "update").click()
    page.wait(lambda: len(page.events("dunebugger-check-finished")) >= 2, 10, "the check after the update")
    assert len(page.events("dunebugger-update-finished")) == 1
    assert "Check failed" not in page.text()
    assert page.events("dunebugger-check-finished")[-1]["detail"]["error"] is None


def test_the_twin_of_an_update_arriving_after_a_rollback_began_does_not_end_it(driver: Any, server: PanelServer,
                                                                               remote: Remote) -> None:
    """A person (or a test) confirms "Roll back" the moment the update's result shows; the update's broadcast
    twin and its `log` come after the rollback was asked for. They are not the rollback's outcome."""
    updated = "Updated scheduler to 1.2.0"
    remote.check = components(scheduler={"current": "1.0.0", "latest": "1.2.0", "update_available": True,
                                         "previous": None})
    page = open_panel(driver, server)
    page.button("scheduler", "update").click()
    remote.fake.next("updater.perform_update")
    remote.check = components(scheduler={"current": "1.2.0", "latest": "1.2.0", "update_available": False,
                                         "previous": "1.0.0"})  # what the panel's check after the update finds
    remote.fake.send("update_result", {"component": "scheduler", "success": True, "dry_run": False,
                                       "message": updated})
    page.wait(lambda: (page.result("scheduler") or {}).get("kind") == "updated", 10, "the update's result")
    page.wait(lambda: "scheduler:rollback" in page.enabled(), 10, "Roll back after the check")
    page.button("scheduler", "rollback").click()
    page.js("root.querySelector('dialog button.confirm').click()")
    remote.fake.next("updater.rollback")
    remote.fake.send("update_result", {"component": "scheduler", "success": True, "dry_run": False,
                                       "message": updated})  # the broadcast twin, late
    remote.fake.send("log", {"success": True, "message": updated, "level": "info"})
    time.sleep(1)  # what the panel would do with them, it has done by now
    assert page.result("scheduler") is None
    assert page.enabled() == []  # the rollback still runs
    remote.fake.send("update_result", {"component": "scheduler", "success": False, "dry_run": False,
                                       "message": "Rollback requested, rolled back to v1.0.0"})
    result = page.wait_result("scheduler", 10)
    assert result["kind"] == "rolled-back"
    finished = [e["detail"] for e in page.events("dunebugger-update-finished")]
    assert [(f["action"], f["outcome"]) for f in finished] == [("update", "success"), ("rollback", "success")]
