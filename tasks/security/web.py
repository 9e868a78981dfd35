"""SEC-005 to SEC-008: what the partner's https answers say (HSTS, security.txt, credentials,
error bodies), asked through the one guarded client (`tasks/net/client`) and, for destinations,
the e2e stage's `Endpoint` (credentials redacted from evidence)."""

from __future__ import annotations

import asyncio
import datetime
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from partner_review.models.checks import Result
from partner_review.models.events import EventFactory
from partner_review.models.settings import Settings
from partner_review.models.submission import Destination
from partner_review.tasks.e2e.checks import WRONG_SECRET
from partner_review.tasks.e2e.exchange import Endpoint, auth_headers
from partner_review.tasks.net.client import OutboundError, TooLarge, read_up_to
from partner_review.tasks.security import leaks, securitytxt
from partner_review.tasks.security.checks import AUTHENTICATION, ERROR_BODIES, HSTS, SECURITY_TXT
from partner_review.tasks.security.hosts import Target

YEAR = 31_536_000  # seconds: the least HSTS max-age asked for
SECURITY_TXT_MAX = 32 * 1024  # bytes read of a security.txt; RFC 9116 files are a few hundred
ERROR_BODY_MAX = 64 * 1024  # bytes of an error answer searched for leaks
MALFORMED = b'{"type": "track", "userId": "partner-review-probe", "event": '  # JSON cut short
_MAX_AGE = re.compile(r"(?:^|;)\s*max-age\s*=\s*\"?(\d{1,12})\"?\s*(?:;|$)", re.IGNORECASE)

Unreachable = Callable[[str], str | None]  # url -> why its host is not worth asking (TLS failed), or None


def describe_error(error: Exception) -> str:
    text = str(error) or type(error).__name__
    if isinstance(error, OutboundError):
        return text[:300]
    return f"{type(error).__name__}: {text[:300]}"


def max_age(value: str) -> int | None:
    match = _MAX_AGE.search(value)
    return int(match.group(1)) if match else None


async def _answer_head(http: httpx.AsyncClient, url: str) -> tuple[int, httpx.Headers]:
    async with http.stream("GET", url) as response:
        return response.status_code, response.headers


async def check_hsts(http: httpx.AsyncClient, pages: list[Target], unreachable: Unreachable) -> Result:
    if not pages:
        return HSTS.not_applicable("no website or OAuth page is given")
    seen: list[dict[str, Any]] = []
    missing, unknown, gaps = [], [], []

    async def one(page: Target) -> None:
        entry: dict[str, Any] = {"role": page.role, "url": page.url, "request": "GET (redirects not followed)"}
        seen.append(entry)
        if page.origin is None:
            entry["skipped"] = "not an https URL (SEC-001)"
            return
        if why := unreachable(page.url):
            entry["skipped"] = why
            gaps.append(why)
            return
        try:
            status, headers = await _answer_head(http, page.url)
        except (httpx.HTTPError, OutboundError) as error:
            entry["error"] = describe_error(error)
            unknown.append(f"{page.url}: {entry['error']}")
            return
        value = headers.get("strict-transport-security")
        entry.update(status=status, strict_transport_security=value[:200] if value else None)
        age = max_age(value or "")
        if value is None:
            missing.append(f"{page.url} sends no Strict-Transport-Security")
        elif age is None or age < YEAR:
            missing.append(f"{page.url} sends max-age={age if age is not None else '(none)'}, under a year ({YEAR})")

    await asyncio.gather(*(one(p) for p in pages))
    if missing:
        return HSTS.failed("; ".join(missing), pages=seen)
    if unknown:
        return HSTS.errored("; ".join(unknown), pages=seen)
    if gaps and len(gaps) == len(seen):
        return HSTS.not_applicable("; ".join(dict.fromkeys(gaps)), pages=seen)
    return HSTS.passed(f"{len(seen)} page(s) send HSTS for a year or more", pages=seen)


async def check_security_txt(
    http: httpx.AsyncClient, website: Target | None, unreachable: Unreachable, now: datetime.datetime
) -> Result:
    if website is None or website.origin is None:
        return SECURITY_TXT.not_applicable("no https website is given (SEC-001 and the catalog checks report it)")
    parts = urlsplit(website.url)
    url = f"https://{parts.netloc.rsplit('@', 1)[-1]}/.well-known/security.txt"
    evidence: dict[str, Any] = {"request": {"method": "GET", "url": url}}
    if why := unreachable(url):
        return SECURITY_TXT.not_applicable(why, **evidence)
    try:
        async with http.stream("GET", url) as response:
            evidence["status"] = response.status_code
            evidence["content_type"] = response.headers.get("content-type", "")
            body, more = await read_up_to(response, SECURITY_TXT_MAX) if response.status_code == 200 else (b"", False)
    except TooLarge:
        evidence["bytes_read"] = SECURITY_TXT_MAX
        return SECURITY_TXT.failed(
            f"{url} is larger than {SECURITY_TXT_MAX // 1024} KiB: not a security.txt", **evidence
        )
    except (httpx.HTTPError, OutboundError) as error:
        evidence["error"] = describe_error(error)
        return SECURITY_TXT.errored(f"{url} could not be read: {evidence['error']}", **evidence)
    if evidence["status"] != 200:
        return SECURITY_TXT.failed(f"{url} answered {evidence['status']}: no security.txt", **evidence)
    if more:
        evidence["bytes_read"] = SECURITY_TXT_MAX
        return SECURITY_TXT.failed(
            f"{url} is larger than {SECURITY_TXT_MAX // 1024} KiB: not a security.txt", **evidence
        )
    if not evidence["content_type"].lower().startswith("text/plain"):
        return SECURITY_TXT.failed(f"{url} is {evidence['content_type'] or 'untyped'}, not text/plain", **evidence)
    text = body.decode("utf-8", errors="replace")
    parsed = securitytxt.parse(text)
    evidence.update(contact=parsed.contacts[:5], expires=parsed.expires[:2], excerpt=leaks.quote(text))
    problems = parsed.judge(now)
    if problems:
        return SECURITY_TXT.failed(f"{url}: " + "; ".join(problems[:5]), **evidence)
    return SECURITY_TXT.passed(
        f"{url} names {len(parsed.contacts)} contact(s), expires {parsed.expires[0]}", **evidence
    )


async def check_authentication(
    http: httpx.AsyncClient, destinations: list[Destination], settings: Settings, unreachable: Unreachable
) -> Result:
    accepted, other, unknown, gaps, seen = [], [], [], [], []
    factory = EventFactory(seed=25, user_id="partner-review-security-probe")

    async def one(destination: Destination, url: str, batch: bool) -> None:
        endpoint = Endpoint(http, destination, settings)
        if why := unreachable(url):
            gaps.append(why)
            seen.append({"url": url, "skipped": why})
            return
        payload = {"batch": [factory.call("track")]} if batch else factory.call("track")
        wrong = auth_headers(destination.auth, WRONG_SECRET)
        for label, headers in (("no credential", {}), ("a wrong credential", wrong)):
            ex = await endpoint.post(url, payload, headers=headers)
            seen.append({"sent": label, **ex.evidence(endpoint.redact)})
            if ex.error is None and not ex.too_large and ex.status in (401, 403):
                continue
            if ex.ok:
                accepted.append(f"{url} accepted {label} ({ex.status})")
            elif ex.status is not None and ex.error is None:
                other.append(f"{url} answered {label} with {ex.status}, not 401 or 403")
            else:
                unknown.append(f"{url} ({label}): {ex.error or 'answer too large'}")

    jobs = []
    for destination in destinations:
        jobs.append(one(destination, destination.endpoint, False))
        if destination.batch_endpoint:
            jobs.append(one(destination, destination.batch_endpoint, True))
    await asyncio.gather(*jobs)
    if accepted:
        return AUTHENTICATION.failed(
            "; ".join(accepted) + ": anyone who knows the endpoint could write into a customer's account",
            requests=seen,
        )
    if other:
        return AUTHENTICATION.failed("; ".join(other), requests=seen)
    if unknown:
        return AUTHENTICATION.errored("; ".join(unknown), requests=seen)
    if gaps and not any("sent" in entry for entry in seen):
        return AUTHENTICATION.not_applicable("; ".join(dict.fromkeys(gaps)), requests=seen)
    return AUTHENTICATION.passed(f"{len(seen)} request(s) without or with wrong credentials refused", requests=seen)


async def check_error_bodies(
    http: httpx.AsyncClient,
    destinations: list[Destination],
    website: Target | None,
    settings: Settings,
    unreachable: Unreachable,
) -> Result:
    found: list[dict[str, Any]] = []
    asked: list[dict[str, Any]] = []
    unknown: list[str] = []
    gaps: list[str] = []

    async def ask(url: str, headers: dict[str, str]) -> None:
        entry: dict[str, Any] = {"request": {"method": "POST", "url": url, "body": MALFORMED.decode()}}
        asked.append(entry)
        if why := unreachable(url):
            entry["skipped"] = why
            gaps.append(why)
            return
        try:
            async with http.stream("POST", url, content=MALFORMED, headers=headers) as response:
                body, _ = await read_up_to(response, ERROR_BODY_MAX)
                status, answer = response.status_code, response.headers
        except (httpx.HTTPError, OutboundError) as error:
            entry["error"] = describe_error(error)
            unknown.append(f"{url}: {entry['error']}")
            return
        entry.update(status=status, server=answer.get("server"), x_powered_by=answer.get("x-powered-by"))
        for leak in leaks.leaks(body.decode("utf-8", errors="replace"), answer):
            found.append({"url": url, "status": status, **leak})

    jobs = []
    for destination in destinations:
        credentials = {"Content-Type": "application/json", **auth_headers(destination.auth)}
        for url in filter(None, (destination.endpoint, destination.batch_endpoint)):
            if urlsplit(url).scheme in ("http", "https"):
                jobs.append(ask(url, credentials))
    if website is not None and website.origin is not None:
        parts = urlsplit(website.url)
        jobs.append(ask(f"https://{parts.netloc.rsplit('@', 1)[-1]}/", {"Content-Type": "application/json"}))
    if not jobs:
        return ERROR_BODIES.not_applicable("no endpoint or https website to send a malformed request to")
    await asyncio.gather(*jobs)
    redact = [Endpoint(http, d, settings).redact for d in destinations]
    for item in asked + found:  # a credential never lands in evidence, even echoed back in a traceback
        for r in redact:
            for key in ("url", "quote"):
                if key in item:
                    item[key] = r.text(item[key])
            if "request" in item:
                item["request"]["url"] = r.text(item["request"]["url"])
    if found:
        shown = "; ".join(f"{f['url']}: {f['what']} ({f['quote'][:60]!r})" for f in found[:5])
        return ERROR_BODIES.failed(shown, leaks=found[:20], requests=asked)
    if unknown:
        return ERROR_BODIES.errored("; ".join(unknown), requests=asked)
    if gaps and len(gaps) == len(asked):
        return ERROR_BODIES.not_applicable("; ".join(dict.fromkeys(gaps)), requests=asked)
    return ERROR_BODIES.passed(f"{len(asked)} malformed request(s) answered without a leak", requests=asked)
