"""One signed webhook endpoint: verify, read, decode, validate, persist, answer as contract section 2.

`SignedIntake` is the machinery every signed endpoint shares, parameterised by how a body is
parsed and how it is stored:

1. the delivery header (400) and the signature header (401: missing, malformed, stale) are
   checked before a byte of the body is read;
2. the body is read within the deadline (408) and the size limit (413), with a bounded number
   of bodies in flight per process;
3. the HMAC is checked (401); then, in one worker thread, the body is decoded (400), validated
   once (422) and stored with its receipt, so a redelivery gets the first answer (200), a reused
   delivery id with another body is refused (409) and so is a signature replayed under another
   delivery id (401). A value the database refuses is the sender's (422); only a store that
   cannot be written answers 503.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse

from partner_review.flows.context import entry_context
from partner_review.models.jsonbody import NotJson, decode
from partner_review.models.sealing import SealError
from partner_review.models.settings import Settings
from partner_review.models.store import (
    Answer,
    BadValue,
    DeliveryReused,
    Receipt,
    SignatureReused,
    Store,
    StoreError,
    VersionConflict,
)
from partner_review.tasks.context import Context
from partner_review.webhooks import signing

log = logging.getLogger("partner_review.webhooks")
DELIVERY_ID = re.compile(r"^[A-Za-z0-9._:-]{1,200}\Z")
STORE_ERRORS = (SQLAlchemyError, StoreError, SealError, OSError)
Parsed = TypeVar("Parsed")


class Refused(Exception):
    """An answer other than success, with the contract's status and a reason."""

    def __init__(self, status: int, error: str, *, close: bool = False, **extra: Any):
        self.status, self.body, self.close = status, {"error": error, **extra}, close

    def response(self) -> JSONResponse:
        # Refused before the body was read: close, so the rest of it is never buffered.
        headers = {"connection": "close"} if self.close else None
        return JSONResponse(self.body, status_code=self.status, headers=headers)


REFUSALS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Body is not JSON, or the delivery header is missing or malformed"},
    401: {"description": "Missing, malformed, wrong or stale signature, or a signature already used"},
    408: {"description": "The body was not complete within the deadline"},
    409: {"description": "The delivery id was used before for another body"},
    413: {"description": "Body over the size limit"},
    503: {"description": "Not stored; retry later"},
}


def bearer(request: Request, settings: Settings) -> None:
    """The API token (PARTNER_REVIEW_API_TOKEN) as a bearer credential, or Refused(401)."""
    token = settings.api_token
    if token is None or not token.get_secret_value().strip():
        raise Refused(401, "this receiver has no API token configured (PARTNER_REVIEW_API_TOKEN)")
    scheme, _, given = request.headers.get("authorization", "").strip().partition(" ")
    # The scheme is case-insensitive (RFC 9110 section 11.1); the token is compared in constant time.
    matched = hmac.compare_digest(given.strip().encode("utf-8", "replace"), token.get_secret_value().encode())
    if scheme.lower() != "bearer" or not matched:
        raise Refused(401, "missing or wrong bearer token")


def delivery_id(request: Request) -> str:
    """The delivery id: Standard Webhooks' signed `webhook-id`, else the contract's header."""
    standard = request.headers.get(signing.SW_SIGNATURE) is not None and signing.HEADER not in request.headers
    name = signing.SW_ID if standard else signing.DELIVERY_HEADER
    value = request.headers.get(name, "")
    if not DELIVERY_ID.match(value):
        raise Refused(
            400,
            f"missing or malformed {name} header (1-200 characters: letters, digits, '.', '_', ':', '-')",
            close=True,
        )
    return value


class Bodies:
    """Reads request bodies within a size limit and a deadline, a bounded number at once."""

    def __init__(self, settings: Settings):
        self.limit = settings.max_body_bytes
        self.deadline = settings.webhook_body_deadline_seconds
        self._slots = asyncio.Semaphore(settings.webhook_max_concurrent_bodies)

    async def read(self, request: Request) -> bytes:
        declared = request.headers.get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > self.limit:
            raise Refused(413, f"body is larger than the {self.limit} byte limit", close=True)
        body = bytearray()
        try:
            async with asyncio.timeout(self.deadline), self._slots:
                async for chunk in request.stream():
                    body += chunk
                    if len(body) > self.limit:
                        raise Refused(413, f"body is larger than the {self.limit} byte limit", close=True)
        except TimeoutError:
            raise Refused(408, f"the body was not complete within {self.deadline:g} s", close=True) from None
        except ClientDisconnect:
            raise Refused(400, "the sender disconnected before the body was complete") from None
        return bytes(body)


def bodies(request: Request, settings: Settings) -> Bodies:
    """The application's body reader (made on first use, in the serving event loop)."""
    state = request.app.state
    reader = getattr(state, "bodies", None)
    if reader is None:
        reader = state.bodies = Bodies(settings)
    return reader


@dataclass
class SignedIntake(Generic[Parsed]):
    """A signed endpoint: `parse` turns decoded JSON into the payload under the request's settings
    (raising Refused, e.g. 422),
    `persist` stores it once with its receipt and returns the answer."""

    endpoint: str
    parse: Callable[[Any, Context], Parsed]
    persist: Callable[[Store, Receipt, Parsed], Answer]
    created_status: int = 202

    async def receive(self, request: Request) -> tuple[Answer, int]:
        """The answer and its status; raises Refused for every refusal."""
        ctx = entry_context()  # this request's: the settings now, the store opened in the worker thread
        settings = ctx.settings
        delivery = delivery_id(request)
        try:
            expected = signing.expect(
                request.headers,
                settings.webhook_secret.get_secret_value(),
                tolerance=settings.webhook_tolerance_seconds,
            )
        except signing.SignatureError as error:
            raise Refused(401, str(error), close=True) from None
        body = await bodies(request, settings).read(request)
        try:
            signature = expected.verify(body)
        except signing.SignatureError as error:
            raise Refused(401, str(error)) from None
        receipt = Receipt(
            endpoint=self.endpoint,
            delivery_id=delivery,
            body_sha256=hashlib.sha256(body).hexdigest(),
            # Standard Webhooks signs the id: de-duplicating by id is enough there.
            signature_sha256=signature if expected.scheme == "stripe" else None,
            expires_at=datetime.fromtimestamp(expected.expires_at, UTC),
        )
        answer = await run_in_threadpool(self._store, receipt, body, ctx)
        return answer, self.created_status if answer.created else 200

    def _store(self, receipt: Receipt, body: bytes, ctx: Context) -> Answer:
        try:
            data = decode(body)
        except NotJson as error:
            raise Refused(400, f"body is not valid JSON: {error}") from None
        parsed = self.parse(data, ctx)
        try:
            return self.persist(ctx.store, receipt, parsed)
        except SignatureReused as error:
            raise Refused(401, str(error)) from None
        except (VersionConflict, DeliveryReused) as error:
            raise Refused(409, str(error)) from None
        except BadValue as error:
            raise Refused(422, str(error)) from None
        except STORE_ERRORS as error:
            log.error("%s delivery %s not persisted: %s", self.endpoint, receipt.delivery_id, error)
            raise Refused(503, f"the {self.endpoint} delivery could not be stored right now; retry later") from None
