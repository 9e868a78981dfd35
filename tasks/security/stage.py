"""Stage `security`: the partner's hosts, answers and settings against the platform's security
guidance (SEC-001 to SEC-009, check objects in `tasks/security/checks.py`). The hosts are probed
once, the answers gathered into a `Probed`, then the checks judge it (nothing judged mid-probe).

    SEC-001 https only, SEC-009 secret settings      pure: run offline too
    SEC-002..004 per https host: TLS versions and certificate   (tasks/security/tls.py)
    SEC-005..008 HSTS, security.txt, credentials, error bodies  (tasks/security/web.py)

Hosts are reached through the guard (`tasks/net`): TLS handshakes through `tasks/net/tls.py`,
requests through the one outbound client. A host whose TLS failed is not asked again over https:
the checks that needed it say so and point at SEC-002 / SEC-003.
"""

from __future__ import annotations

import asyncio
import datetime
from dataclasses import replace

from partner_review.models.checks import Component, Result
from partner_review.models.settings import Settings, given_or_current
from partner_review.models.submission import Submission
from partner_review.tasks.net.client import client
from partner_review.tasks.net.transport import guarded_transport
from partner_review.tasks.runner import Scope, run_objects, stage
from partner_review.tasks.security import tls, web
from partner_review.tasks.security.checks import (
    CHECKS,
    HTTPS_ONLY,
    IN_ORDER,
    SECRET_SETTINGS,
    Probed,
    names_credential,
)
from partner_review.tasks.security.hosts import Target, hosts, page_targets, targets

HOSTS_AT_ONCE = 8
# Every component: the runner's `@stage` has already skipped (and lists) the checks a submission
# without destinations or offline does not reach; run_objects judges the rest.
EVERY_COMPONENT: frozenset[Component] = frozenset({"app", "destination", "source"})

__all__ = ["CHECKS", "check_https_only", "check_secret_settings", "check_security", "names_credential"]


def check_https_only(found: list[Target]) -> Result:
    return HTTPS_ONLY.run(Probed(found=tuple(found)))


def check_secret_settings(submission: Submission) -> Result:
    return SECRET_SETTINGS.run(Probed(destinations=tuple(submission.destinations)))


@stage(CHECKS, network_use="connects to the partner's hosts (TLS handshakes and https requests)")
async def check_security(
    submission: Submission, *, offline: bool = False, settings: Settings | None = None
) -> list[Result]:
    found = targets(submission)
    subject = Probed(found=tuple(found), destinations=tuple(submission.destinations))
    if not offline:
        subject = await probe(subject, given_or_current(settings))
    scope = Scope(offline=offline, components=EVERY_COMPONENT)
    return run_objects(IN_ORDER, subject, None, scope, network_use=NETWORK_USE)


NETWORK_USE = "connects to the partner's hosts (TLS handshakes and https requests)"


async def probe(subject: Probed, settings: Settings) -> Probed:
    """Every network question, asked once: the TLS scans, then the https requests (HSTS,
    security.txt, credentials, error bodies). A host whose TLS failed is not asked again."""
    found = list(subject.found)
    now = datetime.datetime.now(datetime.UTC)
    gate = asyncio.Semaphore(HOSTS_AT_ONCE)
    transport = guarded_transport()

    async def scanned(host):
        async with gate:
            return await tls.scan(host, transport=transport, timeout=settings.http_connect_timeout_seconds)

    try:
        scans = await asyncio.gather(*(scanned(h) for h in hosts(found)))
    finally:
        await transport.aclose()
    by_origin = {(s.host.name, s.host.port): s for s in scans}

    def unreachable(url: str) -> str | None:
        origin = Target("", url).origin
        scan = by_origin.get(origin) if origin else None
        if scan is None:
            return None
        if scan.verified is None or not scan.verified.ok:
            return f"no verified TLS 1.2+ connection to {scan.host.label} (SEC-002 and SEC-003 say why)"
        return None

    website = subject.website
    destinations = list(subject.destinations)
    async with client() as http:
        pages, security_txt, credentials, errors = await asyncio.gather(
            web.fetch_hsts(http, page_targets(found), unreachable),
            web.fetch_security_txt(http, website, unreachable),
            web.fetch_authentication(http, destinations, settings, unreachable),
            web.fetch_error_bodies(http, destinations, website, unreachable),
        )
    return replace(
        subject,
        now=now,
        scans=tuple(scans),
        pages=pages,
        security_txt=security_txt,
        credentials=credentials,
        errors=errors,
    )
