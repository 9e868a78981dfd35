"""The Acme sample website: the partner's own pages, served over HTTPS on loopback.

The bundled submission names pages on `https://acme.example` (home, partner page, launch post,
docs, a screenshot, the OAuth button page). With no internet they cannot be fetched, so the demo
and the tests serve them here, rewrite the submission's `https://acme.example` URLs to this site
(`cli.demo.pointed_at(..., site=...)`) and review it with every check fetching for real. Served
under its names (`server_name`, `aliases`), the URLs keep them and only gain the port; the demo
maps the names to loopback with `PARTNER_REVIEW_RESOLVE`:

    from partner_review.partners import site_running
    with site_running() as site:          # site.base_url == "https://127.0.0.1:<free port>"
        os.environ["PARTNER_REVIEW_CA_FILE"] = str(site.ca_file)   # trust its private CA
        ...

At start a private CA and a server certificate for 127.0.0.1 (an IP subject alternative name) are
generated in memory; the PEM files live in a temporary directory removed on exit. Nothing is
committed and certificate verification stays on: the outbound client trusts the site only when
told to trust `site.ca_file` (the `ca_file` setting).

Routes: `/` (home), `/integrations` (partner page), `/blog/segment-integration` (launch post),
`/docs/segment` (the partner's own docs), `/img/segment-dashboard.png` (a real PNG),
`/settings/integrations/segment` (the "Enable with Segment" button page),
`/oauth/segment/callback` (the OAuth redirect URI), `/favicon.ico`. GET and HEAD; 404 elsewhere.
Served hardened (`partners.security`): HSTS on every answer and `/.well-known/security.txt`.
"""

from __future__ import annotations

import contextlib
import datetime
import html
import shutil
import struct
import tempfile
import zlib
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from partner_review.models.settings import Settings
from partner_review.partners.server import in_thread

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

# What a partner follows: the platform's published rules (the settings' defaults, not whatever
# a reviewer's environment overrides).
UTM_QUERY: str = Settings.model_fields["utm_query"].default
CATALOG_URL_PREFIX: str = Settings.model_fields["catalog_url_prefix"].default
PLATFORM_NAME: str = Settings.model_fields["platform_name"].default
AUTHORIZE_URL = "https://app.segment.com/oauth2/authorize"
DOCS_PREFIX = "https://segment.com/docs/connections/destinations/catalog/"


@dataclass(frozen=True)
class SampleSite:
    """A running sample website: where it is and the CA certificate (PEM) that signed its certificate."""

    base_url: str
    ca_file: Path
    port: int = 0
    names: tuple[str, ...] = ()  # the DNS names its certificate holds (server_name and aliases)

    def url(self, path: str = "/") -> str:
        return self.base_url + path


# Certificates ---------------------------------------------------------------------------------


def make_certificates(
    host: str = "127.0.0.1",
    *,
    aliases: Sequence[str] = (),
    days: float = 90,
    starts: datetime.datetime | None = None,
) -> tuple[bytes, bytes, bytes]:
    """(CA certificate PEM, server certificate PEM, server key PEM) for `host` (an IP address or a
    name) and the DNS names in `aliases`: a private CA and a server certificate it signs, valid
    from `starts` (default: five minutes ago) for `days` days (90: the security stage asks for 30
    days left)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    start = starts or now - datetime.timedelta(minutes=5)
    end = start + datetime.timedelta(days=days)
    ca_end = max(start, end, now) + datetime.timedelta(days=1)  # the CA outlives what it signs

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Acme Analytics (sample)"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Acme sample site CA"),
        ]
    )
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(ca_end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    try:
        alt_name: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        alt_name = x509.DNSName(host)
    alt_names = [alt_name, *(x509.DNSName(name) for name in aliases if name != host)]
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return (
        ca_cert.public_bytes(pem),
        cert.public_bytes(pem),
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )


# Content --------------------------------------------------------------------------------------


def tiny_png(width: int = 16, height: int = 10) -> bytes:
    """A real (decodable) PNG: a small two-colour picture of a dashboard bar."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(
        b"\x00" + b"".join(b"\x52\x3b\xd6" if y >= height - 1 - x // 2 else b"\xf4\xf4\xf8" for x in range(width))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _layout(title: str, body: str, *, name: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
</head>
<body>
<header><a href="/">{html.escape(name)}</a> ·
<a href="/integrations">Integrations</a> · <a href="/docs/segment">Docs</a> · <a href="/blog/segment-integration">Blog</a></header>
<main>
{body}
</main>
<footer><p>© 2026 {html.escape(name)}, Inc. · <a href="mailto:support@acme.example">support@acme.example</a></p></footer>
</body>
</html>
"""


def pages(
    *, name: str = "Acme Analytics", slug: str = "acme-analytics", client_id: str = "acme-123", base_url: str = ""
) -> dict[str, tuple[str, bytes]]:
    """Path -> (content type, body) of every page. `base_url` is where the site is seen (for the
    OAuth redirect URI in the authorize link)."""
    e = html.escape
    platform = PLATFORM_NAME
    catalog = f"{CATALOG_URL_PREFIX.rstrip('/')}/{slug}/?{UTM_QUERY}"
    segment_docs = f"{DOCS_PREFIX}{slug}/?{UTM_QUERY}"
    authorize = (
        AUTHORIZE_URL
        + "?"
        + urlencode(
            {
                "client_id": client_id,
                "response_type": "code",
                "redirect_uri": f"{base_url}/oauth/segment/callback",
                "scope": f"destination/{slug}",
            },
            quote_via=quote,
        )
    )
    html_pages = {
        "/": (
            f"{name}: product analytics for growth teams",
            f"""
<h1>{e(name)}</h1>
<p>{e(name)} turns product events into funnels, retention charts and alerts for growth teams.</p>
<p>Send your events from {e(platform)} and see them in {e(name)} within minutes:
<a href="/integrations">see our integrations</a>, read <a href="/docs/segment">the {e(platform)} setup guide</a>
or <a href="/blog/segment-integration">the launch announcement</a>.</p>
<img src="/img/segment-dashboard.png" alt="{e(name)} dashboard fed by {e(platform)}" width="160" height="100">
""",
        ),
        "/integrations": (
            f"Integrations | {name}",
            f"""
<h1>Integrations</h1>
<p>Connect {e(name)} to the tools your team already uses.</p>
<section id="segment">
<h2>{e(platform)}</h2>
<p>The {e(name)} destination for {e(platform)} sends your identify, track, page, screen, group and alias
calls to {e(name)} with no code to write.</p>
<ul>
<li><a href="{e(catalog)}">{e(name)} in the {e(platform)} catalog</a></li>
<li><a href="{e(segment_docs)}">{e(name)} destination documentation on {e(platform)}</a></li>
<li><a href="/docs/segment">Our setup guide for {e(platform)}</a></li>
</ul>
</section>
""",
        ),
        "/blog/segment-integration": (
            f"{name} now works with {platform} | {name} blog",
            f"""
<article>
<h1>{e(name)} now works with {e(platform)}</h1>
<p><time datetime="2026-11-20">November 20, 2026</time> · The {e(name)} team</p>
<p>Today the {e(name)} destination is available in the {e(platform)} catalog. Turn it on in your
{e(platform)} workspace and every identify, track, page, screen, group and alias call arrives in
{e(name)}: funnels, retention charts and alerts fill in within five minutes.</p>
<p>Find it in the catalog: <a href="{e(catalog)}">{e(name)} on {e(platform)}</a>. The
<a href="{e(segment_docs)}">destination documentation</a> walks through the setup, and
<a href="/docs/segment">our guide</a> shows where each call appears in {e(name)}.</p>
</article>
""",
        ),
        "/docs/segment": (
            f"{platform} destination | {name} docs",
            f"""
<h1>Sending data from {e(platform)}</h1>
<h2 id="getting-started">Getting started</h2>
<ol>
<li>In {e(name)}, open <a href="/settings/integrations/segment">Settings &gt; Integrations &gt; {e(platform)}</a>
and copy the API Key.</li>
<li>In {e(platform)}, add the {e(name)} destination from <a href="{e(catalog)}">the catalog</a> and paste the
API Key into its settings.</li>
</ol>
<p>Events appear in {e(name)} within five minutes of the first call.</p>
<h2 id="supported-calls">Supported calls</h2>
<p>Identify, Track, Page, Screen, Group and Alias. Page and Screen calls appear in the Paths report,
Track calls in Funnels, Identify calls under People and Group calls under Accounts.</p>
""",
        ),
        "/settings/integrations/segment": (
            f"{platform} integration settings | {name}",
            f"""
<h1>{e(platform)}</h1>
<p>Connect your {e(platform)} workspace to send its events to {e(name)}.</p>
<p><a class="button" href="{e(authorize)}">Enable with {e(platform)}</a></p>
<p>Prefer an API key? Copy it from this page and paste it into the {e(name)} destination settings.</p>
""",
        ),
        "/oauth/segment/callback": (
            f"{platform} connected | {name}",
            f"""
<h1>{e(platform)} connected</h1>
<p>Your {e(platform)} workspace now sends its events to {e(name)}.</p>
""",
        ),
    }
    found = {
        path: ("text/html; charset=utf-8", _layout(title, body, name=name).encode())
        for path, (title, body) in html_pages.items()
    }
    found["/img/segment-dashboard.png"] = ("image/png", tiny_png())
    found["/favicon.ico"] = ("image/png", tiny_png(16, 16))
    return found


# The ASGI application ---------------------------------------------------------------------------


def app(**options: Any) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """The sample website as a bare ASGI app (GET and HEAD; 404 for unknown paths)."""
    cache: dict[str, dict[str, tuple[str, bytes]]] = {}

    async def application(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
        base = f"{scope.get('scheme', 'https')}://{host}" if host else ""
        site = cache.get(base)
        if site is None:
            if len(cache) >= 8:  # one entry per Host the site is reached under; stay small
                cache.clear()
            site = cache[base] = pages(base_url=base, **options)
        method = scope["method"]
        found = site.get(scope["path"])
        headers = [(b"cache-control", b"no-store")]
        if found is None:
            status, content_type, body = 404, "text/html; charset=utf-8", b"<h1>Not found</h1>"
        elif method not in ("GET", "HEAD"):
            status, content_type, body = 405, "text/plain; charset=utf-8", b"Method not allowed"
            headers.append((b"allow", b"GET, HEAD"))
        else:
            status, (content_type, body) = 200, found
        headers += [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})

    return application


# Serving --------------------------------------------------------------------------------------


@contextlib.contextmanager
def site_running(
    *, host: str = "127.0.0.1", server_name: str | None = None, aliases: Sequence[str] = (), **options: Any
) -> Iterator[SampleSite]:
    """Serve the sample website over HTTPS on a free `host` port in a background thread.

    `server_name` (e.g. `acme.example`) puts that DNS name in the certificate and the base URL
    instead of `host`, `aliases` more DNS names in the certificate (e.g. `app.acme.example`);
    whoever fetches it must resolve the names to `host` (a `StaticResolver`, or the
    `PARTNER_REVIEW_RESOLVE` setting as the demo does).

    Yields a `SampleSite`; its `ca_file` is the PEM of the private CA to trust. The server is
    stopped, its thread joined and the certificate directory removed on exit.
    """
    ca_pem, cert_pem, key_pem = make_certificates(server_name or host, aliases=aliases)
    directory = Path(tempfile.mkdtemp(prefix="partner-review-site-"))
    try:
        ca_file, cert_file, key_file = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
        ca_file.write_bytes(ca_pem)
        cert_file.write_bytes(cert_pem)
        key_file.touch(mode=0o600)
        key_file.write_bytes(key_pem)
        from partner_review.partners.security import hardened

        with in_thread(
            hardened(app(**options)),
            host=host,
            name="the sample website",
            ssl_certfile=str(cert_file),
            ssl_keyfile=str(key_file),
        ) as port:
            shown = server_name or (f"[{host}]" if ":" in host else host)
            names = tuple(dict.fromkeys(([server_name] if server_name else []) + list(aliases)))
            yield SampleSite(base_url=f"https://{shown}:{port}", ca_file=ca_file, port=port, names=names)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
