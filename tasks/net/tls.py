"""One TLS handshake with a partner's host, through the guard's address policy.

The address is vetted exactly as for an HTTP request (`GuardedTransport.address_for`: the
`resolve` table, then DNS, then `allowed_networks`), the connection goes to that very address, and
the server name sent (SNI) and checked in the certificate stays the host's name. The security
stage uses it to see which protocol versions a host accepts and which certificate it shows; every
handshake is bounded by `timeout` (a server that stalls it is cut off) and closed at once.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass

import httpx

from partner_review.tasks.net.errors import OutboundError
from partner_review.tasks.net.policy import numeric_host
from partner_review.tasks.net.transport import GuardedTransport, guarded_transport


@dataclass(frozen=True)
class Handshake:
    """What one handshake gave: the version and certificate, or why there was none."""

    host: str
    port: int
    address: str = ""
    version: str | None = None  # negotiated, e.g. "TLSv1.3"
    cipher: str | None = None
    certificate: bytes | None = None  # the leaf certificate (DER) as sent
    peer: dict | None = None  # the verified certificate's fields (`getpeercert()`), with a verifying context
    error: str | None = None  # why the handshake failed
    verify_error: str | None = None  # the certificate verification's own reason (expired, wrong name...)
    refused: bool = False  # the server answered and turned the handshake down (an alert, a reset)
    timed_out: bool = False
    blocked: bool = False  # the guard refused the address: nothing was sent

    @property
    def ok(self) -> bool:
        return self.version is not None


def _url(host: str, port: int) -> httpx.URL:
    shown = f"[{host}]" if ":" in host else host
    return httpx.URL(f"https://{shown}:{port}/")


async def handshake(
    host: str,
    port: int,
    context: ssl.SSLContext,
    *,
    timeout: float,
    transport: GuardedTransport | None = None,
) -> Handshake:
    """A TLS handshake with `host:port` using `context`; never raises for what the server does."""
    guard = transport or guarded_transport()
    try:
        ip = await guard.address_for(_url(host, port))
    except OutboundError as error:
        return Handshake(host, port, error=str(error), blocked=True)
    address = str(ip)
    name = host.strip("[]") if numeric_host(host) is not None else host
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(
                address, port, ssl=context, server_hostname=name, ssl_handshake_timeout=timeout + 1
            )  # asyncio's own handshake limit is a backstop: the deadline above names the timeout
        tls = writer.get_extra_info("ssl_object")
        cipher = tls.cipher()
        peer = tls.getpeercert() if context.verify_mode != ssl.CERT_NONE else None
        return Handshake(
            host,
            port,
            address,
            version=tls.version(),
            cipher=cipher[0] if cipher else None,
            certificate=tls.getpeercert(binary_form=True),
            peer=peer or None,
        )
    except ssl.SSLCertVerificationError as error:
        reason = error.verify_message or error.reason or str(error)
        return Handshake(host, port, address, error=f"certificate refused: {reason}", verify_error=str(reason))
    except ssl.SSLError as error:
        if error.reason == "EXCESSIVE_MESSAGE_SIZE":  # OpenSSL's cap on the certificate chain (100 KiB)
            reason = "the certificate chain is larger than TLS clients accept (over 100 KiB)"
            return Handshake(host, port, address, error=f"certificate refused: {reason}", verify_error=reason)
        return Handshake(host, port, address, error=f"TLS: {error.reason or error}", refused=True)
    except TimeoutError:
        return Handshake(host, port, address, error=f"no TLS handshake within {timeout:g} s", timed_out=True)
    except (ConnectionResetError, BrokenPipeError, asyncio.IncompleteReadError) as error:
        return Handshake(
            host, port, address, error=f"the server closed the connection ({str(error) or 'reset'})", refused=True
        )
    except OSError as error:
        return Handshake(host, port, address, error=f"could not connect: {error.strerror or error}")
    finally:
        if writer is not None:
            writer.transport.abort()  # no close_notify exchange to wait on: a stalling peer costs nothing
