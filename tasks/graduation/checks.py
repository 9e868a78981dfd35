"""Graduation from Public Beta to Public: OAuth button live, enough active customers, healthy deliveries.

Each check is an object (`Check[Graduation]` with its `run`), run by `tasks/runner.py:run_objects`
on the `Graduation` subject: the stored submission, its button page fetched (never offline), its
adoption and its delivery health read from the store, all gathered once by `graduation_results`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from urllib.parse import parse_qs, urlsplit

from partner_review.models.checks import Check, Result, declare, verdict
from partner_review.models.lifecycle import State
from partner_review.models.settings import Settings, given_or_current
from partner_review.models.store import Store, StoredSubmission
from partner_review.tasks.catalog.fields import https_problem
from partner_review.tasks.context import Context
from partner_review.tasks.graduation.adoption import Adoption, count_active
from partner_review.tasks.health.delivery import Health, health_of
from partner_review.tasks.lifecycle import messages
from partner_review.tasks.lifecycle.notify import Notifier
from partner_review.tasks.net.fetcher import Fetched
from partner_review.tasks.runner import Scope, run_objects

BUTTON_PAGE_USE = "fetches the button page"


@dataclass(frozen=True)
class Graduation:
    """The subject of the graduation checks. `button`: the button page as fetched (None when it was
    not: offline, or no button page or client id to fetch it for); `adoption` and `health`: what the
    store says of the app (None where only the button is checked, `check_button`)."""

    stored: StoredSubmission
    button: Fetched | None = None
    adoption: Adoption | None = None
    health: Health | None = None


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


class OauthConfigured(Check[Graduation]):
    def run(self, subject: Graduation, ctx: Context) -> Result:
        problems = oauth_problems(subject.stored, ctx.settings)
        return self.failed("; ".join(problems), field="app.oauth") if problems else self.passed()


OAUTH_CONFIGURED = declare(
    OauthConfigured(
        "GRD-001",
        "OAuth is configured for the 'Enable with Segment' button",
        stage="graduation",
        requirement=("oauth-button",),
        severity="blocker",
        remedy="Add oauth.client_id, https redirect URIs (at most 5) and, for a destination, the scope "
        "destination/<slug>.",
    )
)


def _authorize_link(links: list[str], client_id: str) -> str | None:
    for link in links:
        parts = urlsplit(link)
        if "authorize" in parts.path.lower() and client_id in parse_qs(parts.query).get("client_id", []):
            return link
    return None


class ButtonLive(Check[Graduation]):
    def run(self, subject: Graduation, ctx: object = None) -> Result:
        from partner_review.tasks.links.documents import read_document

        oauth = subject.stored.submission.app.oauth
        fetched = subject.button
        if oauth is None or not oauth.button_page_url or not oauth.client_id or fetched is None:
            return self.failed("no button page or client id to check", field="app.oauth.button_page_url")
        if not fetched.responded or fetched.text is None or not (200 <= (fetched.status or 0) < 300):
            return self.failed(
                f"the button page did not answer with a page ({fetched.error or fetched.status})", **fetched.evidence()
            )
        page = read_document(fetched.text, url=fetched.final_url or fetched.url, content_type=fetched.content_type)
        link = _authorize_link(page.links, oauth.client_id)
        if link is None:
            return self.failed(
                f"no authorize link with client_id={oauth.client_id} on the page",
                **fetched.evidence(),
                links_seen=len(page.links),
            )
        return self.passed(f"authorize link found: {link[:200]}", **fetched.evidence())


BUTTON_LIVE = declare(
    ButtonLive(
        "GRD-002",
        "The button page links to the OAuth authorize URL with the app's client id",
        stage="graduation",
        requirement=("oauth-button",),
        severity="blocker",
        network=True,
        remedy="Publish oauth.button_page_url with an 'Enable with Segment' link to the authorize URL carrying "
        "your client_id.",
    )
)


class ActiveCustomers(Check[Graduation]):
    def run(self, subject: Graduation, ctx: Context) -> Result:
        adoption, settings = subject.adoption, ctx.settings
        assert adoption is not None, "graduation_results counts the active customers"
        need = settings.graduation_min_customers
        evidence = {
            "active": adoption.active,
            "almost": adoption.almost,
            "needed": need,
            "rule": f">= {settings.active_min_days} days with a delivered event in {settings.active_window_days} days",
        }
        if len(adoption.active) >= need:
            return self.passed(f"{len(adoption.active)} active customers (need {need})", **evidence)
        return self.failed(f"{len(adoption.active)} of {need} active customers", **evidence)


ACTIVE_CUSTOMERS = declare(
    ActiveCustomers(
        "GRD-003",
        "Enough customers actively use the integration",
        stage="graduation",
        requirement=("active-customers",),
        severity="blocker",
        remedy="Graduation waits until enough workspaces deliver events on enough days; nothing to change in the "
        "submission.",
    )
)


class HealthyDeliveries(Check[Graduation]):
    def run(self, subject: Graduation, ctx: object = None) -> Result:
        health = subject.health
        assert health is not None, "graduation_results reads the delivery health"
        if health.healthy:
            return self.passed(health.summary(), **health.as_json())
        return self.failed("; ".join(health.reasons), **health.as_json())


HEALTHY_DELIVERIES = declare(
    HealthyDeliveries(
        "GRD-004",
        "Deliveries are healthy: enough events succeed across enough active customers",
        stage="graduation",
        requirement=("health",),
        severity="blocker",
        remedy="Fix the failing deliveries (see `partner-review health SLUG`); graduation waits for a healthy window.",
    )
)

CHECKS: tuple[Check[Graduation], ...] = (OAUTH_CONFIGURED, BUTTON_LIVE, ACTIVE_CUSTOMERS, HEALTHY_DELIVERIES)


async def button_page(
    stored: StoredSubmission, *, offline: bool = False, settings: Settings | None = None
) -> Fetched | None:
    """The button page, fetched through the guarded client; None offline or with no page or client
    id to fetch it for (GRD-002 says which)."""
    oauth = stored.submission.app.oauth
    if offline or oauth is None or not oauth.button_page_url or not oauth.client_id:
        return None
    from partner_review.tasks.net.fetcher import Fetcher

    async with Fetcher.from_settings(settings) as fetcher:
        return await fetcher.page(oauth.button_page_url)


def _scope(offline: bool) -> Scope:
    return Scope(offline=offline, phase="post-launch")


async def check_button(stored: StoredSubmission, *, offline: bool = False, settings: Settings | None = None) -> Result:
    """GRD-002 alone: the button page fetched and judged (skipped offline by the runner)."""
    subject = Graduation(stored, button=await button_page(stored, offline=offline, settings=settings))
    ctx = Context.of(given_or_current(settings))
    return run_objects((BUTTON_LIVE,), subject, ctx, _scope(offline), network_use=BUTTON_PAGE_USE)[0]


async def graduation_results(
    store: Store, settings: Settings, stored: StoredSubmission, *, today: date, offline: bool = False
) -> list[Result]:
    """GRD-001..004 for one live app: its facts gathered once (adoption and health from the store,
    the button page from the partner's site), then judged by the check objects."""
    adoption = await asyncio.to_thread(count_active, store, settings, stored.slug, today=today)  # the store blocks
    health = await store.call(health_of, store, settings, stored.slug, today=today)
    button = await button_page(stored, offline=offline, settings=settings)
    subject = Graduation(stored, button=button, adoption=adoption, health=health)
    return run_objects(CHECKS, subject, Context.of(settings, store), _scope(offline), network_use=BUTTON_PAGE_USE)


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
