"""Who owns a component's files: configuration, never a path the app's user can change.

The owner of new release dirs, of the venv and of every child that builds inside them is
`components.<name>.owner` when set, else the `User=` of the component's service as systemd reports it. Root
is never accepted: the children would run as root, and a release could then run code as root (docs/security.md).
"""

from __future__ import annotations

import pwd
from typing import TYPE_CHECKING

from ..errors import UnitsError

if TYPE_CHECKING:
    from ..config import ComponentConfig
    from ..systemd import Systemd  # a type only: sdbus and asyncio stay out of a person's check


def choose_owner(component: str, configured: str | None, service_user: str) -> str:
    """Pure: the user name (or uid) that owns the component's files; refused when it would be root."""
    where = f"components.{component}.owner"
    chosen = configured or service_user
    if not chosen:
        raise UnitsError(f"choosing the owner of {component}'s files: {where} is not set and its service has no "
                         "User= (it would run as root, which never owns them)")
    if chosen in {"root", "0"}:
        raise UnitsError(f"choosing the owner of {component}'s files: {chosen!r} is root, which never owns them "
                         f"(set {where} to the service's user)")
    return chosen


def resolve_owner(component: str, name: str) -> tuple[int, int]:
    """(uid, gid) of a user name or uid from the user database; root refused after the lookup too."""
    try:
        entry = pwd.getpwuid(int(name)) if name.isdigit() else pwd.getpwnam(name)
    except (KeyError, ValueError):
        raise UnitsError(f"choosing the owner of {component}'s files: no user {name!r}") from None
    if entry.pw_uid == 0:
        raise UnitsError(f"choosing the owner of {component}'s files: {name!r} is root, which never owns them")
    return entry.pw_uid, entry.pw_gid


def files_owner(systemd: Systemd | None, component: ComponentConfig) -> tuple[int, int]:
    """The owner of the component's files: configured, or its service's User= read over the system bus."""
    user = ""
    if not component.owner:
        if systemd is None:
            raise UnitsError(f"choosing the owner of {component.name}'s files: the system bus is not connected")
        user = systemd.service_user(component.service or "")
    return resolve_owner(component.name, choose_owner(component.name, component.owner, user))
