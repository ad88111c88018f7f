"""The kinds of component, found by the `type` a component has in the configuration."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .container import ContainerKind
from .python_app import PythonAppKind

if TYPE_CHECKING:
    from .base import Kind

KINDS: dict[str, Kind] = {
    "container": ContainerKind(),
    "python_app": PythonAppKind(),
}


def kind_of(type_name: str) -> Kind:
    """The kind for a component's `type` (the configuration admits only the keys of KINDS)."""
    return KINDS[type_name]
