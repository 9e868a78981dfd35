"""The webhook receiver (ASGI: `webhooks.app:app`), exactly as contract section 2 says.

verify → validate → persist → trigger: a delivery is answered 2xx only once it is in the store,
and the review run is started from the store's dispatch outbox, never from the request. The
signed endpoints share `intake.SignedIntake`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool

from partner_review.flows.context import entry_context
from partner_review.models.activity import Activity, UnknownApp
from partner_review.models.calendar import add_business_days
from partner_review.models.store import Answer, NotFound, Receipt, Store
from partner_review.models.submission import InvalidSubmission, Submission, parse_submission, slug_problem
from partner_review.tasks import collector
from partner_review.tasks.context import Context
from partner_review.tasks.graduation.adoption import BadActivity, parse_records
from partner_review.webhooks import access, dispatch, health, records
from partner_review.webhooks.dispatch import Dispatcher, kick
from partner_review.webhooks.intake import REFUSALS, STORE_ERRORS, Bodies, Refused, SignedIntake, bearer

log = logging.getLogger("partner_review.webhooks")
ACTIVITY_LIST = TypeAdapter(list[Activity])


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The receiver's one lifespan: the body reader, and a dispatcher per kind of subject
    (webhooks/dispatch.py: submissions, access requests), each its loop over the one outbox."""
    ctx = entry_context()
    app.state.dispatchers = {}
    app.state.bodies = Bodies(ctx.settings)
    loops = []
    if ctx.settings.dispatch != "off":
        try:
            store = await run_in_threadpool(lambda: ctx.store)
        except STORE_ERRORS as error:
            log.error("store unavailable at start (%s); deliveries will get 503 until it returns", error)
        else:
            for kind in dispatch.kinds(store):
                app.state.dispatchers[kind.subject] = dispatcher = Dispatcher(store, ctx.settings, kind)
                loops.append(asyncio.create_task(dispatcher.run_forever()))
    # What exists once the receiver has started lives as long as it does: out of the collector's
    # full passes, which a 10,000-record activity batch triggered (tasks/collector.py).
    collector.pin()
    yield
    for loop_task in loops:
        loop_task.cancel()
    for loop_task in loops:
        with contextlib.suppress(asyncio.CancelledError):
            await loop_task


app = FastAPI(
    title="partner-review receiver",
    version="1",
    description="Signed submission webhooks (see the project README, section 'The contract').",
    lifespan=lifespan,
)


app.include_router(access.router)
app.include_router(health.router)
app.include_router(records.router)


@app.exception_handler(Refused)
async def _refused(_request: Request, exc: Refused) -> JSONResponse:
    return exc.response()


def _submission(data: Any, ctx: Context) -> Submission:
    try:
        submission = parse_submission(data)
    except InvalidSubmission as error:
        raise Refused(422, "the submission does not match the schema", fields=error.problems) from None
    if problem := slug_problem(submission.app.slug):
        raise Refused(422, "the submission does not match the schema", fields=[f"app.slug: {problem}"])
    access.require_approved_partner(submission, ctx)  # 403 when the gate is on and no approved partner owns it
    return submission


def _store_submission(store: Store, receipt: Receipt, submission: Submission) -> Answer:
    settings = store.settings
    received_at = datetime.now(UTC)
    due = add_business_days(
        received_at, settings.ack_business_days, country=settings.holiday_country, tz=settings.timezone
    )
    intake = store.record_delivery(
        receipt.delivery_id, b"", submission, received_at=received_at, ack_due_at=due, receipt=receipt
    )
    return Answer({"submission_id": intake.submission_id, "status": intake.status}, intake.created)


def _activity(data: Any, ctx: Context) -> list[Activity]:
    items = data if isinstance(data, list) else [data]
    limit = ctx.settings.max_activity_records
    if len(items) > limit:
        raise Refused(413, f"at most {limit} activity records per request")
    try:
        return ACTIVITY_LIST.validate_python(items)  # one call for the batch: ten times faster per record
    except ValidationError:
        pass
    try:  # record by record, to name every bad one
        return parse_records([(f"record {i}", item) for i, item in enumerate(items)])
    except BadActivity as error:
        raise Refused(422, "activity records break the schema; nothing was stored", fields=error.problems) from None


def _store_activity(store: Store, receipt: Receipt, records: list[Activity]) -> Answer:
    try:
        return store.receive_activity(records, receipt=receipt)
    except UnknownApp as error:
        raise Refused(422, f"{error}; nothing was stored") from None


submissions = SignedIntake("submissions", _submission, _store_submission, created_status=202)
activity = SignedIntake("activity", _activity, _store_activity, created_status=200)


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
        **REFUSALS,
        200: {"description": "Delivery seen before: the original submission"},
        409: {"description": "This version was already submitted by another delivery, or the delivery id was reused"},
        422: {"description": "Submission breaks the schema; `fields` lists the offending paths"},
    },
)
async def receive_submission(request: Request) -> JSONResponse:
    answer, status = await submissions.receive(request)
    if answer.created:
        kick(request, "submission")
    return JSONResponse(answer.body, status_code=status)


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
        **REFUSALS,
        200: {"description": "Stored (or seen before: the first answer); counts of rows inserted, updated, unchanged"},
        413: {"description": "Body over the size limit, or more records than allowed"},
        422: {"description": "A record breaks the schema or names an unknown app; nothing was stored"},
    },
)
async def receive_activity(request: Request) -> JSONResponse:
    """Customer activity, one record or a list; idempotent per delivery and per (app, workspace, day)."""
    answer, status = await activity.receive(request)
    return JSONResponse(answer.body, status_code=status)


@app.get("/healthz")
async def healthz() -> JSONResponse:
    ctx = entry_context()
    try:
        await run_in_threadpool(lambda: ctx.store.pending_dispatches(1))
    except STORE_ERRORS:
        return JSONResponse({"status": "unavailable", "store": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok", "store": "ok"})


@app.get(
    "/submissions/{submission_id}",
    responses={401: {"description": "Missing or wrong bearer token"}, 404: {"description": "No such submission"}},
)
async def submission_status(submission_id: str, request: Request) -> JSONResponse:
    ctx = entry_context()
    bearer(request, ctx.settings)
    try:
        store = await run_in_threadpool(lambda: ctx.store)
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
