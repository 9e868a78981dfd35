"""How the catalog judges a URL or a host name in App Info (shared by the catalog and graduation checks)."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

EXCERPT_CHARS = 120
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")


def excerpt(value: str) -> str:
    """`value` cut to what a message shows."""
    return value if len(value) <= EXCERPT_CHARS else value[: EXCERPT_CHARS - 1] + "…"


def https_problem(url: str) -> str | None:
    """Why `url` is not an https URL with a real host name, or None when it is one."""
    if not url.strip():
        return "is empty"
    if any(ch.isspace() for ch in url):
        return "contains whitespace"
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme.lower() != "https":
        return f"uses {parts.scheme + ':' if parts.scheme else 'no scheme'} instead of https:"
    if not host:
        return "has no host name"
    if parts.username is not None or parts.password is not None:
        return "carries credentials before the host name"
    if not valid_host(host):
        return f"has an invalid host name {excerpt(host)!r}"
    return None


def valid_host(host: str) -> bool:
    """Whether `host` is an IP address or a name of at least two valid labels with a non-numeric top."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii").lower().rstrip(".")
    except UnicodeError:
        return False
    labels = ascii_host.split(".")
    return len(labels) >= 2 and all(_LABEL.match(label) for label in labels) and not labels[-1].isdigit()


def svg_url_problem(url: str) -> str | None:
    """Why `url` is not an https URL of an .svg file, or None."""
    problem = https_problem(url)
    if problem:
        return problem
    if not urlsplit(url).path.lower().endswith(".svg"):
        return "does not end with .svg"
    return None
