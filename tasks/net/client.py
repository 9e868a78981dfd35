"""The one outbound HTTP client for partner-supplied URLs.

Every stage that fetches a URL a partner chose (endpoints, docs, pages, events) gets its client
here, so the guards live in one place. `client()` returns an ordinary `httpx.AsyncClient` whose
transport:

- accepts only `http` and `https`;
- resolves the host once, refuses loopback, private, link-local, multicast, unspecified, reserved
  and cloud-metadata addresses (IPv4 and IPv6, IPv4-mapped forms and numeric spellings such as
  `2130706433` or `0x7f.1` included) unless the address is in `PARTNER_REVIEW_ALLOWED_NETWORKS`,
  and connects to the very address it vetted (no DNS-rebinding window: the request goes to the IP,
  the Host header and the TLS server name stay the partner's host name);
- answers the host names `PARTNER_REVIEW_RESOLVE` maps (`HOST:PORT:ADDRESS`, like curl's
  `--resolve`) with the mapped address instead of DNS, vetted exactly like a DNS answer; the
  certificate is still checked against the host name;
- vets every redirect hop the same way (hops go through the transport too; at most 5);
- bounds every request: connect and read timeouts, a total time per request (a server dripping
  one byte a second is cut off), and a cap on the body size, counted after decompression.

It never retries; `tasks.fetcher.Fetcher` adds politeness, retries and a cache on top of it.
"""

from collections.abc import Iterable
from typing import Any

import httpx

from partner_review.models.settings import Settings, given_or_current
from partner_review.tasks.net.errors import (
    BlockedAddress,
    HostNotFound,
    InvalidHost,
    OutboundError,
    SchemeNotAllowed,
    TooLarge,
    TooManyRedirects,
    TooSlow,
)
from partner_review.tasks.net.policy import (
    ALLOWED_SCHEMES,
    METADATA_ADDRESSES,
    IPAddress,
    IPNetwork,
    blocked_reason,
    numeric_host,
    parse_networks,
    vet_address,
)
from partner_review.tasks.net.resolver import Resolver, StaticResolver, SystemResolver
from partner_review.tasks.net.transport import (
    DEFAULT_LIMITS,
    TRANSPORT_OPTIONS,
    AiohttpPool,
    BoundedStream,
    GuardedTransport,
    default_ssl_context,
    guarded_transport,
)

__all__ = [
    "ALLOWED_SCHEMES",
    "DEFAULT_HEADERS",
    "DEFAULT_LIMITS",
    "METADATA_ADDRESSES",
    "USER_AGENT",
    "AiohttpPool",
    "BlockedAddress",
    "BoundedStream",
    "GuardedTransport",
    "HostNotFound",
    "IPAddress",
    "IPNetwork",
    "OutboundError",
    "Resolver",
    "SchemeNotAllowed",
    "StaticResolver",
    "SystemResolver",
    "TooLarge",
    "TooManyRedirects",
    "TooSlow",
    "blocked_reason",
    "client",
    "default_ssl_context",
    "default_timeout",
    "guarded_transport",
    "is_text",
    "numeric_host",
    "parse_networks",
    "read_capped",
    "read_text",
    "read_up_to",
    "vet_address",
]

USER_AGENT = "partner-review/0.1 (+integration review; link and page checks)"


def default_timeout(settings: Settings | None = None) -> httpx.Timeout:
    settings = given_or_current(settings)
    return httpx.Timeout(settings.http_read_timeout_seconds, connect=settings.http_connect_timeout_seconds)


DEFAULT_HEADERS = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"}


class GuardedClient(httpx.AsyncClient):
    """httpx's AsyncClient, but a URL that cannot be built (a host name that is not valid IDNA, a
    control character) is an OutboundError like every other refusal: httpx lets the idna package's
    UnicodeError, and its own InvalidURL, escape from build_request."""

    def build_request(self, method: str, url: Any, *args: Any, **kwargs: Any) -> httpx.Request:
        try:
            return super().build_request(method, url, *args, **kwargs)
        except (UnicodeError, httpx.InvalidURL) as error:  # idna.IDNAError and its kin are UnicodeErrors
            shown = str(url)[:200]
            raise InvalidHost(f"{shown!r} is not a valid URL ({error})", url=shown) from None


def client(
    *,
    timeout: httpx.Timeout | float | None = None,
    allowed_networks: Iterable[str | IPNetwork] | None = None,
    resolver: Resolver | None = None,
    max_response_bytes: int | None = None,
    max_seconds: float | None = None,
    engine: str = "httpcore",
    settings: Settings | None = None,
    **kwargs: Any,
) -> httpx.AsyncClient:
    """An AsyncClient for partner URLs (use as `async with client() as http:`).

    Guarded as the module says. Redirects are not followed unless asked (`follow_redirects=True`,
    at most `http_max_redirects` hops, each vetted). Defaults come from settings; `allowed_networks`
    and `resolver` override them (tests). `engine="aiohttp"` puts aiohttp under the guard instead of
    httpcore: several times cheaper per request. A `transport=` passed explicitly replaces the
    network and the guard: for tests with `httpx.MockTransport` only.
    """
    settings = given_or_current(settings)
    options = {key: kwargs.pop(key) for key in TRANSPORT_OPTIONS if key in kwargs}
    kwargs.pop("trust_env", None)  # environment proxies would bypass the guard
    kwargs.pop("mounts", None)
    transport = kwargs.pop("transport", None) or guarded_transport(
        allowed_networks=allowed_networks,
        resolver=resolver,
        max_response_bytes=max_response_bytes,
        max_seconds=max_seconds,
        engine=engine,
        settings=settings,
        **options,
    )
    headers = httpx.Headers(DEFAULT_HEADERS)
    headers.update(kwargs.pop("headers", None) or {})
    kwargs.setdefault("follow_redirects", False)
    kwargs.setdefault("max_redirects", settings.http_max_redirects)
    return GuardedClient(
        timeout=timeout or default_timeout(settings),
        transport=transport,
        trust_env=False,
        headers=headers,
        **kwargs,
    )


def is_text(content_type: str) -> bool:
    """Whether a Content-Type is one a page check can read as text."""
    kind = content_type.split(";", 1)[0].strip().lower()
    return (
        kind.startswith("text/")
        or kind in ("application/xhtml+xml", "application/xml", "application/json", "message/rfc822", "")
        or kind.endswith("+xml")
        or kind.endswith("+json")
    )


async def read_text(response: httpx.Response, *, max_bytes: int | None = None, settings: Settings | None = None) -> str:
    """A response body as text, read within the cap (TooLarge past it); the charset from the
    Content-Type, else UTF-8 with replacement. Raises ValueError for a binary content type."""
    content_type = response.headers.get("content-type", "")
    if not is_text(content_type):
        raise ValueError(f"{response.request.url} is {content_type.split(';')[0]}, not a text or HTML page")
    body = await read_capped(response, max_bytes or given_or_current(settings).http_max_response_bytes)
    encoding = response.charset_encoding or "utf-8"
    try:
        return body.decode(encoding, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


async def read_up_to(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    """A streamed response's body, at most `limit` bytes of it, and whether it had more.

    Stops reading once past the limit, so an endless body costs no more than `limit` bytes."""
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > limit:
            return bytes(body[:limit]), True
    return bytes(body), False


async def read_capped(response: httpx.Response, limit: int) -> bytes:
    """A streamed response's body; TooLarge when it is longer than `limit` bytes."""
    body, more = await read_up_to(response, limit)
    if more:
        raise TooLarge(f"{response.request.url} sent more than {limit} bytes", request=response.request)
    return body
