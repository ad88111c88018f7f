"""The conversation with org.dunebugger.Updater1, client side: ask, follow the signals of our job, and turn
every failure into a typed error that explain() makes one line of. Part of the remote's image (sdbus only).
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

from sdbus.exceptions import SdBusBaseError

from ..systemd import (
    AccessDenied,
    BusDropped,
    BusUnreachable,
    JobTimeout,
    Systemd,
    SystemdError,
    dbus_error_name,
    library_errno,
)
from .api import BUS_NAME, INTERFACE, NO_PERCENT, OBJECT_PATH, BusNames, UpdaterInterface

SEE = "see Connecting the remote in /usr/share/doc/dunebugger-units/README.md"


def explain(exc: SystemdError, what: str, uid: int, deadline: float) -> str:
    """One line for a failed bus conversation: what happened and what to do about it."""
    if isinstance(exc, BusUnreachable):
        return (f"cannot reach the system bus at {exc.address}: "
                f"{os.strerror(exc.errno) if exc.errno else exc}; mount the host's /run/dbus into the remote's "
                f"container ({SEE})")
    if isinstance(exc, BusDropped) and exc.waiting:
        return (f"the system bus went away while waiting for {what} (dbus restarted or the host is shutting "
                f"down); the unit goes on without us: its result is recorded and reaches the frontend through "
                f"follow_results() once the bus is back")
    if isinstance(exc, BusDropped):
        return (f"the system bus refused uid {uid}: it has no user on the host; run the remote's container as "
                f"the kit's user dunebugger-remote ({SEE})")
    if isinstance(exc, AccessDenied):
        return (f"asking {BUS_NAME} for {what}: permission refused for uid {uid}: the uid must belong to a host "
                f"user in the dunebugger group, and the bus policy {BUS_NAME}.conf must be installed ({SEE})")
    if isinstance(exc, ServiceGone):
        return (f"{BUS_NAME} went away while following {what}; the unit goes on without us: "
                f"`systemctl status {what}` and `journalctl -u dunebugger-updater1` on the host")
    if isinstance(exc, NotServed):
        return (f"asking {BUS_NAME} for {what}: the service is not installed or failed to start: "
                f"`systemctl status dunebugger-updater1.service` on the host ({SEE})")
    if isinstance(exc, JobTimeout):
        return (f"no result from {what} within {deadline:g} s; it may still be running: "
                f"`systemctl status {what}` on the host")
    return f"asking {BUS_NAME} for {what}: {exc}"


class NotServed(SystemdError):
    dbus_name = "org.freedesktop.DBus.Error.ServiceUnknown"


class ServiceGone(SystemdError):
    """Updater1 lost its name while our job ran: it crashed (it never exits while a job runs)."""


class ServiceExiting(SystemdError):
    dbus_name = "org.dunebugger.Updater1.Error.Exiting"


_DOOR_ERRORS: dict[str, type[SystemdError]] = {
    "org.freedesktop.DBus.Error.AccessDenied": AccessDenied,
    "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired": AccessDenied,
    NotServed.dbus_name: NotServed,
    "org.freedesktop.systemd1.NoSuchUnit": NotServed,  # activation asked systemd for a unit it does not have
    "org.freedesktop.DBus.Error.Spawn.ChildExited": NotServed,
    "org.freedesktop.DBus.Error.TimedOut": NotServed,
    ServiceExiting.dbus_name: ServiceExiting,
}
_DROPPED = ("org.freedesktop.DBus.Error.Disconnected",)
_DROPPED_ERRNOS = (errno.ECONNRESET, errno.ENOTCONN, errno.ECONNREFUSED, errno.EPIPE, errno.ESHUTDOWN)


def door_error(exc: BaseException, what: str, waiting: bool = False) -> SystemdError:
    """An sdbus error of the conversation with Updater1 as a typed one; the service's own refusals (an
    unknown component, a bad version, systemd refusing the start) keep their one-line text."""
    name = dbus_error_name(exc) if isinstance(exc, SdBusBaseError) else ""
    if name in _DROPPED or library_errno(exc) in _DROPPED_ERRNOS or "Connection terminated" in str(exc):
        return BusDropped(f"asking {BUS_NAME} for {what}: the system bus closed the connection", waiting)
    detail = str(exc.args[-1]) if exc.args else name
    return _DOOR_ERRORS.get(name, SystemdError)(detail or type(exc).__name__)


LIVENESS = 1.0  # how often a wait asks the bus who serves Updater1: a dead bus or service sends no signal


async def follow_job(systemd: Systemd, what: str, start: Callable[[UpdaterInterface], Awaitable[str]],
                     deadline: float, watch: Callable[[dict[str, Any]], None] | None) -> dict[str, Any]:
    """Listen for Updater1's signals (sender: whoever owns its name, enforced by dbus-daemon), ask it to start,
    then pass on the progress of our job and return the result its Finished carries."""
    bus = systemd.bus
    signals: asyncio.Queue[tuple[str, tuple[Any, ...]]] = asyncio.Queue()
    names = BusNames.new_proxy("org.freedesktop.DBus", "/org/freedesktop/DBus", bus)
    slots = []
    try:
        for member in ("Progress", "Finished"):
            slots.append(await bus.match_signal_async(BUS_NAME, OBJECT_PATH, INTERFACE, member,
                                                      _enqueue(signals, member)))
        try:
            job = await start(UpdaterInterface.new_proxy(BUS_NAME, OBJECT_PATH, bus))
            owner = await names.get_name_owner(BUS_NAME)
        except SdBusBaseError as exc:
            raise door_error(exc, what) from None
        async with asyncio.timeout(deadline):
            while True:
                try:
                    member, contents = await asyncio.wait_for(signals.get(), LIVENESS)
                except TimeoutError:
                    await _still_served(names, what, owner)
                    continue
                if contents[0] != job:
                    continue
                if member == "Finished":
                    result = json.loads(contents[2])
                    return result if isinstance(result, dict) else {"success": False, "message": str(result)}
                if watch is not None:
                    phase, percent = str(contents[2]), int(contents[3])
                    watch({"phase": phase} | ({"percent": percent} if percent != NO_PERCENT else {}))
    except TimeoutError:
        raise JobTimeout(f"no result from {what} within {deadline:g} s") from None
    finally:
        for slot in slots:
            slot.close()


def _enqueue(signals: asyncio.Queue[tuple[str, tuple[Any, ...]]], member: str) -> Callable[[Any], None]:
    return lambda message: signals.put_nowait((member, tuple(message.get_contents())))


async def _still_served(names: BusNames, what: str, owner: str) -> None:
    try:
        now = await names.get_name_owner(BUS_NAME)
    except SdBusBaseError as exc:
        if dbus_error_name(exc) == "org.freedesktop.DBus.Error.NameHasNoOwner":
            raise ServiceGone(what) from None
        raise door_error(exc, what, waiting=True) from None
    if now != owner:
        raise ServiceGone(what)
