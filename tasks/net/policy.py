"""The address policy: which addresses a partner URL may reach (numeric spellings, IPv4 inside
IPv6, cloud metadata and private ranges included), and the networks an operator allows."""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable, Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWED_SCHEMES = ("http", "https")

# Cloud instance metadata addresses (named even where another rule already refuses them; the
# Azure one, 168.63.129.16, is a public address).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "168.63.129.16", "100.100.100.200", "fd00:ec2::254")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def parse_networks(cidrs: Iterable[str | IPNetwork]) -> tuple[IPNetwork, ...]:
    """CIDR strings (e.g. from `PARTNER_REVIEW_ALLOWED_NETWORKS`) as networks; bad ones raise."""
    return tuple(
        c
        if isinstance(c, (ipaddress.IPv4Network, ipaddress.IPv6Network))
        else ipaddress.ip_network(c.strip(), strict=False)
        for c in cidrs
    )


_NUMERIC_PART = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)


def looks_numeric(host: str) -> bool:
    """Whether every dotted part of `host` is a number (decimal or hex): an address, valid or not."""
    return all(_NUMERIC_PART.match(p) for p in host.rstrip(".").split("."))


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
