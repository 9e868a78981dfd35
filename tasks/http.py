"""The one outbound HTTP client for partner-supplied URLs.

Every stage that fetches a URL a partner chose (endpoints, docs, pages, events) gets its client
here, so the guards live in one place.
"""

from __future__ import annotations

import httpx

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def client(*, timeout: httpx.Timeout | float | None = None, **kwargs) -> httpx.AsyncClient:
    """An AsyncClient for partner URLs (use as `async with client() as http:`)."""
    return httpx.AsyncClient(timeout=timeout or DEFAULT_TIMEOUT, follow_redirects=False, **kwargs)
