"""The store: every read and write of partner-review's SQL data goes through here.

One schema for every subject (a submission, an access request): deliveries, outbox, runs,
results and transitions are one table each, keyed by (subject_kind, subject_id). `Store` is one
object over one engine; its methods are grouped in modules by noun (deliveries and submissions,
receipts of signed deliveries, runs and results, decisions and waivers, notifications, activity),
access requests sit under `store.access`, and async code calls it through `await store.call(...)`.
See `base` for the engines and the durability promise.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from partner_review.models.settings import get_settings
from partner_review.models.store.access import AccessRequests
from partner_review.models.store.activity import ActivityStore
from partner_review.models.store.base import (
    MIGRATIONS,
    AlreadyDecided,
    BadValue,
    DeliveryReused,
    NotFound,
    SignatureReused,
    StoreError,
    VersionConflict,
    upgrade,
)
from partner_review.models.store.decisions import DecisionStore, Waiver
from partner_review.models.store.deliveries import DeliveryStore, Dispatch, Intake, StoredSubmission
from partner_review.models.store.notifications import Notification, NotificationStore
from partner_review.models.store.receipts import Answer, Receipt
from partner_review.models.store.reviews import NotFinished, ReviewStore

__all__ = [
    "MIGRATIONS",
    "AccessRequests",
    "AlreadyDecided",
    "Answer",
    "BadValue",
    "DeliveryReused",
    "Dispatch",
    "Intake",
    "NotFinished",
    "Notification",
    "NotFound",
    "Receipt",
    "SignatureReused",
    "Store",
    "StoreError",
    "StoredSubmission",
    "VersionConflict",
    "Waiver",
    "get_store",
    "upgrade",
]

T = TypeVar("T")


class Store(DeliveryStore, ActivityStore, ReviewStore, DecisionStore, NotificationStore):
    """The whole store over one engine. The parts above share only `StoreBase`'s state (engine,
    sessions, the group-commit writer); none is a store on its own."""

    @functools.cached_property
    def access(self) -> AccessRequests:
        """Access requests: the second kind of subject, on the same tables."""
        return AccessRequests(self)

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """The one way async code calls the store: `fn` (a store method or a function of the store)
        in a worker thread, so the event loop stays free while the database blocks."""
        return await asyncio.to_thread(fn, *args, **kwargs)

    def rows(self) -> Iterator[dict]:
        """Every row of every table, for tests that search stored data (e.g. for leaked secrets)."""
        from partner_review.models.db import Base

        with self.engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                for row in conn.execute(table.select()):
                    yield dict(row._mapping)


_stores: dict[str, Store] = {}
_stores_lock = threading.Lock()


def get_store() -> Store:
    """The process's store for the configured database (migrated on first use)."""
    settings = get_settings()
    url = settings.resolved_database_url
    with _stores_lock:
        if url not in _stores:
            _stores[url] = Store(settings)
        return _stores[url]
