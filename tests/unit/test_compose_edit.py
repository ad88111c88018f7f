"""The compose edit: only one service's image tag changes; every other byte of the file stays as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from dunebugger_units import compose
from dunebugger_units.compose import ComposeEditError

DEVICE_COMPOSE = (Path(__file__).parent.parent / "fixtures" / "docker-compose.yml").read_text()
SCHEDULER_NEW = "ghcr.io/marco-svitol/dunebugger-scheduler:1.2.0"
REMOTE_OLD = "ghcr.io/marco-svitol/dunebugger-remote:1.0.0-beta.8"
REMOTE_NEW = "ghcr.io/marco-svitol/dunebugger-remote:1.2.0"


def changed_lines(before: str, after: str) -> list[tuple[int, str, str]]:
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    assert len(old) == len(new), "the edit added or removed lines"
    return [(i, a, b) for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]


@pytest.mark.parametrize(
    ("service", "image", "old_line", "new_line"),
    [
        pytest.param(
            "scheduler",
            SCHEDULER_NEW,
            '    image: "ghcr.io/marco-svitol/dunebugger-scheduler:1.0.0-beta.15"\n',
            f'    image: "{SCHEDULER_NEW}"\n',
            id="double-quoted-stays-quoted",
        ),
        pytest.param(
            "remote",
            REMOTE_NEW,
            f"    image: {REMOTE_OLD}   # bridge to the cloud frontend\n",
            f"    image: {REMOTE_NEW}   # bridge to the cloud frontend\n",
            id="plain-keeps-trailing-comment",
        ),
    ],
)
def test_edit_changes_only_the_image_line(service: str, image: str, old_line: str, new_line: str) -> None:
    after = compose.set_service_image(DEVICE_COMPOSE, service, image)
    assert changed_lines(DEVICE_COMPOSE, after) == [
        (DEVICE_COMPOSE.splitlines(keepends=True).index(old_line), old_line, new_line)
    ]
    assert compose.service_image(after, service) == image


def test_other_services_comments_and_order_are_byte_identical() -> None:
    after = compose.set_service_image(DEVICE_COMPOSE, "scheduler", SCHEDULER_NEW)
    before_nats = DEVICE_COMPOSE[DEVICE_COMPOSE.index("  nats-server:") :]
    assert after.endswith(before_nats)
    assert after.startswith(DEVICE_COMPOSE[: DEVICE_COMPOSE.index("  scheduler:")])
    assert "# pinned tag: version detection reads it\n" in after
    assert "depends_on: [nats-server]\n" in after
    assert 'command: ["-js", "-p", "4222"]\n' in after


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(lambda t: t.replace("\n", "\r\n"), id="crlf-line-ends"),
        pytest.param(
            lambda t: t.replace("    volumes:\n      - /run", "    volumes:\n    - /run"),
            id="list-items-not-indented",
        ),
        pytest.param(
            lambda t: t.replace("services:\n  remote:", "services:\n\n\n  remote:"), id="blank-lines"
        ),
        pytest.param(
            lambda t: t.replace(
                '"ghcr.io/marco-svitol/dunebugger-scheduler:1.0.0-beta.15"',
                "'ghcr.io/marco-svitol/dunebugger-scheduler:1.0.0-beta.15'",
            ),
            id="single-quoted",
        ),
        pytest.param(lambda t: "version: '3.8'\n" + t + "volumes:\n  data: {}\n", id="top-level-keys"),
        pytest.param(lambda t: t.rstrip("\n"), id="no-final-newline"),
    ],
)
def test_other_styles_still_change_one_line_only(variant: object) -> None:
    before = variant(DEVICE_COMPOSE)  # type: ignore[operator]
    after = compose.set_service_image(before, "scheduler", SCHEDULER_NEW)
    changes = changed_lines(before, after)
    assert len(changes) == 1
    _, old, new = changes[0]
    assert old.replace("1.0.0-beta.15", "1.2.0") == new
    assert compose.service_image(after, "scheduler") == SCHEDULER_NEW


@pytest.mark.parametrize(
    ("text", "service", "message"),
    [
        pytest.param("services: [", "scheduler", "not valid YAML", id="not-yaml"),
        pytest.param("version: '3'\n", "scheduler", "has no services", id="no-services"),
        pytest.param(DEVICE_COMPOSE, "nope", "has no service 'nope'", id="unknown-service"),
        pytest.param("services:\n  scheduler:\n    build: .\n", "scheduler", "has no image", id="no-image"),
    ],
)
def test_edit_refuses_what_it_cannot_change(text: str, service: str, message: str) -> None:
    with pytest.raises(ComposeEditError, match=message):
        compose.set_service_image(text, service, SCHEDULER_NEW)


def test_edit_refuses_a_malformed_image() -> None:
    with pytest.raises(ComposeEditError, match="not well-formed"):
        compose.set_service_image(DEVICE_COMPOSE, "scheduler", "Bad Image:1")


@pytest.mark.parametrize(
    ("ref", "repository", "tag"),
    [
        pytest.param(
            "ghcr.io/marco-svitol/dunebugger-scheduler:1.0.0-beta.15",
            "ghcr.io/marco-svitol/dunebugger-scheduler",
            "1.0.0-beta.15",
            id="ghcr-beta",
        ),
        pytest.param(
            "127.0.0.1:5000/dunebugger-scheduler:1.0.0",
            "127.0.0.1:5000/dunebugger-scheduler",
            "1.0.0",
            id="registry-with-port",
        ),
        pytest.param("localhost:5000/a/b", "localhost:5000/a/b", None, id="port-is-no-tag"),
        pytest.param("nats:2.10-alpine", "nats", "2.10-alpine", id="docker-hub"),
        pytest.param("a__b.c-d:Tag_1.x", "a__b.c-d", "Tag_1.x", id="separators"),
    ],
)
def test_parse_image_ref(ref: str, repository: str, tag: str | None) -> None:
    parsed = compose.parse_image_ref(ref)
    assert (parsed.repository, parsed.tag) == (repository, tag)
    assert str(parsed) == ref


@pytest.mark.parametrize(
    "ref",
    [
        pytest.param("", id="empty"),
        pytest.param("Upper/case:1", id="uppercase-path"),
        pytest.param("repo:-1.0", id="tag-starts-with-dash"),
        pytest.param("repo:" + "1" * 129, id="tag-too-long"),
        pytest.param("repo:1.0 ", id="trailing-space"),
        pytest.param("repo:1.0;rm -rf /", id="shell-characters"),
        pytest.param("repo:1:2", id="two-tags"),
        pytest.param("/repo:1", id="leading-slash"),
        pytest.param("repo:1.0\n", id="newline"),
        pytest.param("repo:1.0é", id="non-ascii-tag"),
        pytest.param("r" * 256 + ":1", id="name-too-long"),
    ],
)
def test_malformed_references_are_refused(ref: str) -> None:
    with pytest.raises(ComposeEditError):
        compose.parse_image_ref(ref)


@pytest.mark.parametrize(
    ("current", "version", "target"),
    [
        pytest.param(
            "127.0.0.1:5000/dunebugger-scheduler:1.0.0",
            "v1.2.0",
            "127.0.0.1:5000/dunebugger-scheduler:1.2.0",
            id="leading-v-dropped",
        ),
        pytest.param("ghcr.io/o/r:1.0.0-beta.8", "1.0.0-beta.9", "ghcr.io/o/r:1.0.0-beta.9", id="prerelease"),
        pytest.param("ghcr.io/o/r", "1.2.0", "ghcr.io/o/r:1.2.0", id="untagged"),
        pytest.param(
            "ghcr.io/o/r:1.0.0@sha256:" + "a" * 64, "1.2.0", "ghcr.io/o/r:1.2.0", id="digest-dropped"
        ),
    ],
)
def test_target_image(current: str, version: str, target: str) -> None:
    assert compose.target_image(current, version) == target


def test_target_image_refuses_a_version_that_is_no_tag() -> None:
    with pytest.raises(ComposeEditError):
        compose.target_image("ghcr.io/o/r:1.0.0", "1.2.0+build/7")


def test_diff_names_the_file_and_shows_one_change() -> None:
    after = compose.set_service_image(DEVICE_COMPOSE, "scheduler", SCHEDULER_NEW)
    diff = compose.unified_diff(DEVICE_COMPOSE, after, "/opt/dunebugger/docker-compose.yml")
    assert diff.startswith(
        "--- /opt/dunebugger/docker-compose.yml (now)\n+++ /opt/dunebugger/docker-compose.yml"
    )
    assert [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("---", "+++")] == [
        '-    image: "ghcr.io/marco-svitol/dunebugger-scheduler:1.0.0-beta.15"',
        f'+    image: "{SCHEDULER_NEW}"',
    ]


D1, D2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64
DIGESTS: list[object] = [
    pytest.param([f"r.io/x@{D1}"], "r.io/x", None, D1, id="the-one"),
    pytest.param([f"other.io/x@{D2}", f"r.io/x@{D1}"], "r.io/x", None, D1, id="this-registry"),
    pytest.param([], "r.io/x", None, None, id="none"),
    pytest.param([f"r.io/x@{D1}"], "r.io/x", D1, D1, id="wanted-present"),
    pytest.param([f"r.io/x@{D1}"], "r.io/x", D2, None, id="wanted-missing"),
    pytest.param([f"other.io/x@{D2}"], "r.io/x", D2, None, id="wanted-only-elsewhere"),
]


@pytest.mark.parametrize(("repo_digests", "repository", "wanted", "expected"), DIGESTS)
def test_choose_digest(repo_digests: list[str], repository: str, wanted: str | None, expected: str | None) -> None:
    assert compose.choose_digest(repo_digests, repository, wanted) == expected


def test_a_pin_is_written_in_place() -> None:
    text = 'services:\n  s:\n    image: "r.io/x:1.0.0@' + D1 + '"  # pinned\n'
    edited = compose.set_service_image(text, "s", f"r.io/x:1.2.0@{D2}")
    assert edited == text.replace(f"1.0.0@{D1}", f"1.2.0@{D2}")
    assert compose.without_digest(f"r.io/x:1.2.0@{D2}") == "r.io/x:1.2.0"
