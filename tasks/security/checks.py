"""The security checks (SEC-*): the partner's side of "Follow Segment's security guidance".

TLS versions and certificates of every host the submission names, HSTS and security.txt on the
website, credentials and error answers of the destination endpoints, secret settings. Each check
is an object (`Check[Probed]` with its `run`): `tasks/security/stage.py` probes the hosts once
(tasks/security/tls.py, web.py) and gathers the answers into a `Probed`, which the checks judge
with `tasks/runner.py:run_objects`, nothing fetched.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from typing import Any

from partner_review.models.checks import Check, Result, declare
from partner_review.models.submission import Destination
from partner_review.tasks.e2e.exchange import Redactor
from partner_review.tasks.security import leaks, securitytxt
from partner_review.tasks.security.hosts import Target, page_targets
from partner_review.tasks.security.tls import LEGACY, MIN_DAYS, MODERN, HostScan, days_left, describe, leaf_of
from partner_review.tasks.security.web import (
    MALFORMED,
    SECURITY_TXT_MAX,
    YEAR,
    CredentialProbe,
    ErrorAnswer,
    PageAnswer,
    TextAnswer,
    max_age,
    security_txt_url,
)

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


@dataclass(frozen=True)
class Probed:
    """The subject of the security checks: the partner URLs a submission names, and what
    their hosts answered (empty where nothing was asked: offline, or no such host)."""

    found: tuple[Target, ...] = ()  # every partner URL (tasks/security/hosts.py:targets)
    now: datetime.datetime = field(default_factory=lambda: datetime.datetime.now(datetime.UTC))
    scans: tuple[HostScan, ...] = ()  # SEC-002..004: one per https host
    pages: tuple[PageAnswer, ...] = ()  # SEC-005: the website and OAuth pages
    security_txt: TextAnswer | None = None  # SEC-006: None when there is no https website
    credentials: tuple[CredentialProbe, ...] = ()  # SEC-007: one per endpoint and batch endpoint
    errors: tuple[ErrorAnswer, ...] = ()  # SEC-008: one per endpoint, and the website
    destinations: tuple[Destination, ...] = ()  # the submission's (SEC-008 redacts their credentials, SEC-009)

    @property
    def website(self) -> Target | None:
        return next((t for t in self.found if t.role == "website"), None)


class HttpsOnly(Check[Probed]):
    def run(self, subject: Probed, ctx: object = None) -> Result:
        found = subject.found
        plain = [t for t in found if t.scheme != "https"]
        evidence = {"urls": [{"role": t.role, "url": t.url[:300]} for t in found]}
        if not found:
            return self.not_applicable("the submission names no partner URL")
        if plain:
            listed = "; ".join(f"{t.role} {t.url[:120]}" for t in plain[:10])
            return self.failed(f"not https: {listed}", **evidence)
        return self.passed(f"{len(found)} partner URL(s), all https", **evidence)


HTTPS_ONLY = declare(
    HttpsOnly(
        "SEC-001",
        "Every partner host is reached over https",
        stage="security",
        severity="warning",
        remedy="Serve your website, docs, OAuth pages, endpoints and events_url over https only (TLS 1.2 or newer), "
        "and give their https URLs.",
    )
)

NO_HTTPS_HOST = "the submission names no https host"


class TlsVersion(Check[Probed]):
    def run(self, subject: Probed, ctx: object = None) -> Result:
        scans = subject.scans
        if not scans:
            return self.not_applicable(NO_HTTPS_HOST)
        failing, unknown = [], []
        for s in scans:
            accepted = s.accepted
            legacy = [v for v in accepted if v in LEGACY]
            untested = [v for v in LEGACY if s.status(v).startswith("untested")]
            if s.blocked:
                unknown.append(f"{s.host.label}: {s.blocked}")
            elif legacy:
                failing.append(f"{s.host.label} accepts {' and '.join(legacy)}")
            elif not accepted:
                reasons = sorted({p.error or "" for p in s.probes.values()} - {""})
                unknown.append(f"{s.host.label}: no TLS handshake completed ({'; '.join(reasons)[:300]})")
            elif not any(v in MODERN for v in accepted):
                failing.append(f"{s.host.label} accepts neither TLS 1.2 nor 1.3")
            elif untested:
                unknown.append(f"{s.host.label}: {' and '.join(untested)} could not be offered by this machine")
        evidence = {"hosts": [s.evidence() for s in scans]}
        if failing:
            return self.failed("; ".join(failing), **evidence)
        if unknown:
            return self.errored("; ".join(unknown), **evidence)
        return self.passed(f"{len(scans)} host(s) accept TLS 1.2+ only", **evidence)


TLS_VERSION = declare(
    TlsVersion(
        "SEC-002",
        "Every host negotiates TLS 1.2 or newer and refuses TLS 1.0 and 1.1",
        stage="security",
        severity="blocker",
        network=True,
        remedy="Turn TLS 1.0 and 1.1 off on every host (e.g. nginx `ssl_protocols TLSv1.2 TLSv1.3;`) and keep "
        "TLS 1.2 or 1.3 on.",
    )
)


class CertificateValid(Check[Probed]):
    def run(self, subject: Probed, ctx: object = None) -> Result:
        scans = subject.scans
        if not scans:
            return self.not_applicable(NO_HTTPS_HOST)
        failing, unknown, gaps, seen = [], [], [], []
        for s in scans:
            verified = s.verified
            entry: dict[str, Any] = {"host": s.host.label, "roles": s.host.roles, **describe(leaf_of(s))}
            if s.blocked:
                unknown.append(f"{s.host.label}: {s.blocked}")
            elif verified is not None and verified.ok:
                entry["verified"] = True
            elif verified is not None and verified.verify_error:
                entry["verified"] = False
                entry["error"] = verified.verify_error
                failing.append(f"{s.host.label}: {verified.verify_error}")
            elif not any(v in MODERN for v in s.accepted) and s.accepted:
                gaps.append(
                    f"{s.host.label}: no TLS 1.2+ handshake to verify the certificate with (SEC-002 reports it)"
                )
            else:
                error = verified.error if verified is not None else "no handshake"
                entry["error"] = error
                unknown.append(f"{s.host.label}: {error}")
            seen.append(entry)
        if failing:
            return self.failed("; ".join(failing), hosts=seen)
        if unknown:
            return self.errored("; ".join(unknown), hosts=seen)
        if gaps and len(gaps) == len(scans):
            return self.not_applicable("; ".join(gaps), hosts=seen)
        shown = f"{len(scans) - len(gaps)} host(s) show a valid certificate for their name"
        return self.passed(shown + (f"; {'; '.join(gaps)}" if gaps else ""), hosts=seen)


CERTIFICATE_VALID = declare(
    CertificateValid(
        "SEC-003",
        "Every host's certificate is valid for its name and chains to a trusted root",
        stage="security",
        severity="blocker",
        network=True,
        remedy="Serve a certificate from a public certificate authority that names the host (subject alternative "
        "name), is within its validity dates and comes with its intermediate certificates.",
    )
)


class CertificateExpiry(Check[Probed]):
    def run(self, subject: Probed, ctx: object = None) -> Result:
        if not subject.scans:
            return self.not_applicable(NO_HTTPS_HOST)
        short, seen = [], []
        for s in subject.scans:
            if s.verified is None or not s.verified.ok:
                continue
            left = days_left(s.verified.certificate, subject.now)
            if left is None:
                continue
            seen.append({"host": s.host.label, "days_left": round(left, 1), **describe(s.verified.certificate)})
            if left < MIN_DAYS:
                short.append(f"{s.host.label}'s certificate expires in {max(left, 0):.0f} day(s)")
        if not seen:
            return self.not_applicable("no host showed a valid certificate (SEC-003 reports why)")
        if short:
            return self.failed("; ".join(short) + f" (under {MIN_DAYS})", hosts=seen)
        soonest = min(h["days_left"] for h in seen)
        return self.passed(f"every certificate is valid for {soonest:.0f} more days or longer", hosts=seen)


CERTIFICATE_EXPIRY = declare(
    CertificateExpiry(
        "SEC-004",
        "Every host's certificate is valid for 30 days or more",
        stage="security",
        severity="warning",
        network=True,
        remedy="Renew the certificate before its last 30 days (automate renewal, e.g. with ACME / Let's Encrypt).",
    )
)


class Hsts(Check[Probed]):
    def run(self, subject: Probed, ctx: object = None) -> Result:
        if not page_targets(list(subject.found)):
            return self.not_applicable("no website or OAuth page is given")
        seen: list[dict[str, Any]] = []
        missing, unknown, gaps = [], [], []
        for answer in subject.pages:
            page = answer.page
            entry: dict[str, Any] = {"role": page.role, "url": page.url, "request": "GET (redirects not followed)"}
            seen.append(entry)
            if page.origin is None:
                entry["skipped"] = "not an https URL (SEC-001)"
                continue
            if answer.unreachable:
                entry["skipped"] = answer.unreachable
                gaps.append(answer.unreachable)
                continue
            if answer.error is not None:
                entry["error"] = answer.error
                unknown.append(f"{page.url}: {entry['error']}")
                continue
            value = answer.hsts
            entry.update(status=answer.status, strict_transport_security=value[:200] if value else None)
            age = max_age(value or "")
            if value is None:
                missing.append(f"{page.url} sends no Strict-Transport-Security")
            elif age is None or age < YEAR:
                shown = age if age is not None else "(none)"
                missing.append(f"{page.url} sends max-age={shown}, under a year ({YEAR})")
        if missing:
            return self.failed("; ".join(missing), pages=seen)
        if unknown:
            return self.errored("; ".join(unknown), pages=seen)
        if gaps and len(gaps) == len(seen):
            return self.not_applicable("; ".join(dict.fromkeys(gaps)), pages=seen)
        return self.passed(f"{len(seen)} page(s) send HSTS for a year or more", pages=seen)


HSTS = declare(
    Hsts(
        "SEC-005",
        "The website and OAuth pages send Strict-Transport-Security for a year or more",
        stage="security",
        severity="warning",
        network=True,
        remedy="Send `Strict-Transport-Security: max-age=31536000; includeSubDomains` on every https answer of "
        "your website and OAuth pages.",
    )
)


class SecurityTxt(Check[Probed]):
    def run(self, subject: Probed, ctx: object = None) -> Result:
        website, answer = subject.website, subject.security_txt
        if website is None or website.origin is None or answer is None:
            return self.not_applicable("no https website is given (SEC-001 and the catalog checks report it)")
        url = security_txt_url(website)
        evidence: dict[str, Any] = {"request": {"method": "GET", "url": url}}
        if answer.unreachable:
            return self.not_applicable(answer.unreachable, **evidence)
        if answer.status is not None:
            evidence["status"] = answer.status
            evidence["content_type"] = answer.content_type
        too_large = f"{url} is larger than {SECURITY_TXT_MAX // 1024} KiB: not a security.txt"
        if answer.too_large:
            evidence["bytes_read"] = SECURITY_TXT_MAX
            return self.failed(too_large, **evidence)
        if answer.error is not None:
            evidence["error"] = answer.error
            return self.errored(f"{url} could not be read: {evidence['error']}", **evidence)
        if evidence["status"] != 200:
            return self.failed(f"{url} answered {evidence['status']}: no security.txt", **evidence)
        if answer.more:
            evidence["bytes_read"] = SECURITY_TXT_MAX
            return self.failed(too_large, **evidence)
        if not evidence["content_type"].lower().startswith("text/plain"):
            return self.failed(f"{url} is {evidence['content_type'] or 'untyped'}, not text/plain", **evidence)
        text = answer.body.decode("utf-8", errors="replace")
        parsed = securitytxt.parse(text)
        evidence.update(contact=parsed.contacts[:5], expires=parsed.expires[:2], excerpt=leaks.quote(text))
        problems = parsed.judge(subject.now)
        if problems:
            return self.failed(f"{url}: " + "; ".join(problems[:5]), **evidence)
        return self.passed(f"{url} names {len(parsed.contacts)} contact(s), expires {parsed.expires[0]}", **evidence)


SECURITY_TXT = declare(
    SecurityTxt(
        "SEC-006",
        "The website publishes a security.txt with a Contact and a future Expires (RFC 9116)",
        stage="security",
        severity="warning",
        network=True,
        remedy="Publish `https://<website>/.well-known/security.txt` (text/plain) with at least one `Contact:` "
        "(mailto: or https: URI) and one `Expires:` date in the future (RFC 9116).",
    )
)


class Authentication(Check[Probed]):
    def run(self, subject: Probed, ctx: object = None) -> Result:
        accepted, other, unknown, gaps, seen = [], [], [], [], []
        for probe in subject.credentials:
            url = probe.url
            if probe.unreachable:
                gaps.append(probe.unreachable)
                seen.append({"url": url, "skipped": probe.unreachable})
                continue
            for label, ex in probe.answers:
                seen.append({"sent": label, **ex.evidence(probe.redact)})
                if ex.error is None and not ex.too_large and ex.status in (401, 403):
                    continue
                if ex.ok:
                    accepted.append(f"{url} accepted {label} ({ex.status})")
                elif ex.status is not None and ex.error is None:
                    other.append(f"{url} answered {label} with {ex.status}, not 401 or 403")
                else:
                    unknown.append(f"{url} ({label}): {ex.error or 'answer too large'}")
        if accepted:
            return self.failed(
                "; ".join(accepted) + ": anyone who knows the endpoint could write into a customer's account",
                requests=seen,
            )
        if other:
            return self.failed("; ".join(other), requests=seen)
        if unknown:
            return self.errored("; ".join(unknown), requests=seen)
        if gaps and not any("sent" in entry for entry in seen):
            return self.not_applicable("; ".join(dict.fromkeys(gaps)), requests=seen)
        return self.passed(f"{len(seen)} request(s) without or with wrong credentials refused", requests=seen)


AUTHENTICATION = declare(
    Authentication(
        "SEC-007",
        "Destination endpoints refuse requests without or with wrong credentials (401 or 403)",
        stage="security",
        severity="blocker",
        network=True,
        applies_to="destination",
        remedy="Check the credential on every request to the endpoint and the batch endpoint; answer 401 (or 403) "
        "when it is missing or wrong, before reading the body.",
    )
)


class ErrorBodies(Check[Probed]):
    def run(self, subject: Probed, ctx: object = None) -> Result:
        if not subject.errors:
            return self.not_applicable("no endpoint or https website to send a malformed request to")
        found: list[dict[str, Any]] = []
        asked: list[dict[str, Any]] = []
        unknown: list[str] = []
        gaps: list[str] = []
        for answer in subject.errors:
            url = answer.url
            entry: dict[str, Any] = {"request": {"method": "POST", "url": url, "body": MALFORMED.decode()}}
            asked.append(entry)
            if answer.unreachable:
                entry["skipped"] = answer.unreachable
                gaps.append(answer.unreachable)
                continue
            if answer.error is not None:
                entry["error"] = answer.error
                unknown.append(f"{url}: {entry['error']}")
                continue
            headers = answer.headers
            entry.update(status=answer.status, server=headers.get("server"), x_powered_by=headers.get("x-powered-by"))
            for leak in leaks.leaks(answer.body, headers):
                found.append({"url": url, "status": answer.status, **leak})
        redact = [Redactor(d.auth.secret.get_secret_value()) for d in subject.destinations]
        for item in asked + found:  # a credential never lands in evidence, even echoed back in a traceback
            for r in redact:
                for key in ("url", "quote"):
                    if key in item:
                        item[key] = r.text(item[key])
                if "request" in item:
                    item["request"]["url"] = r.text(item["request"]["url"])
        if found:
            shown = "; ".join(f"{f['url']}: {f['what']} ({f['quote'][:60]!r})" for f in found[:5])
            return self.failed(shown, leaks=found[:20], requests=asked)
        if unknown:
            return self.errored("; ".join(unknown), requests=asked)
        if gaps and len(gaps) == len(asked):
            return self.not_applicable("; ".join(dict.fromkeys(gaps)), requests=asked)
        return self.passed(f"{len(asked)} malformed request(s) answered without a leak", requests=asked)


ERROR_BODIES = declare(
    ErrorBodies(
        "SEC-008",
        "Error answers carry no stack trace, file path or server version",
        stage="security",
        severity="warning",
        network=True,
        remedy='Answer malformed requests with a short message of your own (e.g. `{"error": "the body is not '
        'JSON"}`): turn debug pages off, and send no `X-Powered-By` and no version in `Server`.',
    )
)


class SecretSettings(Check[Probed]):
    def run(self, subject: Probed, ctx: object = None) -> Result:
        seen, exposed = [], []
        for destination in subject.destinations:
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
            return self.failed(f"credential setting(s) not declared secret: {'; '.join(exposed[:10])}", settings=seen)
        if not seen:
            return self.passed("no setting names a credential", settings=seen)
        return self.passed(f"{len(seen)} credential setting(s), all secret", settings=seen)


SECRET_SETTINGS = declare(
    SecretSettings(
        "SEC-009",
        "Every setting that holds a credential is declared secret",
        stage="security",
        severity="blocker",
        applies_to="destination",
        remedy="Declare `secret: true` on every setting whose key or label names a credential (key, token, "
        "secret, password), so it is masked in the UI and in logs.",
    )
)

CHECKS: tuple[Check[Probed], ...] = (
    HTTPS_ONLY,
    TLS_VERSION,
    CERTIFICATE_VALID,
    CERTIFICATE_EXPIRY,
    HSTS,
    SECURITY_TXT,
    AUTHENTICATION,
    ERROR_BODIES,
    SECRET_SETTINGS,
)
# The order of a run's results: the checks that need no network first (they run offline too).
IN_ORDER: tuple[Check[Probed], ...] = (
    HTTPS_ONLY,
    SECRET_SETTINGS,
    TLS_VERSION,
    CERTIFICATE_VALID,
    CERTIFICATE_EXPIRY,
    HSTS,
    SECURITY_TXT,
    AUTHENTICATION,
    ERROR_BODIES,
)
