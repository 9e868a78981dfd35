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
- vets every redirect hop the same way (hops go through the transport too; at most 5);
- bounds every request: connect and read timeouts, a total time per request (a server dripping
  one byte a second is cut off), and a cap on the body size, counted after decompression.

It never retries; `tasks.fetcher.Fetcher` adds politeness, retries and a cache on top of it.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import re
import socket
import ssl
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import httpx

if TYPE_CHECKING:
    import aiohttp

from partner_review.models.settings import get_settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWED_SCHEMES = ("http", "https")
USER_AGENT = "partner-review/0.1 (+integration review; link and page checks)"

# Cloud instance metadata addresses (named even where another rule already refuses them; the
# Azure one, 168.63.129.16, is a public address).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "168.63.129.16", "100.100.100.200", "fd00:ec2::254")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def default_timeout() -> httpx.Timeout:
    settings = get_settings()
    return httpx.Timeout(settings.http_read_timeout_seconds, connect=settings.http_connect_timeout_seconds)


DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=100, keepalive_expiry=5.0)


def default_ssl_context() -> ssl.SSLContext:
    """The system's trust store plus the `ca_file` setting's certificates when set (e.g. a private
    CA); verification stays on. Built once per process for each CA file (and its version)."""
    ca_file = get_settings().ca_file
    if ca_file is None:
        return _ssl_context(None, 0)
    try:
        version = ca_file.stat().st_mtime_ns
    except OSError:
        version = 0  # _ssl_context raises for a missing file, with its name
    return _ssl_context(ca_file, version)


@functools.cache
def _ssl_context(ca_file, version: int) -> ssl.SSLContext:
    context = httpx.create_ssl_context()
    if ca_file is not None:
        try:
            context.load_verify_locations(cafile=str(ca_file))
        except (OSError, ssl.SSLError) as error:
            # An operator's misconfiguration: every https fetch reports it instead of crashing the review.
            raise OutboundError(f"PARTNER_REVIEW_CA_FILE {ca_file} cannot be used ({error})", url="") from None
    return context


@functools.cache
def _no_tls_context() -> ssl.SSLContext:
    """For the plain-http pool: verifies certificates but trusts none, and costs nothing to build."""
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def _loop_time(monotonic_deadline: float) -> float:
    loop = asyncio.get_running_loop()
    return loop.time() + (monotonic_deadline - time.monotonic())


# Errors ---------------------------------------------------------------------------------------


class OutboundError(httpx.RequestError):
    """A request the client refused or cut short; the message is written for the partner."""

    def __init__(self, message: str, *, request: httpx.Request | None = None, url: str = ""):
        super().__init__(message, request=request)
        self.url = url or (str(request.url) if request is not None else "")


class SchemeNotAllowed(OutboundError):
    """The URL's scheme is not http or https."""


class BlockedAddress(OutboundError):
    """The host is, or resolves to, an address the reviewer's network must not be used to reach."""


class HostNotFound(OutboundError, httpx.ConnectError):
    """The host name does not resolve (a transport error: a retry may help)."""


class TooLarge(OutboundError):
    """The response body is bigger than the cap."""


class TooSlow(OutboundError):
    """The response took longer than the total time allowed for one request."""


class TooManyRedirects(OutboundError, httpx.TooManyRedirects):
    """The redirect chain is longer than allowed or loops."""


# Address policy -------------------------------------------------------------------------------


def parse_networks(cidrs: Iterable[str | IPNetwork]) -> tuple[IPNetwork, ...]:
    """CIDR strings (e.g. from `PARTNER_REVIEW_ALLOWED_NETWORKS`) as networks; bad ones raise."""
    return tuple(
        c
        if isinstance(c, (ipaddress.IPv4Network, ipaddress.IPv6Network))
        else ipaddress.ip_network(c.strip(), strict=False)
        for c in cidrs
    )


_NUMERIC_PART = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)


@functools.lru_cache(maxsize=4096)
def numeric_host(host: str) -> IPAddress | None:
    """The address a numeric host spells, in any form `inet_aton` accepts (`2130706433`, `0x7f.1`,
    `0177.0.0.1`) or as an IPv6 literal; None for a host name."""
    host = host.strip("[]").rstrip(".")
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            return None
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(_NUMERIC_PART.match(p) for p in parts):
        return None
    try:
        values = [_inet_aton_part(p) for p in parts]
    except ValueError:  # e.g. "09" is not octal; inet_aton refuses it as well
        return None
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (5 - len(values)):
        return None
    number = 0
    for v in head:
        number = number << 8 | v
    number = number << 8 * (5 - len(values)) | last
    return ipaddress.IPv4Address(number)


def _inet_aton_part(part: str) -> int:
    if part.lower().startswith("0x"):
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        return int(part, 8)
    return int(part)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def blocked_reason(ip: IPAddress) -> str | None:
    """Why the guard refuses an address (e.g. "a loopback address"), or None for a public one."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            reason = blocked_reason(inner)
            if reason:
                return f"{reason} (embedded in the IPv6 address {ip})"
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    for flag, reason in (
        ("is_unspecified", "the unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private-network address"),
        ("is_reserved", "a reserved address"),
    ):
        if getattr(ip, flag):
            return reason
    if not ip.is_global:
        return "a non-public address"
    return None


def _allowed(ip: IPAddress, allowed: Sequence[IPNetwork]) -> bool:
    candidates = [ip]
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        candidates.append(ip.ipv4_mapped)
    return any(c.version == n.version and c in n for c in candidates for n in allowed)


def vet_address(ip: IPAddress, allowed: Sequence[IPNetwork] = ()) -> str | None:
    """None when the client may connect to `ip`, else the reason it may not."""
    if _allowed(ip, allowed):
        return None
    return blocked_reason(ip)


# Resolution -----------------------------------------------------------------------------------


class Resolver(Protocol):
    async def resolve(self, host: str, port: int) -> list[str]:
        """The addresses of `host`, best first; raises HostNotFound."""


class SystemResolver:
    """The operating system's resolver (getaddrinfo), TCP addresses only."""

    async def resolve(self, host: str, port: int) -> list[str]:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError) as exc:
            raise HostNotFound(f"the host name {host!r} does not resolve ({exc})", url=host) from None
        return list(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))


class StaticResolver:
    """A fixed table of names to addresses (tests, benchmarks); an unknown name does not resolve."""

    def __init__(self, table: Mapping[str, Sequence[str]]):
        self.table = {name.lower().rstrip("."): list(addresses) for name, addresses in table.items()}

    async def resolve(self, host: str, port: int) -> list[str]:
        try:
            return self.table[host.lower().rstrip(".")]
        except KeyError:
            raise HostNotFound(f"the host name {host!r} does not resolve", url=host) from None


# Engines --------------------------------------------------------------------------------------


class AiohttpPool(httpx.AsyncBaseTransport):
    """aiohttp as the connection engine under the guard: a C parser and a cheap pool, several
    times httpcore's rate for many small requests. No cookie jar, no proxies, no decompression
    (the guard decompresses within its cap); aiohttp's errors become the httpx errors they are."""

    def __init__(
        self,
        *,
        verify: ssl.SSLContext | bool | str = True,
        cert: Any = None,
        limits: httpx.Limits = DEFAULT_LIMITS,
        **_options: Any,
    ):
        import aiohttp  # imported here: only the link checker pays its import time

        self._aiohttp = aiohttp
        self._ssl = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify=verify, cert=cert)
        self._limits = limits
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[tuple, aiohttp.ClientTimeout] = {}

    def _open(self) -> aiohttp.ClientSession:
        aiohttp = self._aiohttp
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._limits.max_connections or 0,
                ssl=self._ssl,
                keepalive_timeout=self._limits.keepalive_expiry or 15.0,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                trust_env=False,
            )
        return self._session

    def _timeout(self, request: httpx.Request) -> aiohttp.ClientTimeout:
        aiohttp = self._aiohttp
        given = request.extensions.get("timeout") or {}
        key = (given.get("connect"), given.get("read"), given.get("pool"))
        timeout = self._timeouts.get(key)
        if timeout is None:
            timeout = self._timeouts[key] = aiohttp.ClientTimeout(
                total=None,
                sock_connect=key[0],
                sock_read=key[1],
                connect=key[2],
            )
        return timeout

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            body: Any = request.content or None
        except httpx.RequestNotRead:
            body = request.stream
        try:
            response = await self._open().request(
                request.method,
                str(request.url),
                headers=request.headers.multi_items(),
                data=body,
                allow_redirects=False,
                compress=False,
                timeout=self._timeout(request),
                server_hostname=request.extensions.get("sni_hostname"),
            )
        except (TimeoutError, self._aiohttp.ClientError) as exc:
            raise _as_httpx(exc, request) from exc
        extensions = {"http_version": b"HTTP/1.1", "reason_phrase": (response.reason or "").encode()}
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=_AiohttpBody(response, request),
            extensions=extensions,
        )

    async def aclose(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()


def _as_httpx(exc: BaseException, request: httpx.Request) -> httpx.TransportError:
    import aiohttp

    message = str(exc) or type(exc).__name__
    for kind, error in (
        (getattr(aiohttp, "ConnectionTimeoutError", ()), httpx.ConnectTimeout),
        (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
        (asyncio.TimeoutError, httpx.PoolTimeout),
        (aiohttp.ClientConnectorError, httpx.ConnectError),
        (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
        (aiohttp.ClientPayloadError, httpx.RemoteProtocolError),
        (aiohttp.ClientResponseError, httpx.RemoteProtocolError),
        (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
        (aiohttp.ClientOSError, httpx.ReadError),
    ):
        if kind and isinstance(exc, kind):
            return error(message, request=request)
    return httpx.NetworkError(message, request=request)


class _AiohttpBody(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request):
        self._response, self._request = response, request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        import aiohttp

        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _as_httpx(exc, self._request) from exc

    async def aclose(self) -> None:
        self._response.release()  # reuses the connection when the body was read, else closes it


# Transport ------------------------------------------------------------------------------------


class GuardedTransport(httpx.AsyncBaseTransport):
    """Vets the destination of every request, connects to the vetted address, bounds the response."""

    def __init__(
        self,
        *,
        allowed_networks: Sequence[IPNetwork] = (),
        resolver: Resolver | None = None,
        max_response_bytes: int = 5 * 1024 * 1024,
        max_seconds: float | None = 20.0,
        transport_options: Mapping[str, Any] | None = None,
        pool_factory: Callable[[], httpx.AsyncBaseTransport] | None = None,
        engine: str = "httpcore",
    ):
        self.allowed_networks = tuple(allowed_networks)
        self.resolver = resolver or SystemResolver()
        self.max_response_bytes = max_response_bytes
        self.max_seconds = max_seconds
        self._options = {"limits": DEFAULT_LIMITS, **(transport_options or {})}
        self._engine = AiohttpPool if engine == "aiohttp" else httpx.AsyncHTTPTransport
        self._pool_factory = pool_factory
        # One pool for plain http; https gets one pool per server name: a connection whose
        # certificate was checked for one name must never carry a request for another name
        # served from the same address.
        self._pools: dict[str, httpx.AsyncBaseTransport] = {}

    def _pool(self, key: str) -> httpx.AsyncBaseTransport:
        pool = self._pools.get(key)
        if pool is None:
            if self._pool_factory is not None:
                pool = self._pool_factory()
            else:
                options = dict(self._options)
                if not key:  # plain http: no trust store to load (and any TLS on it would fail)
                    options["verify"] = _no_tls_context()
                elif options.get("verify", True) is True and "cert" not in options:
                    options["verify"] = default_ssl_context()  # building one costs ~50 ms: share it
                pool = self._engine(**options)
            self._pools[key] = pool
        return pool

    async def address_for(self, url: httpx.URL, request: httpx.Request | None = None) -> IPAddress:
        """The vetted address to connect to for `url`; raises SchemeNotAllowed or BlockedAddress."""
        shown = str(url)
        if not url.scheme:
            raise SchemeNotAllowed(
                f"{shown} is not an absolute http or https URL (a file: URL or a relative path?)",
                request=request,
                url=shown,
            )
        if url.scheme not in ALLOWED_SCHEMES:
            raise SchemeNotAllowed(
                f"{shown} uses the {url.scheme or 'empty'}: scheme; only http and https links can be "
                "checked (use an https URL)",
                request=request,
                url=shown,
            )
        host = url.host
        if not host:
            raise BlockedAddress(f"{shown} has no host name", request=request, url=shown)
        literal = numeric_host(host)
        if literal is None and all(_NUMERIC_PART.match(p) for p in host.rstrip(".").split(".")):
            raise BlockedAddress(
                f"{shown} has a numeric host that is not a valid IP address", request=request, url=shown
            )
        if literal is not None:
            candidates = [literal]
        elif host == "localhost" or host.endswith(".localhost"):
            raise BlockedAddress(
                f"{shown} points to {host}, this machine, which is never reachable from a review; "
                "use your public host name",
                request=request,
                url=shown,
            )
        else:
            port = url.port or (443 if url.scheme == "https" else 80)
            try:
                found = await self.resolver.resolve(host, port)
            except HostNotFound as exc:
                raise HostNotFound(str(exc), request=request, url=shown) from None
            candidates = [ipaddress.ip_address(a) for a in found]
            if not candidates:
                raise HostNotFound(f"the host name {host!r} has no address", request=request, url=shown)
        reasons = []
        for ip in candidates:
            reason = vet_address(ip, self.allowed_networks)
            if reason is None:
                return (ip.ipv4_mapped or ip) if isinstance(ip, ipaddress.IPv6Address) else ip
            reasons.append(f"{ip} is {reason}")
        named = "" if literal is not None else f" ({host} resolves to {', '.join(map(str, candidates))})"
        raise BlockedAddress(
            f"{shown} was not fetched: {'; '.join(reasons)}{named}. Partner URLs must point to a "
            "public internet address",
            request=request,
            url=shown,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.monotonic()
        url = request.url
        ip = await self.address_for(url, request)
        target = url if url.host == str(ip) else url.copy_with(host=str(ip))
        extensions = dict(request.extensions)
        if url.scheme == "https" and numeric_host(url.host) is None:
            extensions["sni_hostname"] = url.host
        pool_key = url.host if url.scheme == "https" else ""
        inner = (
            request
            if target is url and extensions.keys() == request.extensions.keys()
            else _readdressed(request, target, extensions)
        )
        deadline = started + self.max_seconds if self.max_seconds else None
        limit = asyncio.timeout_at(None if deadline is None else _loop_time(deadline))
        try:
            async with limit:
                response = await self._pool(pool_key).handle_async_request(inner)
        except TimeoutError:
            if not limit.expired():
                raise
            raise TooSlow(
                f"{url} did not send its response headers within {self.max_seconds:g} s",
                request=request,
            ) from None
        headers = response.headers
        encoding = headers.get("content-encoding", "").strip().lower()
        decoder = None
        if encoding in ("gzip", "x-gzip", "deflate"):
            decoder = zlib.decompressobj(zlib.MAX_WBITS | 32 if encoding != "deflate" else zlib.MAX_WBITS)
            headers = httpx.Headers(headers)
            del headers["content-encoding"]
            headers.pop("content-length", None)
        stream = BoundedStream(
            response.stream,
            request=request,
            limit=self.max_response_bytes,
            deadline=deadline,
            max_seconds=self.max_seconds,
            decoder=decoder,
        )
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_response_bytes:
            stream.declared = int(declared)
        try:
            _ = response.content  # in memory already (httpx.MockTransport): rebuilt so the cap applies
        except httpx.ResponseNotRead:
            response.stream = stream
            response.headers = headers
            return response
        return httpx.Response(response.status_code, headers=headers, stream=stream, extensions=response.extensions)

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()


def _readdressed(request: httpx.Request, url: httpx.URL, extensions: dict[str, Any]) -> httpx.Request:
    """The same request (method, headers with the original Host, body) sent to `url`.

    A shallow copy: building a new httpx.Request would re-encode headers and body for every
    request (a tenth of the link checker's time); the caller's request is left untouched.
    """
    inner = httpx.Request.__new__(httpx.Request)
    inner.__dict__.update(request.__dict__)
    inner.url = url
    inner.extensions = extensions
    return inner


class BoundedStream(httpx.AsyncByteStream):
    """A response body that stops at `limit` bytes (after decompression) or at the deadline."""

    def __init__(self, stream, *, request, limit, deadline, max_seconds, decoder=None):
        self._stream = stream
        self._request = request
        self._limit = limit
        self._deadline = deadline
        self._max_seconds = max_seconds
        self._decoder = decoder
        self.declared: int | None = None

    def _too_large(self) -> TooLarge:
        mib = self._limit / (1024 * 1024)
        return TooLarge(
            f"{self._request.url} sent more than {mib:g} MiB; pages and files checked in a review must be smaller",
            request=self._request,
        )

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.declared is not None:
            raise self._too_large()
        total = 0
        chunks = self._stream.__aiter__()
        while True:
            try:
                remaining = None if self._deadline is None else max(self._deadline - time.monotonic(), 0)
                limit = asyncio.timeout(remaining)
                async with limit:
                    chunk = await chunks.__anext__()
            except StopAsyncIteration:
                break
            except TimeoutError:
                if not limit.expired():
                    raise
                raise TooSlow(
                    f"{self._request.url} was still sending its body after {self._max_seconds:g} s; "
                    "a page must load well within that time",
                    request=self._request,
                ) from None
            if self._decoder is not None:
                try:
                    chunk = self._decoder.decompress(chunk, self._limit - total + 1)
                except zlib.error as exc:
                    raise httpx.DecodingError(
                        f"{self._request.url}: bad compressed body ({exc})", request=self._request
                    ) from None
                if self._decoder.unconsumed_tail:
                    raise self._too_large()
            total += len(chunk)
            if total > self._limit:
                raise self._too_large()
            if chunk:
                yield chunk

    async def aclose(self) -> None:
        await self._stream.aclose()


# The client -----------------------------------------------------------------------------------

_TRANSPORT_OPTIONS = ("verify", "cert", "http1", "http2", "limits", "local_address", "retries")


def guarded_transport(
    *,
    allowed_networks: Iterable[str | IPNetwork] | None = None,
    resolver: Resolver | None = None,
    max_response_bytes: int | None = None,
    max_seconds: float | None = None,
    engine: str = "httpcore",
    **options: Any,
) -> GuardedTransport:
    """The guarded transport with its limits from settings (arguments override them)."""
    settings = get_settings()
    return GuardedTransport(
        allowed_networks=parse_networks(settings.allowed_networks if allowed_networks is None else allowed_networks),
        resolver=resolver,
        max_response_bytes=max_response_bytes or settings.http_max_response_bytes,
        max_seconds=max_seconds or settings.http_max_seconds,
        transport_options=options,
        engine=engine,
    )


DEFAULT_HEADERS = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"}


def client(
    *,
    timeout: httpx.Timeout | float | None = None,
    allowed_networks: Iterable[str | IPNetwork] | None = None,
    resolver: Resolver | None = None,
    max_response_bytes: int | None = None,
    max_seconds: float | None = None,
    engine: str = "httpcore",
    **kwargs: Any,
) -> httpx.AsyncClient:
    """An AsyncClient for partner URLs (use as `async with client() as http:`).

    Guarded as the module says. Redirects are not followed unless asked (`follow_redirects=True`,
    at most `http_max_redirects` hops, each vetted). Defaults come from settings; `allowed_networks`
    and `resolver` override them (tests). `engine="aiohttp"` puts aiohttp under the guard instead of
    httpcore: several times cheaper per request. A `transport=` passed explicitly replaces the
    network and the guard: for tests with `httpx.MockTransport` only.
    """
    settings = get_settings()
    options = {key: kwargs.pop(key) for key in _TRANSPORT_OPTIONS if key in kwargs}
    kwargs.pop("trust_env", None)  # environment proxies would bypass the guard
    kwargs.pop("mounts", None)
    transport = kwargs.pop("transport", None) or guarded_transport(
        allowed_networks=allowed_networks,
        resolver=resolver,
        max_response_bytes=max_response_bytes,
        max_seconds=max_seconds,
        engine=engine,
        **options,
    )
    headers = httpx.Headers(DEFAULT_HEADERS)
    headers.update(kwargs.pop("headers", None) or {})
    kwargs.setdefault("follow_redirects", False)
    kwargs.setdefault("max_redirects", settings.http_max_redirects)
    return httpx.AsyncClient(
        timeout=timeout or default_timeout(),
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


async def read_text(response: httpx.Response, *, max_bytes: int | None = None) -> str:
    """A response body as text, read within the cap (TooLarge past it); the charset from the
    Content-Type, else UTF-8 with replacement. Raises ValueError for a binary content type."""
    content_type = response.headers.get("content-type", "")
    if not is_text(content_type):
        raise ValueError(f"{response.request.url} is {content_type.split(';')[0]}, not a text or HTML page")
    limit = max_bytes or get_settings().http_max_response_bytes
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > limit:
            raise TooLarge(f"{response.request.url} sent more than {limit} bytes", request=response.request)
    encoding = response.charset_encoding or "utf-8"
    try:
        return bytes(body).decode(encoding, errors="replace")
    except LookupError:
        return bytes(body).decode("utf-8", errors="replace")
