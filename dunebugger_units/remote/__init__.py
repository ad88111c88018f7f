"""The remote's side: the light client and the message handler. The updater imports nothing from here."""

from __future__ import annotations
