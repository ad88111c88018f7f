"""A device's files laid out under one root, and the releases most tests start from."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kits.standin import GithubStandin

FIXTURES = Path(__file__).parent.parent / "fixtures"
# where the updater finds a release's update manifest: the stand-in's raw files
MANIFEST_URL = "{api_url}/raw/{owner}/{repo}/{tag}/update-manifest.yaml"


@dataclass
class Device:
    """A device's files under one root: compose file, core install dir, backups and state."""

    root: Path

    @property
    def compose_file(self) -> Path:
        return self.root / "opt/dunebugger/docker-compose.yml"

    @property
    def core_dir(self) -> Path:
        return self.root / "opt/dunebugger/core"

    @property
    def backup_dir(self) -> Path:
        return self.root / "opt/dunebugger/backups"

    @property
    def state_dir(self) -> Path:
        return self.root / "var/lib/dunebugger-units"

    def lay_out(self, core_version: str = "1.0.0") -> Device:
        self.compose_file.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(FIXTURES / "docker-compose.yml", self.compose_file)
        self.core_dir.mkdir(parents=True, exist_ok=True)
        (self.core_dir / "VERSION").write_text(json.dumps({"version": core_version, "prerelease": "null",
                                                           "full_version": core_version}))
        self.backup_dir.mkdir(parents=True, exist_ok=True)
        return self

    def config(self, api_url: str, **github: Any) -> dict[str, Any]:
        return {
            "github": {"api_url": api_url, "timeout": 2, **github},
            "compose_file": str(self.compose_file),
            "backup_dir": str(self.backup_dir),
            "state_dir": str(self.state_dir),
            # preparing ahead after each check is off unless a test turns it on (tests/system/test_prepare.py):
            # the other tests start their update from a device where nothing works in the background
            "components": {"core": {"install_dir": str(self.core_dir), "prepare_ahead": False},
                           "scheduler": {"prepare_ahead": False}, "remote": {"prepare_ahead": False}},
        }

    def write_config(self, path: Path, api_url: str, **github: Any) -> Path:
        path.write_text(yaml.safe_dump(self.config(api_url, **github)))
        return path

    def state(self) -> dict[str, Any]:
        """Root's own record (installed versions, last results)."""
        return json.loads((self.state_dir / "state.json").read_text())  # type: ignore[no-any-return]

    @property
    def cache_dir(self) -> Path:
        return self.state_dir / "check"

    def cache(self) -> dict[str, Any]:
        """The check's record (releases, ETags)."""
        return json.loads((self.cache_dir / "check.json").read_text())  # type: ignore[no-any-return]


def publish_defaults(standin: GithubStandin) -> None:
    """The releases most tests start from: one newer release of each component."""
    standin.add_release("dunebugger", "v1.2.0")
    standin.add_release("dunebugger-scheduler", "v1.0.0")
    standin.add_release("dunebugger-remote", "v1.0.0-beta.9", prerelease=True)


INSIDE = Device(Path("/"))  # the device's layout, seen from inside a test systemd
