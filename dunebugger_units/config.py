"""The configuration: one YAML file, validated into frozen dataclasses.

`parse_config` is pure (a mapping in, a Config or a ConfigError naming the key out); `load_config` is the
only function here that reads a file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .calendar import Calendar, parse_calendar, parse_timespan
from .errors import ConfigError, Refused
from .yamlerror import safe_load_unique, yaml_error

DEFAULT_CONFIG_PATH = Path("/etc/dunebugger/updater.yaml")
CONFIG_ENV = "DUNEBUGGER_UNITS_CONFIG"
POLICIES = ("notify", "auto")  # notify: a person decides (the default); auto: updated unattended, in the window
AUTO_LIMITS = ("patch", "minor", "major")  # how far an unattended update may go from the installed version
DEFAULT_SHOW_LOCK = "/run/dunebugger/updates.lock"
COMPONENT_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
MAX_CONFIG_BYTES = 256 * 1024


@dataclass(frozen=True)
class GithubConfig:
    api_url: str = "https://api.github.com"
    owner: str = "marco-svitol"
    token_file: str | None = None
    include_prerelease: bool = False
    timeout: float = 15.0
    max_response_bytes: int = 4 * 1024 * 1024
    manifest_url: str = "https://raw.githubusercontent.com/{owner}/{repo}/{tag}/update-manifest.yaml"
    # Hosts a redirect may lead to (besides the host asked). GitHub sends asset downloads elsewhere.
    redirect_hosts: tuple[str, ...] = (
        "github.com",
        "objects.githubusercontent.com",
        "release-assets.githubusercontent.com",
        "codeload.github.com",
    )


# key -> (accepted python types, type name for the error, nullable)
KeySpec = tuple[tuple[type, ...], str, bool]


@dataclass(frozen=True)
class ComponentConfig:
    """One component. `type` names its kind (kinds.KINDS), which declares the keys it takes beside the common
    ones; a kind's key that is no field here is kept in `settings`."""

    name: str
    type: str
    repo: str
    # container
    compose_service: str | None = None
    # python_app
    service: str | None = None
    install_dir: str | None = None
    version_file: str = "VERSION"
    asset_pattern: str = "dunebugger-{version}.tar.gz"
    config_paths: tuple[str, ...] = ("app/config",)  # kept from the device, never taken from a tarball
    releases_dir: str | None = None  # default: <install_dir>.releases, beside the install path
    # the interpreter a new release's venv is made from: configuration only, never a file the app's user can
    # edit (a venv's pyvenv.cfg belongs to pi)
    python: str = "/usr/bin/python3"
    pip_index_url: str | None = None
    pip_find_links: tuple[str, ...] = ()
    # who owns the release dirs and runs every child that builds in them; default: the service's User=
    owner: str | None = None
    # both: optional HTTP health endpoint, e.g. http://localhost:8080/health
    health_url: str | None = None
    health_expected_status: int = 200
    # when updates may happen
    policy: str = "notify"
    auto_limit: str = "minor"
    auto_prerelease: bool = False  # may an unattended update install a prerelease?
    prepare_ahead: bool = True  # after a check finds an update, root downloads and stages it (phases/prepare.py)
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class UpdateConfig:
    """Limits and deadlines of the update pipeline (a release's manifest may only make them stricter)."""

    keep_backups: int = 3
    stability_seconds: float = 10.0
    health_timeout: float = 60.0
    container_min_free_mb: int = 500
    core_min_free_mb: int = 1000
    allow_missing_checksum: bool = False
    max_download_bytes: int = 200 * 1024 * 1024
    max_unpacked_bytes: int = 500 * 1024 * 1024
    job_timeout: float = 120.0
    # a download is stalled below this rate over a whole window, and resumed (Range) up to this many times
    stall_bytes_per_second: int = 1024
    stall_seconds: float = 60.0
    download_retries: int = 5


REMOTE_FIRST = ("available", "running")


@dataclass(frozen=True)
class MaintenanceWindow:
    """Unattended updates start only within `length` seconds after a start of the calendar expression."""

    start: str
    length: str
    seconds: float
    calendar: Calendar


@dataclass(frozen=True)
class PolicyConfig:
    """When updates may happen, and rules between components. `remote_first`: core and scheduler are refused
    while remote has an update `available` (the remote's own rule, the default), or only while remote's
    update is `running`."""

    maintenance_window: MaintenanceWindow | None = None  # None: any time
    show_lock: str = DEFAULT_SHOW_LOCK
    remote_first: str = "available"


@dataclass(frozen=True)
class Config:
    github: GithubConfig = field(default_factory=GithubConfig)
    compose_file: str = "/opt/dunebugger/docker-compose.yml"
    backup_dir: str = "/opt/dunebugger/backups"
    state_dir: str = "/var/lib/dunebugger-units"  # root's own state: only root writes here
    cache_dir: str | None = None  # the check's cache (default <state_dir>/check): untrusted input to root
    trusted_keys: str | None = None  # an OpenPGP keyring: when set, releases must be signed by one of its keys
    components: Mapping[str, ComponentConfig] = field(default_factory=dict)
    update: UpdateConfig = field(default_factory=UpdateConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    source: str = "built-in defaults"

    def component(self, name: str) -> ComponentConfig:
        try:
            return self.components[name]
        except KeyError:
            known = ", ".join(self.components)
            raise ConfigError(f"unknown component {name!r} (known: {known})") from None

    @property
    def check_cache_dir(self) -> str:
        return self.cache_dir or f"{self.state_dir.rstrip('/')}/check"


def validate_instance(config: Config, name: str) -> ComponentConfig:
    """A unit instance (or a command's argument) is a component name: anything else is refused before
    anything happens, and never shapes a path."""
    known = ", ".join(config.components)
    if not COMPONENT_NAME.match(name):
        raise Refused(f"refusing unit instance {name!r}: not a component name (known: {known})")
    if name not in config.components:
        raise Refused(f"refusing unit instance {name!r}: unknown component (known: {known})")
    return config.components[name]


DEFAULT_COMPONENTS: dict[str, dict[str, Any]] = {
    "core": {
        "type": "python_app",
        "repo": "dunebugger",
        "service": "dunebugger.service",
        "install_dir": "/opt/dunebugger/core",
    },
    "scheduler": {"type": "container", "repo": "dunebugger-scheduler", "compose_service": "scheduler"},
    "remote": {"type": "container", "repo": "dunebugger-remote", "compose_service": "remote"},
}

_GITHUB_KEYS: dict[str, KeySpec] = {
    "api_url": ((str,), "a string", False),
    "owner": ((str,), "a string", False),
    "token_file": ((str,), "a path", True),
    "include_prerelease": ((bool,), "true or false", False),
    "timeout": ((int, float), "a number of seconds", False),
    "max_response_bytes": ((int,), "an integer", False),
    "manifest_url": ((str,), "a string", False),
    "redirect_hosts": ((list,), "a list of host names", False),
}
_TOP_KEYS: dict[str, KeySpec] = {
    "github": ((dict,), "a mapping", True),
    "components": ((dict,), "a mapping", True),
    "update": ((dict,), "a mapping", True),
    "policy": ((dict,), "a mapping", True),
    "compose_file": ((str,), "a path", False),
    "backup_dir": ((str,), "a path", False),
    "state_dir": ((str,), "a path", False),
    "cache_dir": ((str,), "a path", True),
    "trusted_keys": ((str,), "a path to an OpenPGP keyring", True),
}
_COMMON_COMPONENT_KEYS: dict[str, KeySpec] = {
    "type": ((str,), "a string", False),
    "repo": ((str,), "a string", False),
    "health_url": ((str,), "a URL", True),
    "health_expected_status": ((int,), "an HTTP status", False),
    "policy": ((str,), "notify or auto", False),
    "auto_limit": ((str,), "patch, minor or major", False),
    "auto_prerelease": ((bool,), "true or false", False),
    "prepare_ahead": ((bool,), "true or false", False),
}
_POLICY_KEYS: dict[str, KeySpec] = {
    "maintenance_window": ((dict,), "a mapping with start and length", True),
    "show_lock": ((str,), "an absolute path", False),
    "remote_first": ((str,), "available or running", False),
}
_UPDATE_KEYS: dict[str, KeySpec] = {
    "keep_backups": ((int,), "an integer", False),
    "stability_seconds": ((int, float), "a number of seconds", False),
    "health_timeout": ((int, float), "a number of seconds", False),
    "container_min_free_mb": ((int,), "a number of MB", False),
    "core_min_free_mb": ((int,), "a number of MB", False),
    "allow_missing_checksum": ((bool,), "true or false", False),
    "max_download_bytes": ((int,), "an integer", False),
    "max_unpacked_bytes": ((int,), "an integer", False),
    "job_timeout": ((int, float), "a number of seconds", False),
    "stall_bytes_per_second": ((int,), "a number of bytes a second", False),
    "stall_seconds": ((int, float), "a number of seconds", False),
    "download_retries": ((int,), "an integer", False),
}


def _describe(value: object) -> str:
    if value is None:
        return "null"
    return f"{type(value).__name__} {value!r}"[:80]


def _check_keys(
    raw: Mapping[str, Any], schema: Mapping[str, KeySpec], where: str
) -> dict[str, Any]:
    """Unknown keys and wrong types are errors that name the full key."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        dotted = f"{where}{key}"
        if key not in schema:
            raise ConfigError(f"{dotted}: unknown key (allowed: {', '.join(schema)})")
        types, wanted, nullable = schema[key]
        if value is None and nullable:
            out[key] = None
            continue
        # bool is an int in Python: never accept true where a number is meant
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            raise ConfigError(f"{dotted}: expected {wanted}, got {_describe(value)}")
        out[key] = value
    return out


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: expected a mapping, got {_describe(value)}")
    return value


def _or_empty(value: object) -> object:
    """An empty YAML section (`github:` alone) parses as null: treat it as an empty mapping."""
    return {} if value is None else value


def _parse_component(name: str, raw: object) -> ComponentConfig:
    where = f"components.{name}"
    if not COMPONENT_NAME.match(name):
        raise ConfigError(f"{where}: a component name is lowercase letters, digits and '-'")
    given = _mapping(_or_empty(raw), where)
    defaults = DEFAULT_COMPONENTS.get(name, {})
    if "type" in given and given["type"] != defaults.get("type"):
        defaults = {}  # another type than the default's: none of the default's keys apply
    merged = {**defaults, **given}
    type_name = merged.get("type")
    from .kinds import KINDS  # deferred: the kinds read this module's dataclasses

    kind = KINDS.get(type_name) if isinstance(type_name, str) else None
    if kind is None:
        raise ConfigError(f"{where}.type: unknown component type {type_name!r} (allowed: {', '.join(KINDS)})")
    values = _check_keys(merged, {**_COMMON_COMPONENT_KEYS, **kind.config_keys}, f"{where}.")
    for key, value in values.items():
        if isinstance(value, list):
            values[key] = _string_tuple(value, f"{where}.{key}")
    kind.check_config(values, where)
    for key in kind.required_keys:
        if not values.get(key):
            raise ConfigError(f"{where}.{key}: required for a {type_name} component")
    for key, allowed in (("policy", POLICIES), ("auto_limit", AUTO_LIMITS)):
        if key in values and values[key] not in allowed:
            raise ConfigError(f"{where}.{key}: expected {' or '.join(allowed)}, got {values[key]!r}")
    known = {f.name for f in fields(ComponentConfig)}
    settings = {key: value for key, value in values.items() if key not in known}
    return ComponentConfig(name=name, **{k: v for k, v in values.items() if k in known}, settings=settings)


def _parse_policy(raw: Mapping[str, Any]) -> PolicyConfig:
    values = _check_keys(raw, _POLICY_KEYS, "policy.")
    show_lock = values.get("show_lock", DEFAULT_SHOW_LOCK)
    if not show_lock.startswith("/"):
        raise ConfigError(f"policy.show_lock: expected an absolute path, got {show_lock!r}")
    remote_first = values.get("remote_first", "available")
    if remote_first not in REMOTE_FIRST:
        raise ConfigError(f"policy.remote_first: expected one of {', '.join(REMOTE_FIRST)}, got {remote_first!r}")
    window_raw = values.get("maintenance_window")
    if window_raw is None:
        return PolicyConfig(show_lock=show_lock, remote_first=remote_first)
    for key in window_raw:
        if key not in ("start", "length"):
            raise ConfigError(f"policy.maintenance_window.{key}: unknown key (allowed: start, length)")
    for key in ("start", "length"):
        if key not in window_raw:
            raise ConfigError(f"policy.maintenance_window.{key}: required (e.g. start: \"*-*-* 02:00:00\", "
                              "length: 3h)")
    start = window_raw["start"]
    if not isinstance(start, str):
        raise ConfigError(f"policy.maintenance_window.start: expected a calendar expression, got {_describe(start)}")
    calendar = parse_calendar(start, "policy.maintenance_window.start")
    seconds = parse_timespan(window_raw["length"], "policy.maintenance_window.length")
    window = MaintenanceWindow(start=start, length=str(window_raw["length"]), seconds=seconds, calendar=calendar)
    return PolicyConfig(maintenance_window=window, show_lock=show_lock, remote_first=remote_first)


def _string_tuple(items: list[Any], where: str) -> tuple[str, ...]:
    for item in items:
        if not isinstance(item, str) or not item:
            raise ConfigError(f"{where}: expected a list of strings, got an item {_describe(item)}")
    return tuple(items)


def _positive(value: float, key: str) -> None:
    if value <= 0:
        raise ConfigError(f"{key}: must be above 0, got {value}")


def parse_config(raw: object, source: str = "built-in defaults") -> Config:
    """Validate a parsed YAML document; defaults fill every key that is left out."""
    top = dict(_mapping(raw if raw is not None else {}, "configuration"))
    github_raw = _mapping(_or_empty(top.pop("github", None)), "github")
    components_raw = _mapping(_or_empty(top.pop("components", None)), "components")
    update = UpdateConfig(**_check_keys(_mapping(_or_empty(top.pop("update", None)), "update"), _UPDATE_KEYS,
                                        "update."))
    for key, value in vars(update).items():
        if key != "allow_missing_checksum" and not (key in ("keep_backups", "download_retries") and value == 0):
            _positive(value, f"update.{key}")
    policy = _parse_policy(_mapping(_or_empty(top.pop("policy", None)), "policy"))
    values = _check_keys(top, _TOP_KEYS, "")
    github_values = _check_keys(github_raw, _GITHUB_KEYS, "github.")
    if "redirect_hosts" in github_values:
        github_values["redirect_hosts"] = _string_tuple(github_values["redirect_hosts"], "github.redirect_hosts")
    github = GithubConfig(**github_values)
    _positive(github.timeout, "github.timeout")
    _positive(github.max_response_bytes, "github.max_response_bytes")
    if not github.api_url.startswith(("http://", "https://")):
        raise ConfigError(f"github.api_url: expected an http(s) URL, got {github.api_url!r}")
    names = {**dict.fromkeys(DEFAULT_COMPONENTS), **dict.fromkeys(components_raw)}
    components = {name: _parse_component(str(name), components_raw.get(name)) for name in names}
    return Config(github=github, components=components, update=update, policy=policy, source=source, **values)


def _plain(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def effective(config: Config) -> dict[str, Any]:
    """The configuration in force, defaults included, keyed as the file is (`dunebugger-units config`);
    `parse_config` of it gives the same Config back."""
    from .kinds import KINDS

    window = config.policy.maintenance_window
    components = {
        name: {**{key: _plain(value) for key, value in vars(component).items()
                  if key in _COMMON_COMPONENT_KEYS or key in KINDS[component.type].config_keys},
               **{key: _plain(value) for key, value in component.settings.items()}}
        for name, component in config.components.items()}
    return {
        "github": {key: _plain(value) for key, value in vars(config.github).items()},
        **{key: getattr(config, key) for key in ("compose_file", "backup_dir", "state_dir", "cache_dir",
                                                 "trusted_keys")},
        "update": dict(vars(config.update)),
        "policy": {"maintenance_window": {"start": window.start, "length": window.length} if window else None,
                   "show_lock": config.policy.show_lock, "remote_first": config.policy.remote_first},
        "components": components,
    }


def config_keys() -> list[str]:
    """Every key the file may set, dotted (`components.C.` for a component's): the man page lists them all."""
    keys = [*(f"github.{k}" for k in _GITHUB_KEYS), *(k for k in _TOP_KEYS if k not in ("github", "components",
                                                                                      "update", "policy")),
            *(f"update.{k}" for k in _UPDATE_KEYS), *(f"policy.{k}" for k in _POLICY_KEYS),
            "policy.maintenance_window.start", "policy.maintenance_window.length"]
    from .kinds import KINDS

    kind_keys = {key: spec for kind in KINDS.values() for key, spec in kind.config_keys.items()}
    component_keys = {**_COMMON_COMPONENT_KEYS, **kind_keys}
    return keys + [f"components.C.{k}" for k in component_keys]


def config_path(cli_value: str | None) -> Path:
    """`--config`, else $DUNEBUGGER_UNITS_CONFIG, else /etc/dunebugger/updater.yaml."""
    return Path(cli_value or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_PATH)


def load_config(path: Path, *, explicit: bool = False) -> Config:
    """Read and validate the file. A missing default file means the built-in defaults of the device; a path a
    person gave (`explicit`) must exist."""
    import yaml  # deferred: keeps `--help` fast on a Pi

    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"reading configuration {path}: it does not exist") from None
        return parse_config({}, source="built-in defaults")
    except OSError as exc:
        raise ConfigError(f"reading configuration {path}: {exc.strerror}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"reading configuration {path}: larger than {MAX_CONFIG_BYTES} bytes")
    try:
        raw = safe_load_unique(data)
    except yaml.YAMLError as exc:
        raise ConfigError(f"parsing configuration {path}: not valid YAML: {yaml_error(exc)}") from None
    try:
        return parse_config(raw, source=str(path))
    except ConfigError as exc:
        raise ConfigError(f"configuration {path}: {exc}") from None
