"""The container kind (scheduler, remote): a compose service whose version is its image tag.

This module is the kind as the configuration and a check see it. What an update does (pull, compose edit,
recreate, commit, undo) is in container_update.py, imported on first use (kinds/deferred.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from .. import compose
from ..versions import UNKNOWN, parse_version, strip_v
from .deferred import DeferredUpdate

if TYPE_CHECKING:
    from ..config import ComponentConfig, Config, KeySpec
    from .container_update import ContainerUpdate


class ContainerKind(DeferredUpdate):
    """A compose service whose version is its image tag."""

    config_keys: ClassVar[Mapping[str, KeySpec]] = {"compose_service": ((str,), "a string", False)}
    required_keys = ("repo", "compose_service")

    def check_config(self, values: Mapping[str, Any], where: str) -> None:
        """The types say it all."""

    def installed_version(self, config: Config, component: ComponentConfig) -> str:
        return installed_version(config, component)

    def update(self) -> ContainerUpdate:
        from .container_update import ContainerUpdate  # deferred: see the module's docstring

        return ContainerUpdate()


def installed_version(config: Config, component: ComponentConfig) -> str:
    """The tag of the service's image in the compose file, when it is a version."""
    text = compose.read_compose_text(Path(config.compose_file))
    tag = compose.image_tag(compose.service_image(text, component.compose_service or component.name))
    return strip_v(tag) if tag and parse_version(tag) else UNKNOWN
