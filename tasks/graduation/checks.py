"""Graduation from Public Beta to Public: OAuth button live, enough active customers, healthy deliveries."""

from __future__ import annotations

import asyncio
from datetime import date
from urllib.parse import parse_qs, urlsplit

from partner_review.models.checks import Result, register, verdict
from partner_review.models.lifecycle import State
from partner_review.models.settings import Settings
from partner_review.models.store import Store, StoredSubmission
from partner_review.tasks.catalog.fields import https_problem
from partner_review.tasks.graduation.adoption import count_active
from partner_review.tasks.health.delivery import health_of
from partner_review.tasks.lifecycle import messages
from partner_review.tasks.lifecycle.notify import Notifier
from partner_review.tasks.runner import Scope, skip

OAUTH_CONFIGURED = register(
    "GRD-001",
    "OAuth is configured for the 'Enable with Segment' button",
    stage="graduation",
    requirement="oauth-button",
    severity="blocker",
    remedy="Add oauth.client_id, https redirect URIs (at most 5) and, for a destination, the scope destination/<slug>.",
)
BUTTON_LIVE = register(
    "GRD-002",
    "The button page links to the OAuth authorize URL with the app's client id",
    stage="graduation",
    requirement="oauth-button",
    severity="blocker",
    network=True,
    remedy="Publish oauth.button_page_url with an 'Enable with Segment' link to the authorize URL carrying your client_id.",
)
ACTIVE_CUSTOMERS = register(
    "GRD-003",
    "Enough customers actively use the integration",
    stage="graduation",
    requirement="active-customers",
    severity="blocker",
    remedy="Graduation waits until enough workspaces deliver events on enough days; nothing to change in the submission.",
)

HEALTHY_DELIVERIES = register(
    "GRD-004",
    "Deliveries are healthy: enough events succeed across enough active customers",
    stage="graduation",
    requirement="health",
    severity="blocker",
    remedy="Fix the failing deliveries (see `partner-review health SLUG`); graduation waits for a healthy window.",
)


def oauth_problems(stored: StoredSubmission, settings: Settings) -> list[str]:
    oauth = stored.submission.app.oauth
    if oauth is None:
        return ["no OAuth configuration (oauth.client_id, oauth.redirect_uris, oauth.scopes)"]
    found = []
    if not oauth.client_id:
        found.append("oauth.client_id is missing")
    if not oauth.redirect_uris:
        found.append("oauth.redirect_uris is empty")
    if len(oauth.redirect_uris) > settings.oauth_max_redirect_uris:
        found.append(
            f"oauth.redirect_uris has {len(oauth.redirect_uris)} URIs; at most {settings.oauth_max_redirect_uris}"
        )
    found += [f"oauth.redirect_uris: {p}" for u in oauth.redirect_uris if (p := https_problem(u))]
    scope = f"destination/{stored.slug}"
    if stored.submission.destinations and scope not in oauth.scopes:
        found.append(f"oauth.scopes lacks '{scope}'")
    if not oauth.button_page_url:
        found.append("oauth.button_page_url is missing")
    return found


def _authorize_link(links: list[str], client_id: str) -> str | None:
    for link in links:
        parts = urlsplit(link)
        if "authorize" in parts.path.lower() and client_id in parse_qs(parts.query).get("client_id", []):
            return link
    return None


async def check_button(stored: StoredSubmission, *, offline: bool = False, settings: Settings | None = None) -> Result:
    oauth = stored.submission.app.oauth
    skipped = skip(BUTTON_LIVE, Scope(offline=offline, phase="post-launch"), network_use="fetches the button page")
    if skipped is not None:
        return skipped
    if oauth is None or not oauth.button_page_url or not oauth.client_id:
        return BUTTON_LIVE.failed("no button page or client id to check", field="app.oauth.button_page_url")
    from partner_review.tasks.links.documents import read_document
    from partner_review.tasks.net.fetcher import Fetcher

    async with Fetcher.from_settings(settings) as fetcher:
        fetched = await fetcher.page(oauth.button_page_url)
    if not fetched.responded or fetched.text is None or not (200 <= (fetched.status or 0) < 300):
        return BUTTON_LIVE.failed(
            f"the button page did not answer with a page ({fetched.error or fetched.status})", **fetched.evidence()
        )
    page = read_document(fetched.text, url=fetched.final_url or fetched.url, content_type=fetched.content_type)
    link = _authorize_link(page.links, oauth.client_id)
    if link is None:
        return BUTTON_LIVE.failed(
            f"no authorize link with client_id={oauth.client_id} on the page",
            **fetched.evidence(),
            links_seen=len(page.links),
        )
    return BUTTON_LIVE.passed(f"authorize link found: {link[:200]}", **fetched.evidence())


async def graduation_results(
    store: Store, settings: Settings, stored: StoredSubmission, *, today: date, offline: bool = False
) -> list[Result]:
    problems = oauth_problems(stored, settings)
    oauth = OAUTH_CONFIGURED.failed("; ".join(problems), field="app.oauth") if problems else OAUTH_CONFIGURED.passed()
    adoption = await asyncio.to_thread(count_active, store, settings, stored.slug, today=today)  # the store blocks
    need = settings.graduation_min_customers
    evidence = {
        "active": adoption.active,
        "almost": adoption.almost,
        "needed": need,
        "rule": f">= {settings.active_min_days} days with a delivered event in {settings.active_window_days} days",
    }
    customers = (
        ACTIVE_CUSTOMERS.passed(f"{len(adoption.active)} active customers (need {need})", **evidence)
        if len(adoption.active) >= need
        else ACTIVE_CUSTOMERS.failed(f"{len(adoption.active)} of {need} active customers", **evidence)
    )
    health = await store.call(health_of, store, settings, stored.slug, today=today)
    delivery = (
        HEALTHY_DELIVERIES.passed(health.summary(), **health.as_json())
        if health.healthy
        else HEALTHY_DELIVERIES.failed("; ".join(health.reasons), **health.as_json())
    )
    return [oauth, await check_button(stored, offline=offline, settings=settings), customers, delivery]


def settle(store: Store, settings: Settings, stored: StoredSubmission, results: list[Result]) -> str:
    """Graduate when every graduation check passes; otherwise ask once for OAuth when it is missing."""
    notifier = Notifier(store, settings)
    recipient = stored.submission.app.support_email or settings.reviewers_email
    if verdict(results) == "pass":
        store.transition(stored.id, State.public, actor="partner-review", reason="graduation checks passed")
        subject, body = messages.graduated(stored)
        notifier.send(
            f"graduated:{stored.id}",
            submission_id=stored.id,
            kind="graduated",
            recipient=recipient,
            subject=subject,
            body=body,
        )
        return "graduated"
    missing = [r.message for r in results if r.check in (OAUTH_CONFIGURED.id, BUTTON_LIVE.id) and r.blocks]
    if missing:
        subject, body = messages.oauth_request(stored, missing)
        notifier.send(
            f"oauth-request:{stored.id}",
            submission_id=stored.id,
            kind="oauth-request",
            recipient=recipient,
            subject=subject,
            body=body,
        )
    return "waiting"
