"""org.dunebugger.Updater1, declared once for both sides: the remote's client builds its proxy from these
classes, the service (service.py) overrides them. Importable on its own with sdbus (the remote's image carries
it). The API, its errors and who may call it: docs/remote-dbus.md.
"""

from __future__ import annotations

from sdbus import DbusInterfaceCommonAsync, DbusUnprivilegedFlag, dbus_method_async, dbus_signal_async
from sdbus.exceptions import DbusFailedError

BUS_NAME = "org.dunebugger.Updater1"
OBJECT_PATH = "/org/dunebugger/Updater1"
INTERFACE = "org.dunebugger.Updater1"
NO_PERCENT = -1  # Progress carries no percent for this phase
# sd-bus answers a method without this flag only for callers with CAP_SYS_ADMIN; who may call is decided by the
# bus policy (packaging/dbus/org.dunebugger.Updater1.conf)
OPEN = DbusUnprivilegedFlag


class InvalidArgument(DbusFailedError):
    """A component, a version or a dry-run flag the service refuses; nothing was started."""

    dbus_error_name = "org.dunebugger.Updater1.Error.InvalidArgument"


class Exiting(DbusFailedError):
    """The service was giving its name back as the call arrived: call again (a new instance answers)."""

    dbus_error_name = "org.dunebugger.Updater1.Error.Exiting"


class StartFailed(DbusFailedError):
    """systemd refused to queue the unit (or could not be reached): nothing was started."""

    dbus_error_name = "org.dunebugger.Updater1.Error.StartFailed"


class UpdaterInterface(DbusInterfaceCommonAsync, interface_name=INTERFACE):
    @dbus_method_async("", "s", OPEN, result_args_names=("job",), method_name="Check")
    async def check(self) -> str:
        raise NotImplementedError

    @dbus_method_async("ssb", "s", OPEN, input_args_names=("component", "version", "dry_run"),
                       result_args_names=("job",), method_name="Update")
    async def update(self, component: str, version: str, dry_run: bool) -> str:
        raise NotImplementedError

    @dbus_method_async("s", "s", OPEN, input_args_names=("component",), result_args_names=("job",),
                       method_name="Rollback")
    async def rollback(self, component: str) -> str:
        raise NotImplementedError

    @dbus_method_async("", "s", OPEN, result_args_names=("components_json",), method_name="Components")
    async def components(self) -> str:
        raise NotImplementedError

    @dbus_signal_async("sssi", signal_args_names=("job", "component", "phase", "percent"), signal_name="Progress")
    def progress(self) -> tuple[str, str, str, int]:
        raise NotImplementedError

    @dbus_signal_async("sss", signal_args_names=("job", "component", "result_json"), signal_name="Finished")
    def finished(self) -> tuple[str, str, str]:
        raise NotImplementedError


class BusNames(DbusInterfaceCommonAsync, interface_name="org.freedesktop.DBus"):
    """dbus-daemon's own: who serves Updater1 (the client's liveness check), and giving the name back."""

    @dbus_method_async("s", "s", method_name="GetNameOwner")
    async def get_name_owner(self, name: str) -> str:
        raise NotImplementedError

    @dbus_method_async("s", "u", method_name="ReleaseName")
    async def release_name(self, name: str) -> int:
        raise NotImplementedError
