"""The store: every read and write of partner-review's SQL data goes through here.

One module per kind of record (deliveries and submissions, receipts of signed deliveries,
reviews and results, decisions and waivers, notifications, activity); `Store` is all of them
over one engine. See `base` for the engines and the durability promise.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from partner_review.models.settings import get_settings
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
from partner_review.models.store.reviews import ReviewStore

__all__ = [
    "MIGRATIONS",
    "AlreadyDecided",
    "Answer",
    "BadValue",
    "DeliveryReused",
    "Dispatch",
    "Intake",
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
    "iter_rows",
    "upgrade",
]


class Store(DeliveryStore, ActivityStore, ReviewStore, DecisionStore, NotificationStore):
    """The whole store over one engine."""


def iter_rows(store: Store) -> Iterator[dict]:
    """Every row of every table, for tests that search stored data (e.g. for leaked secrets)."""
    from partner_review.models.db import Base

    with store.engine.connect() as conn:
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
