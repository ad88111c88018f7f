from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from dunebugger_units.github import Asset, Lookup, Release
from dunebugger_units.phases.check import CheckFacts, decide_record
from dunebugger_units.state import merge_view

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
URL = "http://gh/repos/o/r/releases/latest"
R120 = Release("v1.2.0", "1.2.0", "v1.2.0", "notes 1.2.0", "http://h/1.2.0", "2026-11-01T00:00:00Z", False,
               (Asset("a.tar.gz", 3, "http://h/a", "sha256:00"),))
STORED = {"latest": "1.1.0", "tag": "v1.1.0", "release_notes": "old notes", "release_url": "u", "assets": [],
          "published_at": None, "last_checked": "2026-11-26T12:00:00Z", "etag": '"e1"', "etag_url": URL}


def facts(current: str = "1.0.0", stored: dict[str, Any] | None = None, **kw: Any) -> CheckFacts:
    return CheckFacts(component="scheduler", current=current, stored=stored or {}, url=URL, **kw)


CASES = [
    pytest.param(facts(lookup=Lookup(R120, '"e2"')),
                 {"latest": "1.2.0", "update_available": True, "etag": '"e2"', "error": None,
                  "last_checked": "2026-11-27T12:00:00Z"}, id="fresh-release"),
    pytest.param(facts(current="1.2.0", lookup=Lookup(R120, None)),
                 {"update_available": False, "etag_url": None}, id="up-to-date-no-etag"),
    pytest.param(facts(stored=STORED, lookup=Lookup(None, '"e1"', not_modified=True)),
                 {"latest": "1.1.0", "release_notes": "old notes", "update_available": True,
                  "last_checked": "2026-11-27T12:00:00Z"}, id="304-reuses-stored"),
    pytest.param(facts(stored=STORED, error="GitHub answered HTTP 500"),
                 {"latest": "1.1.0", "error": "GitHub answered HTTP 500", "last_checked": "2026-11-26T12:00:00Z"},
                 id="failure-keeps-last-known"),
    pytest.param(facts(stored=STORED, error="rate limited until X", rate_limited_until="X"),
                 {"rate_limited_until": "X", "etag": '"e1"'}, id="rate-limited-keeps-etag"),
    pytest.param(facts(current="unknown", lookup=Lookup(R120, None)),
                 {"update_available": True}, id="unknown-current-gets-update"),
    pytest.param(facts(current="unknown", lookup=Lookup(None, None)),
                 {"latest": None, "update_available": False}, id="nothing-published"),
    pytest.param(facts(current="1.3.0", lookup=Lookup(R120, None)),
                 {"update_available": False}, id="newer-installed-is-no-update"),
]


@pytest.mark.parametrize(("given", "expected"), CASES)
def test_decide_record(given: CheckFacts, expected: dict[str, Any]) -> None:
    record = decide_record(given, NOW)
    assert {key: record[key] for key in expected} == expected
    assert record["current"] == given.current


VIEWS: list[object] = [
    pytest.param({"core": {"current": "1.0.0", "latest": "1.2.0", "last_checked": "2026-12-01T10:00:00Z"}}, {},
                 ("1.0.0", True), id="checked-only"),
    pytest.param({"core": {"current": "1.0.0", "latest": "1.2.0", "last_checked": "2026-12-01T10:00:00Z"}},
                 {"core": {"current": "1.2.0", "installed_at": "2026-12-01T11:00:00Z"}}, ("1.2.0", False),
                 id="installed-since"),
    pytest.param({"core": {"current": "1.2.0", "latest": "1.2.0", "last_checked": "2026-12-01T12:00:00Z"}},
                 {"core": {"current": "1.0.0", "installed_at": "2026-12-01T11:00:00Z"}}, ("1.2.0", False),
                 id="checked-since"),
    pytest.param({"core": 5}, {}, (None, False), id="hostile-shape"),
    pytest.param({"core": {"latest": ["1.2.0"], "current": {"x": 1}}}, {}, (None, False), id="hostile-types"),
]


@pytest.mark.parametrize(("checked", "own", "expected"), VIEWS)
def test_merge_view(checked: dict[str, Any], own: dict[str, Any], expected: tuple[str | None, bool]) -> None:
    view = merge_view({"components": checked}, {"components": own})["core"]
    assert (view["current"], view["update_available"]) == expected
