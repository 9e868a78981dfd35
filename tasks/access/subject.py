"""What the access checks (ACC-*) judge, gathered once by `check_access`: the request, its website
as fetched, the approved partners of its domain, and what looking up its domain proof found."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, field
from typing import Any

from partner_review.models.access import AccessRequest
from partner_review.tasks.net.fetcher import Fetched


@dataclass(frozen=True)
class Approved:
    """An approved access request of the same domain (what ACC-008 compares with)."""

    id: str
    company: str
    domain: str


@dataclass(frozen=True)
class Proof:
    """What looking for the request's domain proof found (ACC-009): served over https at `url`, or
    else in a DNS TXT record of `domain` (looked up only when https did not show it)."""

    domain: str
    url: str
    token: str
    by_https: bool
    https: dict[str, Any] = field(default_factory=dict)
    by_dns: bool = False
    dns: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Access:
    """The subject of the access checks. `website`: the company's website as fetched (None: not
    fetched, offline), judged against the `accepted` statuses; `approved`: the approved partners to
    compare with (None: not read, ACC-008 says so); `proof`: the domain proof looked up (None: not
    looked up, offline, or the website has no registrable domain)."""

    request: AccessRequest
    offline: bool = False
    website: Fetched | None = None
    accepted: Container[int] = range(200, 300)
    approved: tuple[Approved, ...] | None = None
    proof: Proof | None = None
