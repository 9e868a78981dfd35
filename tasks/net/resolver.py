"""Name resolution for the guard: the system resolver, or a fixed table (tests, benchmarks)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Mapping, Sequence
from typing import Protocol

from partner_review.tasks.net.errors import HostNotFound


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
