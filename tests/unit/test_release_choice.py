from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dunebugger_units.compose import image_tag
from dunebugger_units.device import parse_version_file
from dunebugger_units.errors import CheckFailed
from dunebugger_units.github import choose_release, parse_release, rate_limit_until

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def rel(tag: object, *, pre: bool = False, draft: bool = False, **extra: Any) -> dict[str, Any]:
    return {"tag_name": tag, "prerelease": pre, "draft": draft, "assets": [], **extra}


CHOICES = [
    pytest.param([rel("v1.0.0-beta.9", pre=True), rel("v1.0.0-beta.10", pre=True)], True, "1.0.0-beta.10",
                 id="highest-not-first"),
    pytest.param([rel("v1.0.0-beta.9", pre=True)], False, None, id="prerelease-off-sees-none"),
    pytest.param([rel("v2.0.0", draft=True), rel("v1.0.0")], True, "1.0.0", id="drafts-skipped"),
    pytest.param([rel("v1.0.0"), rel("v1.0.0-beta.4", pre=True)], True, "1.0.0", id="release-beats-its-beta"),
    pytest.param([rel("nightly"), rel("v0.9.0")], False, "0.9.0", id="non-version-skipped"),
    pytest.param([], True, None, id="empty-list"),
]


@pytest.mark.parametrize(("objs", "pre", "expected"), CHOICES)
def test_choose_release(objs: list[Any], pre: bool, expected: str | None) -> None:
    release, _ = choose_release(objs, pre)
    assert (release.version if release else None) == expected


def test_skipped_tags_are_reported() -> None:
    _, skipped = choose_release([rel("nightly"), rel("v1.0.0")], False)
    assert skipped == ("nightly",)


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        pytest.param([], "not an object", id="list"),
        pytest.param({"assets": []}, "no 'tag_name'", id="no-tag"),
        pytest.param(rel(12), "'tag_name' is int", id="int-tag"),
        pytest.param({"tag_name": "v1", "assets": "x"}, "'assets' is str", id="assets-string"),
        pytest.param({"tag_name": "v1", "assets": [{"name": "a"}]}, "browser_download_url", id="asset-no-url"),
        pytest.param({"tag_name": "v1", "assets": [{"name": "a", "browser_download_url": "u", "size": True}]},
                     "'size' is bool", id="asset-bool-size"),
    ],
)
def test_parse_release_rejects_bad_shapes(obj: object, message: str) -> None:
    with pytest.raises(CheckFailed, match=message):
        parse_release(obj)


def test_parse_release_reads_assets_and_digest() -> None:
    release = parse_release(rel("v1.2.0", body="notes", assets=[
        {"name": "dunebugger-1.2.0.tar.gz", "size": 10, "browser_download_url": "http://x/a", "digest": "sha256:ab"}]))
    assert release.version == "1.2.0"
    assert release.notes == "notes"
    assert release.assets[0].digest == "sha256:ab"


LIMITS = [
    pytest.param(403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW.timestamp()) + 600)},
                 NOW + timedelta(seconds=600), id="403-reset"),
    pytest.param(429, {"retry-after": "120"}, NOW + timedelta(seconds=120), id="429-retry-after"),
    pytest.param(403, {"retry-after": "30"}, NOW + timedelta(seconds=30), id="403-retry-after"),
    pytest.param(429, {}, NOW + timedelta(minutes=1), id="429-bare"),
    pytest.param(403, {"x-ratelimit-remaining": "12"}, None, id="403-forbidden-not-limit"),
    pytest.param(500, {"retry-after": "5"}, None, id="500-is-no-limit"),
]


@pytest.mark.parametrize(("status", "headers", "expected"), LIMITS)
def test_rate_limit_until(status: int, headers: dict[str, str], expected: datetime | None) -> None:
    assert rate_limit_until(status, headers, NOW) == expected


VERSION_FILES = [
    pytest.param('{"version":"1.0.0","prerelease":"beta.5","build_type":"prerelease","build_number":51,'
                 '"commit":"872b692","full_version":"1.0.0-beta.6"}', "1.0.0-beta.6", id="full-version-wins"),
    pytest.param('{"version":"1.0.0","prerelease":"null"}', "1.0.0", id="string-null-prerelease"),
    pytest.param('{"version":"1.0.0","prerelease":"beta.2"}', "1.0.0-beta.2", id="no-full-version"),
    pytest.param("v0.9.1\n", "0.9.1", id="old-one-line"),
    pytest.param("", None, id="empty"),
    pytest.param("garbage here", None, id="garbage"),
    pytest.param('{"full_version": 3}', None, id="wrong-type"),
]


@pytest.mark.parametrize(("text", "expected"), VERSION_FILES)
def test_parse_version_file(text: str, expected: str | None) -> None:
    assert parse_version_file(text) == expected


@pytest.mark.parametrize(
    ("ref", "tag"),
    [
        pytest.param("ghcr.io/marco-svitol/dunebugger-scheduler:1.0.0-beta.15", "1.0.0-beta.15", id="ghcr"),
        pytest.param("127.0.0.1:5000/scheduler:1.2.0", "1.2.0", id="registry-port"),
        pytest.param("127.0.0.1:5000/scheduler", None, id="port-is-no-tag"),
        pytest.param("nats:2.10-alpine", "2.10-alpine", id="hub-short"),
        pytest.param("x/y@sha256:abc", None, id="digest-only"),
        pytest.param("127.0.0.1:5000/x:1.2.0@sha256:" + "a" * 64, "1.2.0", id="pinned-tag-and-digest"),
    ],
)
def test_image_tag(ref: str, tag: str | None) -> None:
    assert image_tag(ref) == tag
