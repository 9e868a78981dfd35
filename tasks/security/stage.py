"""Stage `security`: the partner's hosts, answers and settings against the platform's security
guidance (SEC-001 to SEC-009, declared in `tasks/security/checks.py`).

    SEC-001 https only, SEC-009 secret settings      pure: run offline too
    SEC-002..004 per https host: TLS versions and certificate   (tasks/security/tls.py)
    SEC-005..008 HSTS, security.txt, credentials, error bodies  (tasks/security/web.py)

Hosts are reached through the guard (`tasks/net`): TLS handshakes through `tasks/net/tls.py`,
requests through the one outbound client. A host whose TLS failed is not asked again over https:
the checks that needed it say so and point at SEC-002 / SEC-003.
"""

from __future__ import annotations

import asyncio
import datetime
import re

from partner_review.models.checks import Result
from partner_review.models.settings import Settings, given_or_current
from partner_review.models.submission import Submission
from partner_review.tasks.net.client import client
from partner_review.tasks.net.transport import guarded_transport
from partner_review.tasks.runner import stage
from partner_review.tasks.security import tls, web
from partner_review.tasks.security.checks import CHECKS, HTTPS_ONLY, SECRET_SETTINGS
from partner_review.tasks.security.hosts import Target, hosts, page_targets, targets

HOSTS_AT_ONCE = 8
# Words that name a credential in a setting's key or label (camelCase, snake_case and spaces split).
CREDENTIAL_WORDS = frozenset(
    {"key", "apikey", "token", "secret", "password", "passwd", "pwd", "credential", "credentials"}
)
_CREDENTIAL_SUFFIX = re.compile(r"(?:key|token|secret|password)s?$")
_NOT_CREDENTIALS = frozenset({"monkey", "turkey", "hockey", "jockey", "whiskey"})
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def names_credential(text: str) -> bool:
    words = [w.lower() for w in _WORD.findall(text)]
    return any(
        w in CREDENTIAL_WORDS or (len(w) > 3 and _CREDENTIAL_SUFFIX.search(w) and w not in _NOT_CREDENTIALS)
        for w in words
    )


def check_https_only(found: list[Target]) -> Result:
    plain = [t for t in found if t.scheme != "https"]
    evidence = {"urls": [{"role": t.role, "url": t.url[:300]} for t in found]}
    if not found:
        return HTTPS_ONLY.not_applicable("the submission names no partner URL")
    if plain:
        listed = "; ".join(f"{t.role} {t.url[:120]}" for t in plain[:10])
        return HTTPS_ONLY.failed(f"not https: {listed}", **evidence)
    return HTTPS_ONLY.passed(f"{len(found)} partner URL(s), all https", **evidence)


def check_secret_settings(submission: Submission) -> Result:
    seen, exposed = [], []
    for destination in submission.destinations:
        for setting in destination.settings:
            if names_credential(setting.key) or names_credential(setting.label):
                entry = {
                    "component": destination.name,
                    "key": setting.key,
                    "label": setting.label,
                    "secret": setting.secret,
                }
                seen.append(entry)
                if not setting.secret:
                    exposed.append(f"{destination.name}: {setting.key!r} ({setting.label})")
    if exposed:
        return SECRET_SETTINGS.failed(
            f"credential setting(s) not declared secret: {'; '.join(exposed[:10])}", settings=seen
        )
    if not seen:
        return SECRET_SETTINGS.passed("no setting names a credential", settings=seen)
    return SECRET_SETTINGS.passed(f"{len(seen)} credential setting(s), all secret", settings=seen)


@stage(CHECKS, network_use="connects to the partner's hosts (TLS handshakes and https requests)")
async def check_security(
    submission: Submission, *, offline: bool = False, settings: Settings | None = None
) -> list[Result]:
    found = targets(submission)
    results = [check_https_only(found), check_secret_settings(submission)]
    if offline:
        return results  # the runner adds the network checks' offline skips
    settings = given_or_current(settings)
    now = datetime.datetime.now(datetime.UTC)
    gate = asyncio.Semaphore(HOSTS_AT_ONCE)
    transport = guarded_transport()

    async def scanned(host):
        async with gate:
            return await tls.scan(host, transport=transport, timeout=settings.http_connect_timeout_seconds)

    try:
        scans = await asyncio.gather(*(scanned(h) for h in hosts(found)))
    finally:
        await transport.aclose()
    by_origin = {(s.host.name, s.host.port): s for s in scans}

    def unreachable(url: str) -> str | None:
        origin = Target("", url).origin
        scan = by_origin.get(origin) if origin else None
        if scan is None:
            return None
        if scan.verified is None or not scan.verified.ok:
            return f"no verified TLS 1.2+ connection to {scan.host.label} (SEC-002 and SEC-003 say why)"
        return None

    if scans:
        results += [tls.judge_versions(scans), tls.judge_certificates(scans), tls.judge_expiry(scans, now)]
    else:
        results += [
            check.not_applicable("the submission names no https host")
            for check in CHECKS
            if check.id in ("SEC-002", "SEC-003", "SEC-004")
        ]
    website = next((t for t in found if t.role == "website"), None)
    async with client() as http:
        results += await asyncio.gather(
            web.check_hsts(http, page_targets(found), unreachable),
            web.check_security_txt(http, website, unreachable, now),
            web.check_authentication(http, submission.destinations, settings, unreachable),
            web.check_error_bodies(http, submission.destinations, website, settings, unreachable),
        )
    return results
