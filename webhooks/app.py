"""The webhook receiver (ASGI: `webhooks.app:app`), exactly as contract section 2 says.

verify → validate → persist → trigger: a delivery is answered 2xx only once it is in the store,
and the review run is started from the store's dispatch outbox, never from the request.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from partner_review.models.activity import Activity, UnknownApp
from partner_review.models.calendar import add_business_days
from partner_review.models.sealing import SealError
from partner_review.models.settings import get_settings
from partner_review.models.store import NotFound, Store, StoreError, VersionConflict, get_store
from partner_review.models.submission import InvalidSubmission, Submission, parse_submission
from partner_review.tasks.graduation.adoption import BadActivity, parse_records
from partner_review.webhooks import access, signing
from partner_review.webhooks.dispatch import Dispatcher

log = logging.getLogger("partner_review.webhooks")
DELIVERY_ID = re.compile(r"^[A-Za-z0-9._:-]{1,200}$")
STORE_ERRORS = (SQLAlchemyError, StoreError, SealError, OSError)


class Refused(Exception):
    def __init__(self, status: int, error: str, **extra: Any):
        self.status, self.body = status, {"error": error, **extra}


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    app.state.dispatcher = None
    loop_task = None
    if settings.dispatch != "off":
        try:
            store = await run_in_threadpool(get_store)
        except STORE_ERRORS as error:
            log.error("store unavailable at start (%s); deliveries will get 503 until it returns", error)
        else:
            app.state.dispatcher = Dispatcher(store, settings)
            loop_task = asyncio.create_task(app.state.dispatcher.run_forever())
    yield
    if loop_task:
        loop_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop_task


app = FastAPI(
    title="partner-review receiver",
    version="1",
    description="Signed submission webhooks (see the project README, section 'The contract').",
    lifespan=lifespan,
)
app.include_router(access.router)  # access requests and the checklist (webhooks/access.py)


@app.exception_handler(Refused)
async def _refused(_request: Request, exc: Refused) -> JSONResponse:
    return JSONResponse(exc.body, status_code=exc.status)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise Refused(413, f"body is larger than the {limit} byte limit")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise Refused(413, f"body is larger than the {limit} byte limit")
    except ClientDisconnect:
        raise Refused(400, "the sender disconnected before the body was complete") from None
    return bytes(body)


def _delivery_id(request: Request) -> str:
    value = request.headers.get(signing.DELIVERY_HEADER, "")
    if not DELIVERY_ID.match(value):
        raise Refused(
            400,
            f"missing or malformed {signing.DELIVERY_HEADER} header "
            "(1-200 characters: letters, digits, '.', '_', ':', '-')",
        )
    return value


async def _signed_json(request: Request) -> tuple[bytes, Any]:
    """The raw body and its decoded JSON, once its size and signature are verified."""
    settings = get_settings()
    body = await _read_body(request, settings.max_body_bytes)
    try:
        signing.verify(
            request.headers.get(signing.HEADER),
            body,
            settings.webhook_secret.get_secret_value(),
            tolerance=settings.webhook_tolerance_seconds,
        )
    except signing.SignatureError as error:
        raise Refused(401, str(error)) from None
    try:
        return body, json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise Refused(400, f"body is not valid JSON: {error}") from None


@app.post(
    "/webhooks/submissions",
    status_code=202,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Submission"}}},
        }
    },
    responses={
        200: {"description": "Delivery seen before: the original submission"},
        400: {"description": "Body is not JSON, or the delivery header is missing"},
        401: {"description": "Missing, malformed, wrong or stale signature"},
        403: {"description": "PARTNER_REVIEW_REQUIRE_APPROVED_PARTNER is on and no approved partner owns the domains"},
        409: {"description": "This version of the app was already submitted by another delivery"},
        413: {"description": "Body over the size limit"},
        422: {"description": "Submission breaks the schema; `fields` lists the offending paths"},
        503: {"description": "Delivery could not be persisted; retry later"},
    },
)
async def receive_submission(request: Request) -> JSONResponse:
    settings = get_settings()
    delivery_id = _delivery_id(request)
    body, data = await _signed_json(request)
    try:
        submission = parse_submission(data)
    except InvalidSubmission as error:
        raise Refused(422, "the submission does not match the schema", fields=error.problems) from None
    await access.require_approved_partner(submission)

    received_at = datetime.now(UTC)
    due = add_business_days(
        received_at, settings.ack_business_days, country=settings.holiday_country, tz=settings.timezone
    )
    try:
        store = await run_in_threadpool(get_store)
        intake = await run_in_threadpool(
            store.record_delivery, delivery_id, body, submission, received_at=received_at, ack_due_at=due
        )
    except VersionConflict as error:
        raise Refused(409, str(error)) from None
    except STORE_ERRORS as error:
        log.error("delivery %s not persisted: %s", delivery_id, error)
        raise Refused(503, "the delivery could not be stored right now; retry later") from None

    answer = {"submission_id": intake.submission_id, "status": intake.status}
    if not intake.created:
        return JSONResponse(answer, status_code=200)
    dispatcher = getattr(request.app.state, "dispatcher", None)
    if dispatcher is not None:
        dispatcher.kick()
    return JSONResponse(answer, status_code=202)


@app.post(
    "/webhooks/activity",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            {"$ref": "#/components/schemas/Activity"},
                            {"type": "array", "items": {"$ref": "#/components/schemas/Activity"}},
                        ]
                    }
                }
            },
        }
    },
    responses={
        401: {"description": "Missing, malformed, wrong or stale signature"},
        413: {"description": "Body over the size limit"},
        422: {"description": "A record breaks the schema or names an unknown app; nothing was stored"},
        503: {"description": "Not stored; retry later"},
    },
)
async def receive_activity(request: Request) -> JSONResponse:
    """Customer activity, one record or a list; idempotent per (app, workspace, day)."""
    _, data = await _signed_json(request)
    items = data if isinstance(data, list) else [data]
    limit = get_settings().max_activity_records
    if len(items) > limit:
        raise Refused(413, f"at most {limit} activity records per request")
    try:
        records = parse_records([(f"record {i}", item) for i, item in enumerate(items)])
        store = await run_in_threadpool(get_store)
        counts = await run_in_threadpool(store.record_activity, records)
    except BadActivity as error:
        raise Refused(422, "activity records break the schema; nothing was stored", fields=error.problems) from None
    except UnknownApp as error:
        raise Refused(422, f"{error}; nothing was stored") from None
    except STORE_ERRORS as error:
        log.error("activity not stored: %s", error)
        raise Refused(503, "the activity could not be stored right now; retry later") from None
    return JSONResponse(counts, status_code=200)


@app.get("/healthz")
async def healthz() -> JSONResponse:
    try:
        store: Store = await run_in_threadpool(get_store)
        await run_in_threadpool(store.pending_dispatches, 1)
    except STORE_ERRORS:
        return JSONResponse({"status": "unavailable", "store": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok", "store": "ok"})


@app.get(
    "/submissions/{submission_id}",
    responses={401: {"description": "Missing or wrong bearer token"}, 404: {"description": "No such submission"}},
)
async def submission_status(submission_id: str, request: Request) -> JSONResponse:
    token = get_settings().api_token
    if token is None or not token.get_secret_value():
        raise Refused(401, "this receiver has no API token configured (PARTNER_REVIEW_API_TOKEN)")
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode("utf-8", "replace"), f"Bearer {token.get_secret_value()}".encode()):
        raise Refused(401, "missing or wrong bearer token")
    try:
        store = await run_in_threadpool(get_store)
        stored = await run_in_threadpool(store.get_submission, submission_id)
        latest = await run_in_threadpool(store.latest_review, submission_id)
    except NotFound:
        raise Refused(404, f"no submission {submission_id}") from None
    except STORE_ERRORS:
        raise Refused(503, "the store is unavailable right now; retry later") from None
    run = latest[0] if latest else None
    return JSONResponse(
        {
            "submission_id": stored.id,
            "app": stored.slug,
            "version": stored.version,
            "status": stored.state,
            "received_at": stored.received_at.isoformat(),
            "ack_due_at": stored.ack_due_at.isoformat(),
            "acknowledged_at": stored.acknowledged_at.isoformat() if stored.acknowledged_at else None,
            "ack_on_time": stored.ack_on_time,
            "review": {"status": run.status, "verdict": run.verdict, "flow_run_id": run.flow_run_id} if run else None,
        }
    )


def _openapi() -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (Submission, Activity):
        model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(model_schema.pop("$defs", {}))
        components[model.__name__] = model_schema
    components.update(access.openapi_schemas())
    app.openapi_schema = schema
    return schema


app.openapi = _openapi  # type: ignore[method-assign]
