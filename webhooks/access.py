"""Access requests at the receiver (contract section 7), the Public Beta checklist view, and the
optional approved-partner gate on submissions.

`POST /webhooks/access-requests` answers as the submission webhook does (section 2): verify,
validate, persist, then start the `review-access-request` run from the store's outbox (the
request row carries its dispatch state), never from the request itself. The router brings its
own loop of the one dispatcher (webhooks/dispatch.py; its lifespan merges into the application's).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from partner_review.flows.context import entry_context
from partner_review.models.access import AccessRequest, InvalidAccessRequest, parse_access_request
from partner_review.models.calendar import add_business_days
from partner_review.models.store import Answer, NotFound, Receipt, Store
from partner_review.models.submission import Submission
from partner_review.tasks.access.domains import email_domain, registrable_domain, website_domain
from partner_review.tasks.context import Context
from partner_review.webhooks.dispatch import kick
from partner_review.webhooks.intake import REFUSALS, STORE_ERRORS, Refused, SignedIntake, bearer

log = logging.getLogger("partner_review.webhooks.access")


router = APIRouter()


@router.post(
    "/webhooks/access-requests",
    status_code=202,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AccessRequest"}}},
        }
    },
    responses={
        **REFUSALS,
        200: {"description": "Delivery seen before: the original access request"},
        422: {"description": "The request breaks the schema; `fields` lists the offending paths"},
    },
)
async def receive_access_request(request: Request) -> JSONResponse:
    answer, status = await intake.receive(request)
    if answer.created:
        kick(request, "access")
    return JSONResponse(answer.body, status_code=status)


def _access_request(data: Any, ctx: Context) -> AccessRequest:
    try:
        return parse_access_request(data)
    except InvalidAccessRequest as error:
        raise Refused(422, "the access request does not match the schema", fields=error.problems) from None


def _store_access_request(store: Store, receipt: Receipt, request: AccessRequest) -> Answer:
    settings = store.settings
    received_at = datetime.now(UTC)
    due = add_business_days(
        received_at, settings.access_decision_business_days, country=settings.holiday_country, tz=settings.timezone
    )

    def write(conn: Connection) -> dict[str, Any]:
        recorded = store.access.record_on(
            conn,
            receipt.delivery_id,
            receipt.body_sha256,
            request,
            domain=website_domain(request.company.website),
            received_at=received_at,
            decision_due_at=due,
        )
        return {"access_request_id": recorded.access_request_id, "status": str(recorded.status)}

    return store.once(receipt, write)


intake = SignedIntake("access-requests", _access_request, _store_access_request, created_status=202)


@router.get(
    "/apps/{slug}/checklist",
    responses={401: {"description": "Missing or wrong bearer token"}, 404: {"description": "No such app"}},
)
async def app_checklist(slug: str, request: Request) -> JSONResponse:
    """The app's Public Beta checklist (contract section 8's `status` JSON)."""
    from partner_review.tasks.lifecycle.checklist import checklist_of

    ctx = entry_context()
    bearer(request, ctx.settings)
    try:
        checklist = await run_in_threadpool(lambda: checklist_of(ctx.store, slug))
    except NotFound:
        raise Refused(404, f"no app {slug[:100]!r}") from None
    except STORE_ERRORS:
        raise Refused(503, "the store is unavailable right now; retry later") from None
    return JSONResponse(checklist.as_json())


def partner_domains(submission: Submission) -> list[str]:
    """The registrable domains a submission claims: its support e-mail's and its website's."""
    found = []
    if submission.app.support_email and (domain := email_domain(submission.app.support_email)):
        found.append(registrable_domain(domain))
    if submission.app.website:
        found.append(website_domain(submission.app.website))
    return [d for d in dict.fromkeys(found) if d]


def require_approved_partner(submission: Submission, ctx: Context) -> None:
    """With PARTNER_REVIEW_REQUIRE_APPROVED_PARTNER on, refuse (403) a submission whose support
    e-mail and website domains belong to no approved partner; off (the default), do nothing.
    Called by the submission intake in its worker thread."""
    if not ctx.settings.require_approved_partner:
        return
    claimed = partner_domains(submission)
    try:
        approved = ctx.store.access.approved_for(claimed) if claimed else []
    except STORE_ERRORS:
        raise Refused(503, "the store is unavailable right now; retry later") from None
    if not approved:
        shown = ", ".join(claimed) or "none (no support_email or website)"
        raise Refused(
            403,
            f"no approved partner owns the submission's domains ({shown}); request access first "
            "(POST /webhooks/access-requests) and submit once it is approved",
            domains=claimed,
        )


def openapi_schemas() -> dict[str, Any]:
    """The AccessRequest schema for the receiver's OpenAPI document."""
    from partner_review.models.access import AccessRequest

    schema = AccessRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    return {**defs, "AccessRequest": schema}
