"""A kind whose update work is imported on first use (kinds/container.py, kinds/python_app.py).

Apart from kinds/base.py, whose dataclasses and protocols a person's `check` would otherwise pay for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..config import ComponentConfig, Config
    from ..results import CheckOutcome
    from ..transaction import Transaction
    from .base import KindUpdate, Prepared, UpdateContext


class DeferredUpdate:
    """A kind whose update work lives in a module of its own, imported on first use: a person's `check` loads
    every kind for the configuration and the installed versions, and never updates, while the update's
    modules cost more to import than the whole check (docs/performance.md)."""

    def update(self) -> KindUpdate:
        """The kind's update work (a deferred import)."""
        raise NotImplementedError

    def prepare(self, ctx: UpdateContext) -> Prepared:
        return self.update().prepare(ctx)

    def prepare_ahead(self, ctx: UpdateContext) -> dict[str, Any]:
        return self.update().prepare_ahead(ctx)

    def drop_prepared(self, config: Config, component: ComponentConfig, record: Mapping[str, Any]) -> None:
        return self.update().drop_prepared(config, component, record)

    def is_prepared(self, config: Config, component: ComponentConfig, record: Mapping[str, Any]) -> bool:
        return self.update().is_prepared(config, component, record)

    def verify(self, ctx: UpdateContext) -> list[CheckOutcome]:
        return self.update().verify(ctx)

    def commit(self, ctx: UpdateContext, txn: Transaction) -> None:
        return self.update().commit(ctx, txn)

    def rollback(self, ctx: UpdateContext, txn: Transaction) -> list[CheckOutcome]:
        return self.update().rollback(ctx, txn)

    def backups_for_requested_rollback(self, ctx: UpdateContext, previous: dict[str, Any]) -> dict[str, Any]:
        return self.update().backups_for_requested_rollback(ctx, previous)

    def cleanup(self, ctx: UpdateContext) -> None:
        return self.update().cleanup(ctx)
