"""SEC-002, SEC-003, SEC-004: the protocol versions each https host accepts and its certificate,
probed here (judged in tasks/security/checks.py).

The client is Python's `ssl` (OpenSSL 3 beneath): a context per version, `minimum_version` =
`maximum_version` = that version and `@SECLEVEL=0` so OpenSSL still offers TLS 1.0 and 1.1 (it
refuses to at its default level). Each probe goes through `tasks/net/tls.handshake`, so the
address is the one the guard vets and SNI is the host's name. A version this machine's OpenSSL
cannot offer at all is reported as untested, never as refused.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import ssl
import warnings
from dataclasses import dataclass, field
from typing import Any

from partner_review.tasks.net.tls import Handshake, handshake
from partner_review.tasks.net.transport import GuardedTransport, default_ssl_context
from partner_review.tasks.security.hosts import Host

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    VERSIONS: dict[str, ssl.TLSVersion] = {
        "TLSv1": ssl.TLSVersion.TLSv1,
        "TLSv1.1": ssl.TLSVersion.TLSv1_1,
        "TLSv1.2": ssl.TLSVersion.TLSv1_2,
        "TLSv1.3": ssl.TLSVersion.TLSv1_3,
    }
LEGACY = ("TLSv1", "TLSv1.1")
MODERN = ("TLSv1.2", "TLSv1.3")
MIN_DAYS = 30
SHOWN_NAMES = 10  # subject alternative names quoted in evidence (a certificate may hold thousands)
# OpenSSL's reasons for a handshake this client could not even start with the version asked.
_LOCAL = ("NO_PROTOCOLS_AVAILABLE", "NO_CIPHERS_AVAILABLE", "UNSUPPORTED_PROTOCOL")


@functools.cache
def probe_context(version: str) -> ssl.SSLContext:
    """A context that offers `version` alone and checks nothing (what is accepted is the question)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.set_ciphers("ALL:@SECLEVEL=0")
        context.minimum_version = VERSIONS[version]
        context.maximum_version = VERSIONS[version]
    return context


@dataclass
class HostScan:
    host: Host
    probes: dict[str, Handshake] = field(default_factory=dict)
    verified: Handshake | None = None

    def status(self, version: str) -> str:
        probe = self.probes[version]
        if probe.ok:
            return "accepted"
        if probe.timed_out:
            return "no answer"
        if probe.refused and any(reason in (probe.error or "") for reason in _LOCAL) and version in LEGACY:
            # The server may have refused with an alert (it says "protocol version") or this client
            # could not offer it: told apart by whether this OpenSSL can build such a hello at all.
            if not offers(version):
                return "untested: this machine's OpenSSL cannot offer it"
        return f"refused ({probe.error})" if probe.error else "refused"

    @property
    def accepted(self) -> list[str]:
        return [v for v, p in self.probes.items() if p.ok]

    @property
    def blocked(self) -> str | None:
        first = next(iter(self.probes.values()), None)
        return first.error if first is not None and first.blocked else None

    def evidence(self) -> dict[str, Any]:
        out: dict[str, Any] = {"host": self.host.label, "roles": self.host.roles}
        if self.blocked:
            out["error"] = self.blocked
            return out
        address = next((p.address for p in self.probes.values() if p.address), "")
        if address:
            out["address"] = address
        out["versions"] = {v: self.status(v) for v in self.probes}
        return out


@functools.cache
def offers(version: str) -> bool:
    """Whether this machine's OpenSSL can offer `version` at all (a ClientHello can be built)."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = probe_context(version).wrap_bio(incoming, outgoing, server_hostname="probe.invalid")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        return bool(outgoing.pending)
    except ssl.SSLError:
        return False
    return True


async def scan(host: Host, *, transport: GuardedTransport, timeout: float) -> HostScan:
    """Every version probe and one verifying handshake (TLS 1.2+, the configured trust), at once."""
    names = list(VERSIONS)
    found = await asyncio.gather(
        *(handshake(host.name, host.port, probe_context(v), timeout=timeout, transport=transport) for v in names),
        handshake(host.name, host.port, default_ssl_context(), timeout=timeout, transport=transport),
    )
    return HostScan(host, dict(zip(names, found[:-1])), found[-1])


# Certificates ---------------------------------------------------------------------------------


def describe(der: bytes | None) -> dict[str, Any]:
    """A certificate's subject, issuer, dates and names, for evidence (never raises)."""
    if not der:
        return {}
    from cryptography import x509

    try:
        cert = x509.load_der_x509_certificate(der)
    except Exception as error:  # a hostile certificate is described as unreadable, never a traceback
        return {"certificate": f"unreadable ({str(error)[:200]})"}
    out: dict[str, Any] = {"bytes": len(der)}
    for key, read in (
        ("subject", lambda: cert.subject.rfc4514_string()[:300]),
        ("issuer", lambda: cert.issuer.rfc4514_string()[:300]),
        ("not_before", lambda: cert.not_valid_before_utc.isoformat()),
        ("not_after", lambda: cert.not_valid_after_utc.isoformat()),
    ):
        try:
            out[key] = read()
        except Exception as error:
            out[key] = f"unreadable ({str(error)[:200]})"
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        values = [str(n.value) for n in names]
        out["names"] = [v[:200] for v in values[:SHOWN_NAMES]]
        if len(values) > SHOWN_NAMES:
            out["names_total"] = len(values)
    except Exception:  # none, or unreadable
        out["names"] = []
    return out


def days_left(der: bytes | None, now: datetime.datetime) -> float | None:
    if not der:
        return None
    from cryptography import x509

    try:
        return (x509.load_der_x509_certificate(der).not_valid_after_utc - now).total_seconds() / 86400
    except Exception:
        return None


def leaf_of(scan: HostScan) -> bytes | None:
    """The certificate the host shows: from the verified handshake, else from any accepted probe."""
    if scan.verified is not None and scan.verified.certificate:
        return scan.verified.certificate
    return next((p.certificate for p in scan.probes.values() if p.certificate), None)
