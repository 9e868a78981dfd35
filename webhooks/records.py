"""GET /apps/{slug}/record: the signed review record of an app's newest decided review (tasks/records)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from partner_review.flows.context import entry_context
from partner_review.models.submission import MAX_VERSION
from partner_review.tasks.records.keys import KeyProblem
from partner_review.tasks.records.record import make
from partner_review.tasks.records.statement import NoRecord
from partner_review.webhooks.intake import STORE_ERRORS, Refused, bearer

router = APIRouter()


@router.get(
    "/apps/{slug}/record",
    responses={
        200: {"description": "The DSSE envelope (verify with `partner-review verify FILE --public-key KEY`)"},
        401: {"description": "Missing or wrong bearer token"},
        404: {"description": "No such app, or no decided review of it (of that version)"},
        503: {"description": "The store or the signing key is unavailable"},
    },
)
async def app_record(slug: str, request: Request, version: int | None = Query(None, ge=1, le=MAX_VERSION)) -> Response:
    ctx = entry_context()
    bearer(request, ctx.settings)
    try:
        made = await run_in_threadpool(lambda: make(ctx.store, ctx.settings, slug, version))
    except NoRecord as error:
        raise Refused(404, str(error)) from None
    except KeyProblem:
        raise Refused(503, "the record signing key is unavailable; the operator must fix it") from None
    except STORE_ERRORS:
        raise Refused(503, "the store is unavailable right now; retry later") from None
    return Response(
        made.envelope,
        media_type="application/json",
        headers={"content-disposition": f'attachment; filename="{made.run.slug}-v{made.run.version}.dsse.json"'},
    )
