"""Domain ownership for access requests (ACC-009) and the platform's marks in a company name (ACC-010).

A request's token is an HMAC of its registrable domain and contact address under the platform's
webhook secret: the same request always gets the same token, and no one can make one without the
secret. The requester proves control of the domain by serving the token at
`https://<domain>/.well-known/partner-review-verification.txt` (the website's port kept) or in a
DNS TXT record `partner-review-verification=<token>` on the domain (dnspython, asked of
`dns_nameservers` or the system's). Until then ACC-009 is skipped as pending, with the instructions.

`look_up_proof` gathers what the proof's places show (for `check_access`'s `Access` subject); the
checks are objects (`Check[Access]`) judging it and the company name.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any
from urllib.parse import urlsplit

import httpx

from partner_review.models.access import AccessRequest
from partner_review.models.checks import Check, Result, declare
from partner_review.models.settings import Settings
from partner_review.tasks.access import domains
from partner_review.tasks.access.subject import Access, Proof
from partner_review.tasks.context import Context
from partner_review.tasks.net.client import OutboundError, client, read_up_to

PROOF_PATH = "/.well-known/partner-review-verification.txt"
TXT_PREFIX = "partner-review-verification="
PROOF_MAX = 1024  # bytes read of the proof file


def verification_token(request: AccessRequest, settings: Settings) -> str:
    domain = domains.website_domain(request.company.website) or ""
    key = settings.webhook_secret.get_secret_value().encode()
    message = f"{domain}|{request.contact.email.lower()}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def proof_url(request: AccessRequest) -> str | None:
    """`https://<registrable domain>[:website port]/.well-known/partner-review-verification.txt`."""
    domain = domains.website_domain(request.company.website)
    if domain is None:
        return None
    try:
        port = urlsplit(request.company.website.strip()).port
    except ValueError:
        port = None
    return f"https://{domain}{f':{port}' if port and port != 443 else ''}{PROOF_PATH}"


def instructions(domain: str, url: str, token: str) -> str:
    return (
        f"pending: prove control of {domain} by serving `{token}` at {url}, or by publishing the DNS TXT record "
        f"`{TXT_PREFIX}{token}` on {domain}; the access review checks again on its next run"
    )


async def https_proof(url: str, token: str, http: httpx.AsyncClient) -> tuple[bool, dict[str, Any]]:
    try:
        async with http.stream("GET", url) as response:
            body, _ = await read_up_to(response, PROOF_MAX)
            status = response.status_code
    except (httpx.HTTPError, OutboundError) as error:
        return False, {"url": url, "error": str(error)[:300]}
    found = status == 200 and token in body.decode("utf-8", errors="replace").split()
    return found, {"url": url, "status": status}


def _nameservers(entries: list[str]) -> tuple[list[str], int]:
    addresses, port = [], 53
    for entry in entries:
        match = re.fullmatch(r"\[?([0-9a-fA-F:.]+?)\]?(?::(\d+))?", entry.strip())
        if match:
            addresses.append(match.group(1))
            port = int(match.group(2) or port)
    return addresses, port


async def dns_proof(domain: str, token: str, settings: Settings) -> tuple[bool, dict[str, Any]]:
    import dns.asyncresolver
    import dns.exception

    resolver = dns.asyncresolver.Resolver(configure=not settings.dns_nameservers)
    if settings.dns_nameservers:
        resolver.nameservers, resolver.port = _nameservers(settings.dns_nameservers)
    resolver.lifetime = settings.dns_timeout_seconds
    try:
        answer = await resolver.resolve(domain, "TXT")
    except dns.exception.DNSException as error:
        return False, {"name": domain, "error": f"{type(error).__name__}: {str(error)[:200]}"}
    texts = [b"".join(record.strings).decode("utf-8", errors="replace") for record in answer]
    return f"{TXT_PREFIX}{token}" in texts, {"name": domain, "txt": [t[:200] for t in texts[:10]]}


async def look_up_proof(request: AccessRequest, settings: Settings) -> Proof | None:
    """The token looked for at the proof URL, then (when not there) in the domain's TXT records;
    None when the website has no registrable domain."""
    domain = domains.website_domain(request.company.website)
    url = proof_url(request)
    if domain is None or url is None:
        return None
    token = verification_token(request, settings)
    async with client() as http:
        by_https, https_seen = await https_proof(url, token, http)
    if by_https:
        return Proof(domain, url, token, by_https=True, https=https_seen)
    by_dns, dns_seen = await dns_proof(domain, token, settings)
    return Proof(domain, url, token, by_https=False, https=https_seen, by_dns=by_dns, dns=dns_seen)


class Ownership(Check[Access]):
    def run(self, subject: Access, ctx: object = None) -> Result:
        if subject.offline:
            return self.skipped("Offline: the domain proof was not looked up", because="offline")
        if domains.website_domain(subject.request.company.website) is None or proof_url(subject.request) is None:
            return self.not_applicable("the website has no registrable domain (ACC-001 reports it)")
        proof = subject.proof
        if proof is None:
            return self.skipped("the domain proof was not looked up")
        if proof.by_https:
            return self.passed(f"{proof.url} serves the token", method="https", https=proof.https)
        if proof.by_dns:
            return self.passed(f"{proof.domain} has the TXT record {TXT_PREFIX}…", method="dns", dns=proof.dns)
        return self.skipped(
            instructions(proof.domain, proof.url, proof.token),
            token=proof.token,
            proof_url=proof.url,
            txt_record=f"{TXT_PREFIX}{proof.token}",
            https=proof.https,
            dns=proof.dns,
        )


OWNERSHIP = declare(
    Ownership(
        "ACC-009",
        "The requester proves control of the company domain",
        stage="access",
        severity="warning",
        network=True,
        remedy="Serve the token of the request at `https://<domain>/.well-known/partner-review-verification.txt`, "
        "or publish a DNS TXT record `partner-review-verification=<token>` on the domain.",
    )
)


class PlatformMarks(Check[Access]):
    def run(self, subject: Access, ctx: Context) -> Result:
        mark = ctx.settings.platform_name.strip()
        name = subject.request.company.name
        if mark and re.search(rf"\b{re.escape(mark)}\b", name, re.IGNORECASE):
            return self.failed(
                f"the company name {name!r} uses the platform's name {mark!r}: a reviewer checks it", name=name
            )
        return self.passed(f"the company name does not use {mark!r}", name=name)


PLATFORM_MARKS = declare(
    PlatformMarks(
        "ACC-010",
        "The company name does not use the platform's marks",
        stage="access",
        severity="warning",
        remedy="Name your company and app without the platform's name or marks (e.g. not `Segment Tools Inc.`); a "
        "reviewer checks any that do.",
    )
)
