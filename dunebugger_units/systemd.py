"""systemd over D-Bus: proxy declarations for the few members we use, and "run a job, wait for its result".

The bus is opened by the entry point and passed in (never at import time). A job is judged by the
`JobRemoved` signal that carries its own job path: anything but `done` is a failure. The match rule is in
place, and `Subscribe()` called, *before* the job is queued, so a fast oneshot's signal is never missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import re
import socket
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from sdbus import DbusInterfaceCommonAsync, dbus_method_async, dbus_property_async
from sdbus.exceptions import SdBusBaseError, SdBusUnmappedMessageError

from .errors import UnitsError

if TYPE_CHECKING:
    from sdbus import SdBus

SYSTEMD = "org.freedesktop.systemd1"
MANAGER_PATH = "/org/freedesktop/systemd1"
MANAGER_IFACE = "org.freedesktop.systemd1.Manager"
T = TypeVar("T")


class ManagerInterface(DbusInterfaceCommonAsync, interface_name=MANAGER_IFACE):
    @dbus_method_async("ss", "o", method_name="StartUnit")
    async def start_unit(self, name: str, mode: str) -> str:
        raise NotImplementedError

    @dbus_method_async("ss", "o", method_name="StopUnit")
    async def stop_unit(self, name: str, mode: str) -> str:
        raise NotImplementedError

    @dbus_method_async("ss", "o", method_name="RestartUnit")
    async def restart_unit(self, name: str, mode: str) -> str:
        raise NotImplementedError

    @dbus_method_async("s", "o", method_name="LoadUnit")
    async def load_unit(self, name: str) -> str:
        raise NotImplementedError

    @dbus_method_async("u", "o", method_name="GetUnitByPID")
    async def get_unit_by_pid(self, pid: int) -> str:
        raise NotImplementedError

    @dbus_method_async("s", method_name="ResetFailedUnit")
    async def reset_failed_unit(self, name: str) -> None:
        raise NotImplementedError

    @dbus_method_async(method_name="Subscribe")
    async def subscribe(self) -> None:
        raise NotImplementedError

    @dbus_property_async("s", property_name="Version")
    def version(self) -> str:
        raise NotImplementedError


class UnitInterface(DbusInterfaceCommonAsync, interface_name="org.freedesktop.systemd1.Unit"):
    @dbus_property_async("s", property_name="Id")
    def id(self) -> str:
        raise NotImplementedError

    @dbus_property_async("s", property_name="ActiveState")
    def active_state(self) -> str:
        raise NotImplementedError

    @dbus_property_async("s", property_name="SubState")
    def sub_state(self) -> str:
        raise NotImplementedError

    @dbus_property_async("ay", property_name="InvocationID")
    def invocation_id(self) -> bytes:
        raise NotImplementedError


class ServiceInterface(DbusInterfaceCommonAsync, interface_name="org.freedesktop.systemd1.Service"):
    @dbus_property_async("u", property_name="NRestarts")
    def n_restarts(self) -> int:
        raise NotImplementedError

    @dbus_property_async("u", property_name="MainPID")
    def main_pid(self) -> int:
        raise NotImplementedError

    @dbus_property_async("s", property_name="StatusText")
    def status_text(self) -> str:
        raise NotImplementedError

    @dbus_property_async("s", property_name="Result")
    def result(self) -> str:
        raise NotImplementedError

    @dbus_property_async("s", property_name="User")
    def user(self) -> str:
        raise NotImplementedError


class ServiceUnit(UnitInterface, ServiceInterface):
    """A unit object of a service: both interfaces on one path."""


@dataclass(frozen=True)
class UnitState:
    active_state: str
    sub_state: str
    n_restarts: int
    main_pid: int
    status_text: str
    result: str
    invocation_id: str


class SystemdError(UnitsError):
    """A D-Bus call to systemd failed or a job ended with a result other than `done`."""


class NoSuchUnit(SystemdError):
    dbus_name = "org.freedesktop.systemd1.NoSuchUnit"


class AccessDenied(SystemdError):
    dbus_name = "org.freedesktop.DBus.Error.AccessDenied"


class BusUnreachable(SystemdError):
    """The system bus socket could not be opened (missing, or not ours to connect to)."""

    def __init__(self, message: str, address: str, errno_: int | None) -> None:
        super().__init__(message)
        self.address = address
        self.errno = errno_


class BusDropped(SystemdError):
    """The bus closed our connection. `waiting`: it happened while a job we queued was running (the bus went
    away); otherwise before anything was answered (dbus-daemon drops a uid it cannot resolve on the host)."""

    def __init__(self, message: str, waiting: bool) -> None:
        super().__init__(message)
        self.waiting = waiting


class JobTimeout(SystemdError):
    """The job queued did not end within the deadline (it goes on; only our wait ended)."""


_TYPED: dict[str, type[SystemdError]] = {cls.dbus_name: cls for cls in (NoSuchUnit, AccessDenied)}
# polkit said no and there is no agent to ask a person: for us that is a refusal too
_TYPED["org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"] = AccessDenied
# the connection itself is gone: the bus dropped us, or dbus-daemon stopped
# (not NoReply: sd-bus also says that when a call's own 25 s timeout passes, which is no closed connection)
_DROPPED = {"org.freedesktop.DBus.Error.Disconnected"}
_DROPPED_ERRNOS = {errno.ENOTCONN, errno.ECONNRESET, errno.EPIPE, errno.ECONNREFUSED, errno.ESHUTDOWN}
SYSTEM_BUS_DEFAULT = "unix:path=/run/dbus/system_bus_socket"


def system_bus_address() -> str:
    return os.environ.get("DBUS_SYSTEM_BUS_ADDRESS") or SYSTEM_BUS_DEFAULT


def library_errno(exc: BaseException) -> int | None:
    """The errno sdbus's C layer puts at the end of its message ("... returned error number: 2")."""
    found = re.search(r"error number: (\d+)", str(exc))
    return int(found.group(1)) if found else None


def _is_dropped(exc: BaseException) -> bool:
    if isinstance(exc, SdBusBaseError) and dbus_error_name(exc) in _DROPPED:
        return True
    return library_errno(exc) in _DROPPED_ERRNOS or "Connection terminated" in str(exc)


class Systemd:
    """The system manager over one bus connection and one event loop (sdbus ties a bus to its loop).

    Open it in the entry point (`Systemd.connect()`) and pass it down; use it from one thread.
    """

    def __init__(self, bus: SdBus) -> None:
        self.bus = bus
        self._runner = asyncio.Runner()

    @classmethod
    def connect(cls) -> Systemd:
        from sdbus import sd_bus_open_system

        address = system_bus_address()
        try:
            systemd = cls(sd_bus_open_system())
        except Exception as exc:  # the C layer raises plain errors for a missing bus
            number = library_errno(exc)
            why = os.strerror(number) if number else str(exc)
            raise BusUnreachable(f"connecting to the system bus at {address}: {why}", address, number) from None
        try:
            # sd-bus authenticates only when the connection is first used, and dbus-daemon drops a connection
            # still unauthenticated after its auth_timeout (measured: idle 40 s after opening, the next call
            # failed): finish the handshake now, so that a connection opened early (the rollback's, before a
            # long restore) stays usable, and a refused uid shows here
            systemd._runner.run(_hello(systemd.bus))
        except BaseException:
            systemd.close()
            raise
        return systemd

    def close(self) -> None:
        self._runner.close()
        self.bus.close()

    def __enter__(self) -> Systemd:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on this connection's loop (the remote's client talks to Updater1 this way)."""
        return self._runner.run(work)

    def run_job(self, action: str, unit: str, deadline: float,
                watch: Callable[[str], None] | None = None) -> str:
        """Queue a start/stop/restart job and return its result word (`done`, `failed`, `timeout`, ...).

        `watch` is called with the unit's status text each time it changes while the job runs.
        """
        return self._runner.run(run_job_async(self.bus, action, unit, deadline, watch))

    def require_done(self, action: str, unit: str, deadline: float) -> None:
        """Run the job; any result but `done` is a SystemdError naming it."""
        result = self.run_job(action, unit, deadline)
        if result != "done":
            raise SystemdError(f"{action}ing {unit}: job result was {result!r}")

    def reset_failed(self, unit: str) -> None:
        """Clear a unit's failed state and start-rate counter (a crash loop under Restart=always hits
        StartLimitBurst=, after which even a manual start is refused until this is done)."""
        self._runner.run(reset_failed_async(self.bus, unit))

    def unit_state(self, unit: str) -> UnitState:
        return self._runner.run(unit_state_async(self.bus, unit))

    def service_user(self, unit: str) -> str:
        """The `User=` a service runs as ("" for root), as systemd loaded it."""
        return self._runner.run(service_user_async(self.bus, unit))

    def unit_of_pid(self, pid: int) -> str | None:
        """The unit a process runs in, as systemd knows it (no /proc needed: the update units hide other
        users' processes with ProtectProc=invisible); None when systemd does not say."""
        return self._runner.run(unit_of_pid_async(self.bus, pid))


def unit_of_pid(pid: int) -> str | None:
    """`Systemd.unit_of_pid` over a connection of its own, for callers without one; None when unreachable."""
    try:
        with Systemd.connect() as systemd:
            return systemd.unit_of_pid(pid)
    except SystemdError:
        return None


def _manager(bus: SdBus) -> ManagerInterface:
    return ManagerInterface.new_proxy(SYSTEMD, MANAGER_PATH, bus)


def dbus_error_name(exc: SdBusBaseError) -> str:
    if isinstance(exc, SdBusUnmappedMessageError) and exc.args:
        return str(exc.args[0])
    return str(getattr(exc, "dbus_error_name", type(exc).__name__))


def _dbus_error(doing: str, exc: SdBusBaseError, waiting: bool = False) -> SystemdError:
    """A typed exception keyed by the D-Bus error name, with the text of what was being done."""
    if _is_dropped(exc):
        return BusDropped(f"{doing}: the system bus closed the connection", waiting)
    name = dbus_error_name(exc)
    detail = str(exc.args[-1]) if exc.args else ""
    return _TYPED.get(name, SystemdError)(f"{doing}: {detail or name}")


async def _hello(bus: SdBus) -> None:
    try:
        await _manager(bus).version
    except SdBusBaseError as exc:
        raise _dbus_error("connecting to the system bus", exc) from None


async def _subscribe(manager: ManagerInterface) -> None:
    """Without Subscribe() systemd sends JobRemoved only for jobs this connection made itself."""
    try:
        await manager.subscribe()
    except SdBusBaseError as exc:
        if dbus_error_name(exc) != "org.freedesktop.systemd1.AlreadySubscribed":
            raise _dbus_error("subscribing to systemd's signals", exc) from None


async def _status_text(bus: SdBus, unit: str) -> str:
    path = await _manager(bus).load_unit(unit)
    return str(await ServiceUnit.new_proxy(SYSTEMD, path, bus).status_text)


@dataclass
class QueuedJob:
    """A job systemd accepted, with the JobRemoved match that was in place before it was queued."""

    unit: str
    path: str
    removed: asyncio.Queue[Any]
    slot: Any

    def close(self) -> None:
        self.slot.close()


async def queue_job_async(bus: SdBus, action: str, unit: str) -> QueuedJob:
    """Queue a start/stop/restart job in mode `replace` (never a mode that cancels other jobs)."""
    manager = _manager(bus)
    removed: asyncio.Queue[Any] = asyncio.Queue()
    try:
        slot = await bus.match_signal_async(SYSTEMD, MANAGER_PATH, MANAGER_IFACE, "JobRemoved", removed.put_nowait)
    except SdBusBaseError as exc:  # the first call on a connection: a dropped uid shows here
        raise _dbus_error(f"{action}ing {unit}", exc) from None
    try:
        await _subscribe(manager)
        call = {"start": manager.start_unit, "stop": manager.stop_unit, "restart": manager.restart_unit}[action]
        try:
            job = await call(unit, "replace")
        except SdBusBaseError as exc:
            raise _dbus_error(f"{action}ing {unit}", exc) from None
    except BaseException:
        slot.close()
        raise
    return QueuedJob(unit, job, removed, slot)


async def wait_job_async(bus: SdBus, queued: QueuedJob, deadline: float, action: str = "start",
                         watch: Callable[[str], None] | None = None) -> str:
    """The result word of a queued job; the match is closed on the way out."""
    try:
        async with asyncio.timeout(deadline):
            return await _wait_job(bus, queued.unit, queued.path, queued.removed, watch)
    except TimeoutError:
        raise JobTimeout(f"{action}ing {queued.unit}: no job result within {deadline:g} s") from None
    finally:
        queued.close()


async def run_job_async(bus: SdBus, action: str, unit: str, deadline: float,
                        watch: Callable[[str], None] | None = None) -> str:
    queued = await queue_job_async(bus, action, unit)
    return await wait_job_async(bus, queued, deadline, action, watch)


async def _wait_job(bus: SdBus, unit: str, job: str, queue: asyncio.Queue[Any],
                    watch: Callable[[str], None] | None) -> str:
    """Wait for the job's JobRemoved; every half second the unit's status text is read, which also notices a
    bus that went away (a closed connection delivers no signal, it would only look like a long job). The half
    second is kept whatever other jobs' signals arrive meanwhile: a burst of them (docker's scope units while
    a container is recreated) must not hide a status text."""
    shown = ""
    loop = asyncio.get_running_loop()
    next_read = loop.time() + 0.5
    while True:
        try:
            message = await asyncio.wait_for(queue.get(), max(0.0, next_read - loop.time()))
        except TimeoutError:
            next_read = loop.time() + 0.5
            try:
                text = await _status_text(bus, unit)
            except SdBusBaseError as exc:
                if _is_dropped(exc):
                    raise _dbus_error(f"waiting for {unit}", exc, waiting=True) from None
                text = ""  # e.g. a unit that is not a service has no status text: keep waiting
            if watch is not None and text and text != shown:
                shown = text
                watch(text)
            continue
        _id, job_path, _unit, result = message.get_contents()
        if job_path == job:
            return str(result)


async def unit_of_pid_async(bus: SdBus, pid: int) -> str | None:
    try:
        path = await _manager(bus).get_unit_by_pid(pid)
        return str(await UnitInterface.new_proxy(SYSTEMD, path, bus).id)
    except SdBusBaseError:
        return None


async def reset_failed_async(bus: SdBus, unit: str) -> None:
    try:
        await _manager(bus).reset_failed_unit(unit)
    except SdBusBaseError as exc:
        raise _dbus_error(f"resetting the failed state of {unit}", exc) from None


async def unit_state_async(bus: SdBus, unit: str) -> UnitState:
    try:
        path = await _manager(bus).load_unit(unit)
        proxy = ServiceUnit.new_proxy(SYSTEMD, path, bus)
        invocation = await proxy.invocation_id
        return UnitState(
            active_state=await proxy.active_state,
            sub_state=await proxy.sub_state,
            n_restarts=await proxy.n_restarts,
            main_pid=await proxy.main_pid,
            status_text=await proxy.status_text,
            result=await proxy.result,
            invocation_id=bytes(invocation).hex(),
        )
    except SdBusBaseError as exc:
        raise _dbus_error(f"reading the state of {unit}", exc) from None


async def service_user_async(bus: SdBus, unit: str) -> str:
    try:
        path = await _manager(bus).load_unit(unit)
        return str(await ServiceUnit.new_proxy(SYSTEMD, path, bus).user)
    except SdBusBaseError as exc:
        raise _dbus_error(f"reading the User= of {unit}", exc) from None


def notify_status(text: str) -> None:
    """Set the unit's status text (`systemctl status` shows it); a no-op outside systemd.

    The update units set NotifyAccess=main so that systemd accepts it from a oneshot.
    """
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    # the status text is a courtesy: never fail an update over it
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock, contextlib.suppress(OSError):
        sock.sendto(f"STATUS={text}".encode(), address)
