"""Polite, cached fetching of partner pages and links on top of the guarded client.

A `Fetcher` belongs to one review. It keeps at most `host_concurrency` requests in flight per host
and starts two requests to one host at least `interval` apart (lychee's defaults: 10 and 50 ms),
retries transport errors, 429 and 5xx with exponential backoff or the server's Retry-After (capped),
follows redirects itself so every hop is reported (and vetted by the client's transport), and
fetches each URL once however many checks ask for it. It never raises for what a server does:
every outcome, refusals included, is a `Fetched` with a message written for the partner.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Container
from dataclasses import dataclass, field
from typing import Any

import httpx

from partner_review.models.settings import Settings, given_or_current
from partner_review.tasks.net.client import (
    ALLOWED_SCHEMES,
    DEFAULT_HEADERS,
    HostNotFound,
    OutboundError,
    SchemeNotAllowed,
    TooManyRedirects,
    default_timeout,
    guarded_transport,
    is_text,
    read_text,
)
from partner_review.tasks.net.retry_after import retry_after_seconds

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
HEAD_FALLBACK_NOTE = "HEAD was not accepted; checked with GET"


def parse_status_ranges(spec: str) -> frozenset[int]:
    """`"200-299,403"` as the set of status codes it names."""
    codes: set[int] = set()
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        low, _, high = part.partition("-")
        start, end = int(low), int(high or low)
        if not 100 <= start <= end <= 599:
            raise ValueError(f"status range {part!r} is not within 100-599")
        codes.update(range(start, end + 1))
    return frozenset(codes)


@dataclass
class Fetched:
    """What fetching one URL found: the last response after redirects, or why there was none."""

    url: str
    method: str
    status: int | None = None
    final_url: str = ""
    redirects: list[dict[str, Any]] = field(default_factory=list)
    elapsed_ms: int = 0
    attempts: int = 0
    content_type: str = ""
    headers: dict[str, str] = field(default_factory=dict)  # the ones checks read (X-Robots-Tag)
    text: str | None = None
    error: str | None = None
    error_kind: str | None = None
    note: str | None = None

    @property
    def responded(self) -> bool:
        return self.status is not None and self.error is None

    def evidence(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "url": self.url,
            "method": self.method,
            "status": self.status,
            "final_url": self.final_url or None,
            "redirects": self.redirects,
            "elapsed_ms": self.elapsed_ms,
            "attempts": self.attempts,
        }
        if self.error:
            out["error"] = self.error
            out["error_kind"] = self.error_kind
        if self.note:
            out["note"] = self.note
        return out


class HostGate:
    """At most `concurrency` requests to one host at once, starts at least `interval` s apart."""

    def __init__(
        self,
        concurrency: int,
        interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        self._slots = asyncio.Semaphore(concurrency)
        self._interval = interval
        self._next_start = 0.0
        self._clock, self._sleep = clock, sleep

    async def __aenter__(self) -> None:
        await self._slots.acquire()
        if self._interval:
            now = self._clock()
            start = max(now, self._next_start)
            self._next_start = start + self._interval
            if start > now:
                try:
                    await self._sleep(start - now)
                except BaseException:
                    self._slots.release()
                    raise

    async def __aexit__(self, *exc: object) -> None:
        self._slots.release()


class Fetcher:
    """Fetches pages (`page`) and checks links (`link`) for one review; see the module doc."""

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport,
        *,
        timeout: httpx.Timeout | None = None,
        headers: dict[str, str] | None = None,
        host_concurrency: int = 10,
        interval: float = 0.05,
        retries: int = 2,
        backoff: float = 0.25,
        retry_after_max: float = 10.0,
        max_redirects: int = 5,
        accepted: Container[int] = range(200, 300),
        max_body_bytes: int | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        self.transport = transport  # the guarded transport: no client layer (cookies, auth) needed
        self._timeout = (timeout or default_timeout()).as_dict()
        self._headers = httpx.Headers({**DEFAULT_HEADERS, **(headers or {})})
        self.host_concurrency = host_concurrency
        self.interval = interval
        self.retries = retries
        self.backoff = backoff
        self.retry_after_max = retry_after_max
        self.max_redirects = max_redirects
        self.accepted = accepted
        self.max_body_bytes = max_body_bytes
        self._sleep = sleep
        self._gates: dict[str, HostGate] = {}
        self._cache: dict[tuple[str, str], asyncio.Future[Fetched]] = {}

    @classmethod
    def from_settings(
        cls,
        settings: Settings | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        **overrides: Any,
    ) -> Fetcher:
        """A Fetcher configured by settings, on a guarded aiohttp transport unless one is given."""
        settings = given_or_current(settings)
        options: dict[str, Any] = dict(
            host_concurrency=settings.link_host_concurrency,
            interval=settings.link_request_interval_ms / 1000,
            retries=settings.link_retries,
            retry_after_max=settings.link_retry_after_max_seconds,
            max_redirects=settings.http_max_redirects,
            accepted=parse_status_ranges(settings.link_accepted_status),
            max_body_bytes=settings.http_max_response_bytes,
        )
        options.update(overrides)
        return cls(transport or guarded_transport(engine="aiohttp", settings=settings), **options)

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.transport.aclose()

    # Public -----------------------------------------------------------------------------------

    async def page(self, url: str) -> Fetched:
        """GET `url` with its body as text (when it is text), following redirects."""
        return await self._once(("page", url), lambda: self._follow(url, "GET", want_body=True))

    async def link(self, url: str) -> Fetched:
        """Whether `url` is live: HEAD, then GET when HEAD is not accepted; no body is read."""
        page = self._cache.get(("page", url))
        if page is not None:
            return await asyncio.shield(page)
        return await self._once(("link", url), lambda: self._check(url))

    # Internals --------------------------------------------------------------------------------

    async def _once(self, key: tuple[str, str], make: Callable[[], Awaitable[Fetched]]) -> Fetched:
        """The first caller fetches; callers that come while it runs wait for its result."""
        pending = self._cache.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        pending = self._cache[key] = asyncio.get_running_loop().create_future()
        try:
            result = await make()
        except BaseException:
            del self._cache[key]  # a cancelled fetch is not a result: the next caller tries again
            pending.cancel()
            raise
        if not pending.done():
            pending.set_result(result)
        return result

    async def _check(self, url: str) -> Fetched:
        head = await self._follow(url, "HEAD", want_body=False)
        if head.responded and (head.status in self.accepted or head.status == 429):
            return head  # a rate-limited host gets no second request
        if head.error_kind in (
            "BlockedAddress",
            "SchemeNotAllowed",
            "TooSlow",
            "InvalidURL",
            "HostNotFound",
            "TooManyRedirects",
            "Timeout",
        ):
            return head
        get = await self._follow(url, "GET", want_body=False)
        get.note = f"HEAD answered {head.status or head.error}; checked with GET"
        return get

    def _gate(self, url: httpx.URL) -> HostGate:
        key = url.host.lower()
        gate = self._gates.get(key)
        if gate is None:
            gate = self._gates[key] = HostGate(self.host_concurrency, self.interval)
        return gate

    async def _follow(self, url: str, method: str, *, want_body: bool) -> Fetched:
        result = Fetched(url=url, method=method)
        started = time.perf_counter()
        try:
            await self._follow_into(result, want_body)
        except OutboundError as exc:
            result.error, result.error_kind = str(exc), type(exc).__name__
        except httpx.InvalidURL as exc:
            result.error, result.error_kind = f"{url} is not a valid URL ({exc})", "InvalidURL"
        except httpx.TimeoutException as exc:
            result.error = f"{result.final_url or url} did not answer in time ({type(exc).__name__})"
            result.error_kind = "Timeout"
        except httpx.HTTPError as exc:
            detail = str(exc) or type(exc).__name__
            result.error = f"{result.final_url or url} could not be reached: {detail}"
            result.error_kind = type(exc).__name__
        except ValueError as exc:  # a binary page where text was needed
            result.error, result.error_kind = str(exc), "NotText"
        result.elapsed_ms = round((time.perf_counter() - started) * 1000)
        return result

    async def _follow_into(self, result: Fetched, want_body: bool) -> None:
        current = httpx.URL(result.url)
        seen = {result.url.split("#", 1)[0]}
        method = result.method
        while True:
            result.final_url = str(current)
            if current.scheme not in ALLOWED_SCHEMES:
                raise SchemeNotAllowed(
                    f"{current} uses the {current.scheme or 'empty'}: scheme; only http and https can be "
                    "checked (use an https URL)",
                    url=str(current),
                )
            response = await self._send(result, method, current, want_body)
            location = response.headers.get("location")
            if response.status_code not in REDIRECT_STATUSES or not location:
                return
            target = current.join(location)
            result.redirects.append({"status": response.status_code, "url": str(current), "location": str(target)})
            if target.scheme not in ALLOWED_SCHEMES:
                raise SchemeNotAllowed(
                    f"{current} redirects to {target}, a {target.scheme}: URL that is never followed",
                    url=str(target),
                )
            bare = str(target).split("#", 1)[0]
            if bare in seen:
                chain = " -> ".join([result.url] + [hop["location"] for hop in result.redirects])
                raise TooManyRedirects(f"{result.url} redirects in a loop: {chain}", url=result.url)
            if len(result.redirects) > self.max_redirects:
                raise TooManyRedirects(
                    f"{result.url} redirects more than {self.max_redirects} times (last hop to {target}); "
                    "link to the final address instead",
                    url=result.url,
                )
            seen.add(bare)
            if response.status_code == 303 and method != "HEAD":
                method = "GET"
            current = target

    async def _send(self, result: Fetched, method: str, url: httpx.URL, want_body: bool) -> httpx.Response:
        """One hop, with retries; leaves status, headers and text on `result`."""
        attempt = 0
        while True:
            attempt += 1
            result.attempts += 1
            delay: float | None = None
            async with self._gate(url):
                try:
                    request = httpx.Request(method, url, headers=self._headers, extensions={"timeout": self._timeout})
                    response = await self.transport.handle_async_request(request)
                    response.request = request
                except OutboundError as exc:
                    if not isinstance(exc, HostNotFound) or attempt > self.retries:
                        raise
                    delay = self._backoff(attempt)
                except httpx.TransportError:
                    if attempt > self.retries:
                        raise
                    delay = self._backoff(attempt)
                else:
                    try:
                        status = response.status_code
                        if (status == 429 or status >= 500 and status != 501) and attempt <= self.retries:
                            delay = self._retry_after(response) or self._backoff(attempt)
                        else:
                            result.status = status
                            headers = response.headers
                            result.content_type = headers.get("content-type", "")
                            robots = headers.get("x-robots-tag")
                            if robots is not None:
                                result.headers = {"x-robots-tag": robots}
                            if want_body and status not in REDIRECT_STATUSES and is_text(result.content_type):
                                result.text = await read_text(response, max_bytes=self.max_body_bytes)
                            return response
                    finally:
                        await response.aclose()
            await self._sleep(delay)

    def _backoff(self, attempt: int) -> float:
        return self.backoff * 2 ** (attempt - 1) * (0.5 + random.random() / 2)

    def _retry_after(self, response: httpx.Response) -> float | None:
        seconds = retry_after_seconds(response.headers.get("retry-after"))
        return None if seconds is None else min(seconds, self.retry_after_max)
