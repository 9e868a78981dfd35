"""The guarded transport: vets each request's address, connects to the very address it vetted,
and bounds the answer (total time, body size after decompression). httpcore or aiohttp beneath."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import ssl
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    import aiohttp

from partner_review.models.settings import Settings, given_or_current
from partner_review.tasks.net.errors import (
    BlockedAddress,
    HostNotFound,
    OutboundError,
    SchemeNotAllowed,
    TooLarge,
    TooSlow,
)
from partner_review.tasks.net.policy import (
    ALLOWED_SCHEMES,
    IPAddress,
    IPNetwork,
    looks_numeric,
    numeric_host,
    parse_networks,
    vet_address,
)
from partner_review.tasks.net.resolver import Resolver, SystemResolver

DEFAULT_LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=100, keepalive_expiry=5.0)


def default_ssl_context(settings: Settings | None = None) -> ssl.SSLContext:
    """The system's trust store plus the `ca_file` setting's certificates when set (e.g. a private
    CA); verification stays on. Built once per process for each CA file (and its version)."""
    ca_file = given_or_current(settings).ca_file
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
        host_map: Mapping[tuple[str, int], Sequence[str]] | None = None,
        settings: Settings | None = None,
    ):
        self.allowed_networks = tuple(allowed_networks)
        self.resolver = resolver or SystemResolver()
        # (host, port) -> addresses answered instead of the resolver's (the `resolve` setting when
        # not given): vetted like any DNS answer below.
        self._settings = given_or_current(settings)
        self.host_map = {
            (host.lower().rstrip("."), port): list(addresses)
            for (host, port), addresses in (self._settings.resolve_table if host_map is None else host_map).items()
        }
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
                    options["verify"] = default_ssl_context(self._settings)  # building one costs ~50 ms: share it
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
        if literal is None and looks_numeric(host):
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
            found = self.host_map.get((host.rstrip("."), port))
            if found is not None:
                resolves = f"PARTNER_REVIEW_RESOLVE maps {host}:{port} to"
            else:
                resolves = f"{host} resolves to"
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
        named = "" if literal is not None else f" ({resolves} {', '.join(map(str, candidates))})"
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


TRANSPORT_OPTIONS = ("verify", "cert", "http1", "http2", "limits", "local_address", "retries")


def guarded_transport(
    *,
    allowed_networks: Iterable[str | IPNetwork] | None = None,
    resolver: Resolver | None = None,
    max_response_bytes: int | None = None,
    max_seconds: float | None = None,
    engine: str = "httpcore",
    settings: Settings | None = None,
    **options: Any,
) -> GuardedTransport:
    """The guarded transport with its limits from settings (arguments override them)."""
    settings = given_or_current(settings)
    return GuardedTransport(
        allowed_networks=parse_networks(settings.allowed_networks if allowed_networks is None else allowed_networks),
        resolver=resolver,
        max_response_bytes=max_response_bytes or settings.http_max_response_bytes,
        max_seconds=max_seconds or settings.http_max_seconds,
        transport_options=options,
        engine=engine,
        settings=settings,
    )
