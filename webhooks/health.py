"""`GET /apps/{slug}/health`: the app's delivery health, the same JSON as `partner-review health`."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from partner_review.models.settings import get_settings
from partner_review.models.store import NotFound, get_store
from partner_review.webhooks.intake import STORE_ERRORS, Refused, bearer

router = APIRouter()


@router.get(
    "/apps/{slug}/health",
    responses={401: {"description": "Missing or wrong bearer token"}, 404: {"description": "No such app"}},
)
async def app_health(slug: str, request: Request, days: int | None = Query(None, ge=1, le=366)) -> JSONResponse:
    """Events delivered and failed, success rate, active customers, healthy and why not, over `days`."""
    from partner_review.tasks.health.delivery import health_of

    bearer(request)
    today = datetime.now(UTC).date()
    try:
        store = await run_in_threadpool(get_store)
        found = await run_in_threadpool(lambda: health_of(store, get_settings(), slug, today=today, days=days))
    except NotFound:
        raise Refused(404, f"no app {slug[:100]!r}") from None
    except STORE_ERRORS:
        raise Refused(503, "the store is unavailable right now; retry later") from None
    return JSONResponse(found.as_json())
