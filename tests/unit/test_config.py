from __future__ import annotations

from pathlib import Path

import pytest

from dunebugger_units.config import config_path, effective, load_config, parse_config
from dunebugger_units.errors import ConfigError
from dunebugger_units.yamlerror import safe_load_unique

PACKAGING = Path(__file__).resolve().parents[2] / "packaging"


def test_defaults_match_the_device() -> None:
    config = parse_config({})
    assert config.github.api_url == "https://api.github.com"
    assert config.github.owner == "marco-svitol"
    assert config.github.include_prerelease is False
    assert config.compose_file == "/opt/dunebugger/docker-compose.yml"
    assert config.backup_dir == "/opt/dunebugger/backups"
    assert config.state_dir == "/var/lib/dunebugger-units"
    core = config.component("core")
    assert (core.type, core.repo, core.service, core.install_dir) == (
        "python_app", "dunebugger", "dunebugger.service", "/opt/dunebugger/core")
    assert config.component("scheduler").compose_service == "scheduler"
    assert config.component("remote").repo == "dunebugger-remote"


def test_partial_component_override_keeps_other_defaults() -> None:
    config = parse_config({"components": {"core": {"install_dir": "/srv/core"}}})
    assert config.component("core").install_dir == "/srv/core"
    assert config.component("core").service == "dunebugger.service"


BAD = [
    pytest.param({"colour": "red"}, "colour: unknown key", id="unknown-top-key"),
    pytest.param({"github": {"tokn": "x"}}, "github.tokn: unknown key", id="unknown-github-key"),
    pytest.param({"github": {"include_prerelease": "yes"}}, "github.include_prerelease: expected true or false",
                 id="string-for-bool"),
    pytest.param({"github": {"timeout": True}}, "github.timeout: expected a number", id="bool-for-number"),
    pytest.param({"github": {"timeout": -1}}, "github.timeout: must be above 0", id="negative-timeout"),
    pytest.param({"github": {"api_url": "ftp://x"}}, "github.api_url: expected an http(s) URL", id="bad-scheme"),
    pytest.param({"state_dir": 5}, "state_dir: expected a path", id="int-for-path"),
    pytest.param({"github": []}, "github: expected a mapping", id="list-for-section"),
    pytest.param({"components": {"core": {"type": "snap"}}}, "components.core.type: unknown component type 'snap'",
                 id="unknown-type"),
    pytest.param({"components": {"extra": {"type": "container", "repo": "x"}}},
                 "components.extra.compose_service: required", id="missing-required"),
    pytest.param({"components": {"remote": {"install_dir": "/x"}}}, "components.remote.install_dir: unknown key",
                 id="key-of-other-type"),
    pytest.param({"components": {"Bad_Name": {"type": "container"}}}, "components.Bad_Name:", id="bad-name"),
    pytest.param(["a", "b"], "configuration: expected a mapping", id="list-document"),
    pytest.param({"update": {"stall_seconds": 0}}, "update.stall_seconds: must be above 0", id="no-stall-window"),
    pytest.param({"update": {"stall_bytes_per_second": 1.5}}, "update.stall_bytes_per_second: expected a number of "
                 "bytes a second", id="fractional-stall-rate"),
    pytest.param({"update": {"download_retries": -1}}, "update.download_retries: must be above 0",
                 id="negative-retries"),
]


@pytest.mark.parametrize(("raw", "message"), BAD)
def test_bad_configuration_names_the_key(raw: object, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file_means_defaults(tmp_path: Path) -> None:
    config = load_config(tmp_path / "absent.yaml")
    assert config.source == "built-in defaults"
    assert config.component("core").install_dir == "/opt/dunebugger/core"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("github:\n  owner: [unclosed\n", "line 3, column 1: expected ',' or ']'", id="unclosed-flow"),
        pytest.param("github: {}\nupdate\n", "line 2, column 1: could not find expected ':' "
                     "(while scanning a simple key)", id="key-without-colon-is-its-own-line"),
        pytest.param('github:\n  owner: "x\n', "line 2, column 10: found unexpected end of stream "
                     "(while scanning a quoted scalar)", id="unclosed-quote-names-its-line"),
        pytest.param("github:\n\towner: x\n", "line 2, column 1: found character '\\t' that cannot start any token",
                     id="tab-indent"),
    ],
)
def test_invalid_yaml_names_file_line_and_the_parsers_reason(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "updater.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"parsing configuration {path}: not valid YAML: ")
    assert message in str(caught.value)


def test_file_errors_carry_the_path(tmp_path: Path) -> None:
    path = tmp_path / "updater.yaml"
    path.write_text("github: {include_prerelease: 3}\n")
    with pytest.raises(ConfigError, match=r"updater\.yaml: github\.include_prerelease"):
        load_config(path)


def test_config_path_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUNEBUGGER_UNITS_CONFIG", "/env/x.yaml")
    assert config_path("/cli/y.yaml") == Path("/cli/y.yaml")
    assert config_path(None) == Path("/env/x.yaml")
    monkeypatch.delenv("DUNEBUGGER_UNITS_CONFIG")
    assert config_path(None) == Path("/etc/dunebugger/updater.yaml")


@pytest.mark.parametrize(("text", "message"), [
    pytest.param("policy: {show_lock: /run/a}\ngithub: {}\npolicy: {remote_first: running}\n",
                 "line 3, column 1: duplicate key 'policy' (first at line 1)", id="top-level"),
    pytest.param("github:\n  owner: a\n  timeout: 3\n  owner: b\n",
                 "line 4, column 3: duplicate key 'owner' (first at line 2)", id="nested"),
    pytest.param("components:\n  core: {policy: auto, policy: notify}\n",
                 "line 2, column 24: duplicate key 'policy' (first at line 2)", id="flow-mapping"),
])
def test_a_key_given_twice_is_refused_with_both_lines(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "updater.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == f"parsing configuration {path}: not valid YAML: {message}"


def test_a_key_that_overrides_a_merge_is_no_duplicate(tmp_path: Path) -> None:
    path = tmp_path / "updater.yaml"
    path.write_text("components:\n  core: &base {policy: auto}\n  remote: {<<: *base, policy: notify}\n")
    config = load_config(path)
    assert (config.component("core").policy, config.component("remote").policy) == ("auto", "notify")


def uncommented_conffile() -> str:
    """The shipped conffile with every key uncommented: what a person gets who uncomments it all."""
    lines = (PACKAGING / "updater.yaml").read_text().splitlines()
    keys = lines[lines.index("# github:"):]
    return "\n".join(line[2:] if line.startswith("# ") else line[1:] for line in keys)


def test_the_download_limits_default_as_the_man_page_says() -> None:
    update = parse_config({}).update
    assert (update.stall_bytes_per_second, update.stall_seconds, update.download_retries) == (1024, 60, 5)
    assert parse_config({"update": {"download_retries": 0}}).update.download_retries == 0  # no resume at all


def test_the_conffile_uncommented_is_the_defaults_with_one_policy_block() -> None:
    text = uncommented_conffile()
    assert sum(line.startswith("policy:") for line in text.splitlines()) == 1
    assert parse_config(safe_load_unique(text)) == parse_config({})


@pytest.mark.parametrize("raw", [
    pytest.param({}, id="defaults"),
    pytest.param({"policy": {"maintenance_window": {"start": "*-*-* 02:00:00", "length": "3h"}},
                  "components": {"core": {"policy": "auto"}, "extra": {"type": "container", "repo": "x",
                                                                        "compose_service": "x"}},
                  "github": {"redirect_hosts": ["a.example"]}}, id="window-and-extra-component"),
])
def test_the_effective_configuration_reads_back_as_the_same(raw: dict[str, object]) -> None:
    config = parse_config(raw)
    shown = effective(config)
    assert parse_config(shown) == config
    assert shown["components"]["core"]["install_dir"] == "/opt/dunebugger/core"
    assert "compose_service" not in shown["components"]["core"]  # only the keys of its type
