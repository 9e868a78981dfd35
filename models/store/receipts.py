"""Receipts of signed deliveries: one delivery per signature, one answer per delivery id.

Every signed endpoint shares these rules. A signature (Stripe-style: it covers `<t>.<body>`, not
the delivery id) is remembered until its timestamp leaves the tolerance window, so a captured
request replayed under a fresh delivery id is refused; a delivery id seen before gets its
original answer when the body is the same, and is refused when the body differs.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, update

from partner_review.models.db import DeliveryRow, SignatureRow, utcnow
from partner_review.models.store.base import DeliveryReused, SignatureReused, StoreBase

PURGE_EVERY_SECONDS = 30.0


@dataclass(frozen=True)
class Receipt:
    """What the receiver verified about one delivery before storing it."""

    endpoint: str
    delivery_id: str
    body_sha256: str
    signature_sha256: str | None  # None when the scheme signs the delivery id itself (Standard Webhooks)
    expires_at: datetime  # the signature's timestamp plus the tolerance

    @classmethod
    def unsigned(cls, endpoint: str, delivery_id: str, body: bytes) -> Receipt:
        """A receipt with no signature to remember (tests, imports)."""
        return cls(endpoint, delivery_id, hashlib.sha256(body).hexdigest(), None, utcnow())


@dataclass(frozen=True)
class Answer:
    body: dict[str, Any]
    created: bool


SIGNATURE_HOLDER = select(SignatureRow.endpoint, SignatureRow.delivery_id).where(
    SignatureRow.sha256 == bindparam("sha256")
)


class ReceiptStore(StoreBase):
    @functools.cached_property
    def _claim_statement(self) -> Any:
        return (
            self.insert(SignatureRow)
            .values(
                sha256=bindparam("sha256"),
                endpoint=bindparam("endpoint"),
                delivery_id=bindparam("delivery_id"),
                expires_at=bindparam("expires_at"),
            )
            .on_conflict_do_nothing(index_elements=["sha256"])
            .returning(SignatureRow.sha256)
        )

    def claim_signature(self, conn: Connection, receipt: Receipt) -> None:
        """Remember the receipt's signature for its delivery; SignatureReused if another delivery has it.

        Under concurrency the second insert waits for the first transaction, so two racing
        copies under different delivery ids cannot both pass.
        """
        if time.monotonic() - self._purged_at > PURGE_EVERY_SECONDS:
            conn.execute(delete(SignatureRow).where(SignatureRow.expires_at < utcnow()))
            self._purged_at = time.monotonic()
        if receipt.signature_sha256 is None:
            return
        params = {
            "sha256": receipt.signature_sha256,
            "endpoint": receipt.endpoint,
            "delivery_id": receipt.delivery_id,
            "expires_at": receipt.expires_at,
        }
        if conn.execute(self._claim_statement, params).first() is not None:
            return
        seen = conn.execute(SIGNATURE_HOLDER, params).first()
        if seen is not None and (seen.endpoint, seen.delivery_id) != (receipt.endpoint, receipt.delivery_id):
            raise SignatureReused("this signature was already used for another delivery; sign every delivery afresh")

    def seen_answer(self, conn: Connection, receipt: Receipt) -> Answer | None:
        """The answer given to this delivery id before, if any; DeliveryReused when its body differs."""
        found = conn.execute(
            select(DeliveryRow.body_sha256, DeliveryRow.answer).where(
                DeliveryRow.endpoint == receipt.endpoint, DeliveryRow.id == receipt.delivery_id
            )
        ).first()
        if found is None:
            return None
        if found.body_sha256 != receipt.body_sha256:
            raise DeliveryReused(reused_message(receipt.delivery_id))
        return Answer(found.answer or {}, False)

    def keep_answer(self, conn: Connection, receipt: Receipt, body: dict[str, Any]) -> Answer:
        """Record the delivery with its answer; a copy that got there first keeps its own."""
        kept = conn.execute(
            self.insert(DeliveryRow)
            .values(
                endpoint=receipt.endpoint,
                id=receipt.delivery_id,
                body_sha256=receipt.body_sha256,
                answer=body,
                received_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["endpoint", "id"])
            .returning(DeliveryRow.id)
        ).first()
        if kept is not None:
            return Answer(body, True)
        seen = self.seen_answer(conn, receipt)
        return seen if seen is not None else Answer(body, True)

    def once(self, receipt: Receipt, persist: Callable[[Connection], dict[str, Any]]) -> Answer:
        """Run `persist` once per delivery, in one transaction with the receipt; a redelivery
        gets the first answer and persists nothing.

        The delivery row is written before `persist` runs, so a concurrent copy waits on it and
        then finds the first copy's answer instead of persisting again.
        """
        with self.begin() as conn:
            self.claim_signature(conn, receipt)
            reserved = conn.execute(
                self.insert(DeliveryRow)
                .values(
                    endpoint=receipt.endpoint,
                    id=receipt.delivery_id,
                    body_sha256=receipt.body_sha256,
                    answer={},
                    received_at=utcnow(),
                )
                .on_conflict_do_nothing(index_elements=["endpoint", "id"])
                .returning(DeliveryRow.id)
            ).first()
            if reserved is None:
                seen = self.seen_answer(conn, receipt)
                if seen is not None:
                    return seen
            body = persist(conn)
            conn.execute(
                update(DeliveryRow)
                .where(DeliveryRow.endpoint == receipt.endpoint, DeliveryRow.id == receipt.delivery_id)
                .values(answer=body)
            )
            return Answer(body, True)


def reused_message(delivery_id: str) -> str:
    return (
        f"delivery id {delivery_id!r} was already used for a different body; "
        "a redelivery must repeat the same body, a new delivery needs a new id"
    )
