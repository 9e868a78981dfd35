"""SEC-005 to SEC-008: the partner's https answers (HSTS, security.txt, credentials, error bodies),
asked through the one guarded client (`tasks/net/client`) and, for destinations, the e2e stage's
`Endpoint` (credentials redacted from evidence). Fetched here once; judged in tasks/security/checks.py."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from partner_review.models.events import EventFactory
from partner_review.models.settings import Settings
from partner_review.models.submission import Destination
from partner_review.tasks.e2e.checks import WRONG_SECRET
from partner_review.tasks.e2e.exchange import Endpoint, Exchange, Redactor, auth_headers
from partner_review.tasks.net.client import OutboundError, TooLarge, read_up_to
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


# What the hosts answered: fetched once by the stage, judged by the checks (tasks/security/checks.py) ----


@dataclass(frozen=True)
class PageAnswer:
    """SEC-005: one page asked for its Strict-Transport-Security header (redirects not followed)."""

    page: Target
    unreachable: str | None = None  # why it was not asked (its host's TLS failed); not asked either when not https
    status: int | None = None
    hsts: str | None = None  # the header's value
    error: str | None = None  # why no answer came


async def fetch_hsts(http: httpx.AsyncClient, pages: list[Target], unreachable: Unreachable) -> tuple[PageAnswer, ...]:
    async def one(page: Target) -> PageAnswer:
        if page.origin is None:
            return PageAnswer(page)
        if why := unreachable(page.url):
            return PageAnswer(page, unreachable=why)
        try:
            status, headers = await _answer_head(http, page.url)
        except (httpx.HTTPError, OutboundError) as error:
            return PageAnswer(page, error=describe_error(error))
        return PageAnswer(page, status=status, hsts=headers.get("strict-transport-security"))

    return tuple(await asyncio.gather(*(one(p) for p in pages)))


def security_txt_url(website: Target) -> str:
    parts = urlsplit(website.url)
    return f"https://{parts.netloc.rsplit('@', 1)[-1]}/.well-known/security.txt"


@dataclass(frozen=True)
class TextAnswer:
    """SEC-006: the website's security.txt as fetched (at most SECURITY_TXT_MAX bytes read)."""

    url: str
    unreachable: str | None = None
    status: int | None = None
    content_type: str = ""
    body: bytes = b""
    more: bool = False  # longer than SECURITY_TXT_MAX
    too_large: bool = False  # the client refused a body that large
    error: str | None = None


async def fetch_security_txt(
    http: httpx.AsyncClient, website: Target | None, unreachable: Unreachable
) -> TextAnswer | None:
    """None when there is no https website to ask."""
    if website is None or website.origin is None:
        return None
    url = security_txt_url(website)
    if why := unreachable(url):
        return TextAnswer(url, unreachable=why)
    status: int | None = None
    content_type = ""
    try:
        async with http.stream("GET", url) as response:
            status, content_type = response.status_code, response.headers.get("content-type", "")
            body, more = await read_up_to(response, SECURITY_TXT_MAX) if status == 200 else (b"", False)
    except TooLarge:
        return TextAnswer(url, status=status, content_type=content_type, too_large=True)
    except (httpx.HTTPError, OutboundError) as error:
        return TextAnswer(url, status=status, content_type=content_type, error=describe_error(error))
    return TextAnswer(url, status=status, content_type=content_type, body=body, more=more)


@dataclass(frozen=True)
class CredentialProbe:
    """SEC-007: one endpoint sent an event with no credential, then with a wrong one."""

    url: str
    redact: Redactor
    unreachable: str | None = None
    answers: tuple[tuple[str, Exchange], ...] = ()  # (what was sent, the exchange)


async def fetch_authentication(
    http: httpx.AsyncClient, destinations: list[Destination], settings: Settings, unreachable: Unreachable
) -> tuple[CredentialProbe, ...]:
    factory = EventFactory(seed=25, user_id="partner-review-security-probe")

    async def one(destination: Destination, url: str, batch: bool) -> CredentialProbe:
        endpoint = Endpoint(http, destination, settings)
        if why := unreachable(url):
            return CredentialProbe(url, endpoint.redact, unreachable=why)
        payload = {"batch": [factory.call("track")]} if batch else factory.call("track")
        wrong = auth_headers(destination.auth, WRONG_SECRET)
        answers = []
        for label, headers in (("no credential", {}), ("a wrong credential", wrong)):
            answers.append((label, await endpoint.post(url, payload, headers=headers)))
        return CredentialProbe(url, endpoint.redact, answers=tuple(answers))

    jobs = []
    for destination in destinations:
        jobs.append(one(destination, destination.endpoint, False))
        if destination.batch_endpoint:
            jobs.append(one(destination, destination.batch_endpoint, True))
    return tuple(await asyncio.gather(*jobs))


@dataclass(frozen=True)
class ErrorAnswer:
    """SEC-008: the answer to a malformed request (at most ERROR_BODY_MAX bytes read)."""

    url: str
    unreachable: str | None = None
    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str = ""
    error: str | None = None


def error_probe_urls(destinations: list[Destination], website: Target | None) -> list[tuple[str, dict[str, str]]]:
    """Where a malformed request goes, with its headers: every endpoint (with its credential), the website."""
    jobs = []
    for destination in destinations:
        credentials = {"Content-Type": "application/json", **auth_headers(destination.auth)}
        for url in filter(None, (destination.endpoint, destination.batch_endpoint)):
            if urlsplit(url).scheme in ("http", "https"):
                jobs.append((url, credentials))
    if website is not None and website.origin is not None:
        parts = urlsplit(website.url)
        jobs.append((f"https://{parts.netloc.rsplit('@', 1)[-1]}/", {"Content-Type": "application/json"}))
    return jobs


async def fetch_error_bodies(
    http: httpx.AsyncClient, destinations: list[Destination], website: Target | None, unreachable: Unreachable
) -> tuple[ErrorAnswer, ...]:
    async def ask(url: str, headers: dict[str, str]) -> ErrorAnswer:
        if why := unreachable(url):
            return ErrorAnswer(url, unreachable=why)
        try:
            async with http.stream("POST", url, content=MALFORMED, headers=headers) as response:
                body, _ = await read_up_to(response, ERROR_BODY_MAX)
                status, answer = response.status_code, response.headers
        except (httpx.HTTPError, OutboundError) as error:
            return ErrorAnswer(url, error=describe_error(error))
        return ErrorAnswer(url, status=status, headers=answer, body=body.decode("utf-8", errors="replace"))

    return tuple(await asyncio.gather(*(ask(url, headers) for url, headers in error_probe_urls(destinations, website))))
