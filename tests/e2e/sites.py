"""Loopback test sites: a tiny HTTP/1.1 server whose paths answer as the test says.

    async with Site() as site:
        site.route("/", page("<a href='...'>"))
        url = site.url("/")

It records every connection and request, so a test can prove a refused URL never reached it, and
the most requests it ever had in flight at once. Responders: `page`, `status`, `redirect`, `drip`,
`endless`, `rate_limited`, `delayed`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl as ssl_module
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | Callable[[], AsyncIterator[bytes]] = b""
    raw: Callable[[asyncio.StreamWriter], Awaitable[None]] | None = None  # writes the whole response


Responder = Callable[[Request], Awaitable[Reply]]


class Site:
    def __init__(self, host: str = "127.0.0.1", *, ssl: ssl_module.SSLContext | None = None):
        self.host = host
        self.ssl = ssl
        self.routes: dict[str, Responder] = {}
        self.requests: list[Request] = []
        self.connections = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    def route(self, path: str, responder: Responder) -> Site:
        self.routes[path] = responder
        return self

    def url(self, path: str = "/", *, host: str | None = None) -> str:
        shown = host or (f"[{self.host}]" if ":" in self.host else self.host)
        return f"{'https' if self.ssl else 'http'}://{shown}:{self.port}{path}"

    def hits(self, path: str, method: str | None = None) -> int:
        return sum(1 for r in self.requests if r.path == path and (method is None or r.method == method))

    async def __aenter__(self) -> Site:
        self._server = await asyncio.start_server(self._serve, self.host, 0, ssl=self.ssl)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        self._tasks.add(task)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        key, value = line.split(":", 1)
                        headers[key.strip().lower()] = value.strip()
                if int(headers.get("content-length", "0") or 0):
                    await reader.readexactly(int(headers["content-length"]))
                request = Request(method, target, headers)
                self.requests.append(request)
                self.in_flight += 1
                self.most_in_flight = max(self.most_in_flight, self.in_flight)
                try:
                    responder = self.routes.get(target.split("?", 1)[0]) or status(404)
                    reply = await responder(request)
                    if not await self._write(reply, method, writer):
                        return
                finally:
                    self.in_flight -= 1
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _write(self, reply: Reply, method: str, writer: asyncio.StreamWriter) -> bool:
        """Send the reply; True when the connection may carry another request."""
        if reply.raw is not None:
            await reply.raw(writer)
            return False
        streaming = callable(reply.body)
        headers = {"Content-Type": "text/html; charset=utf-8", **reply.headers}
        if streaming:
            headers["Connection"] = "close"
        else:
            headers["Content-Length"] = str(len(reply.body))
        head = (
            f"HTTP/1.1 {reply.status} {REASONS.get(reply.status, 'Status')}\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            + "\r\n"
        )
        writer.write(head.encode("latin-1"))
        if method != "HEAD":
            if streaming:
                async for chunk in reply.body():
                    writer.write(chunk)
                    await writer.drain()
                return False
            writer.write(reply.body)
        await writer.drain()
        return not streaming


# Responders -----------------------------------------------------------------------------------


def page(
    html: str,
    *,
    status_code: int = 200,
    content_type: str = "text/html; charset=utf-8",
    headers: dict[str, str] | None = None,
    head_status: int | None = None,
) -> Responder:
    async def respond(request: Request) -> Reply:
        code = head_status if head_status is not None and request.method == "HEAD" else status_code
        return Reply(code, {"Content-Type": content_type, **(headers or {})}, html.encode())

    return respond


def status(code: int) -> Responder:
    async def respond(request: Request) -> Reply:
        return Reply(code, {}, f"<h1>{code}</h1>".encode())

    return respond


def redirect(location: str, code: int = 302) -> Responder:
    async def respond(request: Request) -> Reply:
        return Reply(code, {"Location": location}, b"")

    return respond


def delayed(seconds: float, then: Responder) -> Responder:
    async def respond(request: Request) -> Reply:
        await asyncio.sleep(seconds)
        return await then(request)

    return respond


def rate_limited(retry_after: str, *, times: int, then: Responder) -> Responder:
    """429 with Retry-After for the first `times` requests, then `then`."""
    seen = 0

    async def respond(request: Request) -> Reply:
        nonlocal seen
        seen += 1
        if seen <= times:
            return Reply(429, {"Retry-After": retry_after}, b"slow down")
        return await then(request)

    return respond


def drip(*, interval: float = 1.0, headers_first: bool = True) -> Responder:
    """One byte per `interval`, forever: after complete headers, or from the status line on."""

    async def respond(request: Request) -> Reply:
        async def write(writer: asyncio.StreamWriter) -> None:
            head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n"
            if headers_first:
                writer.write(head)
                head = b""
            for byte in head:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(interval)
            while True:
                writer.write(b"<")
                await writer.drain()
                await asyncio.sleep(interval)

        return Reply(raw=write)

    return respond


def endless(chunk_size: int = 64 * 1024) -> Responder:
    """A 200 text/html body that never ends."""

    async def respond(request: Request) -> Reply:
        async def body() -> AsyncIterator[bytes]:
            chunk = b"<p>" + b"x" * (chunk_size - 3)
            while True:
                yield chunk
                await asyncio.sleep(0)

        return Reply(200, {"Content-Type": "text/html"}, body)

    return respond
