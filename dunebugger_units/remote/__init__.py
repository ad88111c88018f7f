"""The remote's side: the light client (client.py, door.py), the message handler (messages.py), and the D-Bus
service org.dunebugger.Updater1 it asks (api.py, service.py; docs/remote-dbus.md). The updater imports nothing
from here."""

from __future__ import annotations
