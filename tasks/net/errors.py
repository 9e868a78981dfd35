"""What the outbound client refuses or cuts short: httpx errors whose messages are written for the partner."""

from __future__ import annotations

import httpx


class OutboundError(httpx.RequestError):
    """A request the client refused or cut short; the message is written for the partner."""

    def __init__(self, message: str, *, request: httpx.Request | None = None, url: str = ""):
        super().__init__(message, request=request)
        self.url = url or (str(request.url) if request is not None else "")


class InvalidHost(OutboundError):
    """The URL's host name is not a valid (IDNA) host name, so no request could be built."""


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
