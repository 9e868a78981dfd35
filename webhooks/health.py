"""`GET /apps/{slug}/health`: the app's delivery health, the same JSON as `partner-review health`."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from partner_review.flows.context import entry_context
from partner_review.models.store import NotFound
from partner_review.webhooks.intake import STORE_ERRORS, Refused, bearer

router = APIRouter()


@router.get(
    "/apps/{slug}/health",
    responses={401: {"description": "Missing or wrong bearer token"}, 404: {"description": "No such app"}},
)
async def app_health(slug: str, request: Request, days: int | None = Query(None, ge=1, le=366)) -> JSONResponse:
    """Events delivered and failed, success rate, active customers, healthy and why not, over `days`."""
    from partner_review.tasks.health.delivery import health_of

    ctx = entry_context()
    bearer(request, ctx.settings)
    today = ctx.now().date()
    try:
        found = await run_in_threadpool(lambda: health_of(ctx.store, ctx.settings, slug, today=today, days=days))
    except NotFound:
        raise Refused(404, f"no app {slug[:100]!r}") from None
    except STORE_ERRORS:
        raise Refused(503, "the store is unavailable right now; retry later") from None
    return JSONResponse(found.as_json())
