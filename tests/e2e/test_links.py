"""The links stage end to end: `check_links` against loopback test sites.

The "platform" (catalog listing, platform docs) is a second site on 127.0.0.2, named by
`PARTNER_REVIEW_CATALOG_URL_PREFIX`, so nothing leaves the machine.
"""

from __future__ import annotations

import datetime
import ssl
import time
from typing import Any

import httpx
import pytest
import pytest_asyncio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from partner_review.models.checks import Result
from partner_review.models.settings import get_settings
from partner_review.models.submission import parse_submission
from partner_review.tasks.links.linkcheck import check_links
from partner_review.tasks.net.client import StaticResolver, SystemResolver, client
from tests.e2e.sites import Site, delayed, drip, endless, page, rate_limited, redirect, status

UTM = "utm_source=segmentio&utm_medium=docs&utm_campaign=partners"
EML = """From: Acme <news@acme.example>
To: customers@acme.example
Subject: Acme Analytics now works with Segment
Content-Type: text/plain; charset=utf-8

Hello! Acme Analytics is now a Segment destination.
Turn it on from the catalog: {listing}?{utm}
"""


@pytest.fixture
def configure(monkeypatch):
    """Set PARTNER_REVIEW_* settings for one test (fast, bounded defaults; loopback allowed)."""

    def apply(**values: Any) -> None:
        base = {
            "ALLOWED_NETWORKS": "127.0.0.0/8",
            "LINK_REQUEST_INTERVAL_MS": "0",
            "HTTP_MAX_SECONDS": "3",
            "HTTP_READ_TIMEOUT_SECONDS": "1",
            "LINK_RETRY_AFTER_MAX_SECONDS": "1",
        }
        for key, value in {**base, **values}.items():
            monkeypatch.setenv(f"PARTNER_REVIEW_{key}", str(value))
        get_settings.cache_clear()

    apply()
    yield apply
    get_settings.cache_clear()


@pytest_asyncio.fixture(loop_scope="function")  # the servers must run on the test's own loop
async def platform(configure):
    async with Site("127.0.0.2") as site:
        site.route("/catalog/integrations/acme-analytics", page("<h1>Acme Analytics</h1>"))
        site.route("/docs/acme-analytics/", page("<h1>Acme Analytics Destination</h1>"))
        site.route("/docs/connections/spec/", page("<h1>Spec</h1>"))
        configure(CATALOG_URL_PREFIX=site.url("/catalog/integrations/"))
        site.listing = site.url("/catalog/integrations/acme-analytics")
        yield site


def partner_html(listing: str, *, utm: str = UTM, name: str = "Acme Analytics") -> str:
    return f"""<!doctype html><html><head><title>Integrations | Acme</title></head><body>
    <h1>Integrations</h1><h2>{name}</h2><p>Send your events to Acme.</p>
    <a href="{listing}?{utm}">Acme on the catalog</a> <a href="/pricing">Pricing</a></body></html>"""


def launch_html(
    listing: str,
    *,
    extra_head: str = "",
    title: str = "Acme Analytics now works with Segment",
    body: str = "Today Acme Analytics joins the Segment catalog.",
) -> str:
    return f"""<html><head><title>{title}</title>{extra_head}</head><body><article>
    <h1>{title}</h1><p>{body}</p><a href="{listing}?{UTM}">Enable it</a></article></body></html>"""


def good_site(site: Site, platform: Site) -> None:
    site.route("/", page("<h1>Acme</h1>"))
    site.route("/integrations", page(partner_html(platform.listing)))
    site.route("/blog/segment", page(launch_html(platform.listing)))
    site.route("/docs/segment", page("<h1>Acme docs</h1>"))
    site.route("/img/shot.png", page("PNG", content_type="image/png"))
    site.route("/logo.svg", page("<svg/>", content_type="image/svg+xml"))


def submission(site: Site, platform: Site, **app: Any):
    data = {
        "version": 1,
        "app": {
            "name": "Acme Analytics",
            "slug": "acme-analytics",
            "website": site.url("/"),
            "logo_url": site.url("/logo.svg"),
            "screenshots": [site.url("/img/shot.png")],
            "docs": {
                "own_url": site.url("/docs/segment"),
                "segment_url": platform.url("/docs/acme-analytics/"),
                "catalog_url": platform.listing,
            },
            "partner_page_url": site.url("/integrations"),
            "launch_post_url": site.url("/blog/segment"),
            **app,
        },
        "components": [{"type": "source", "name": "Acme", "sample_events": [{"type": "track"}]}],
    }
    return parse_submission(data)


def by_check(results: list[Result]) -> dict[str, list[Result]]:
    out: dict[str, list[Result]] = {}
    for r in results:
        out.setdefault(r.check, []).append(r)
    return out


def one(results: list[Result], check: str) -> Result:
    found = by_check(results)[check]
    assert len(found) == 1, found
    return found[0]


def for_url(results: list[Result], url: str) -> Result:
    found = [
        r
        for r in results
        if r.evidence.get("url") == url and r.check in ("LNK-009", "LNK-010", "LNK-011", "LNK-012", "LNK-013")
    ]
    assert len(found) == 1, [r.model_dump() for r in results]
    return found[0]


# Test sites: the expected results -------------------------------------------------------------


async def test_good_site_passes_every_check(platform):
    async with Site() as site:
        good_site(site, platform)
        results = await check_links(submission(site, platform))
    outcomes = {r.check: r.outcome for r in results}
    # no inline doc page in this submission: its # and mailto: links were not read (skipped, saying so)
    assert outcomes == {f"LNK-00{i}": "pass" for i in range(1, 9)} | {"LNK-009": "pass", "LNK-010": "pass"} | {
        "LNK-012": "skip",
        "LNK-013": "skip",
    }
    assert one(results, "LNK-002").evidence["found"] == ["Acme Analytics"]
    for r in results:
        if r.check in ("LNK-001", "LNK-005", "LNK-009", "LNK-010"):
            assert {"url", "status", "final_url", "redirects", "elapsed_ms"} <= r.evidence.keys()
            assert r.evidence["status"] == 200
    assert site.hits("/integrations") == 1 and site.hits("/blog/segment") == 1


async def test_broken_site_fails_with_statuses(platform):
    async with Site() as site:
        site.route("/integrations", status(404))
        site.route("/blog/segment", status(500))
        site.route("/docs/segment", page("docs"))
        results = await check_links(submission(site, platform))
    live = one(results, "LNK-001")
    assert live.outcome == "fail" and live.evidence["status"] == 404 and "answered 404" in live.message
    assert {r.outcome for r in by_check(results)["LNK-002"] + by_check(results)["LNK-003"]} == {"skip"}
    post = one(results, "LNK-005")
    assert post.outcome == "fail" and post.evidence["status"] == 500 and post.evidence["attempts"] == 3
    website = for_url(results, site.url("/"))
    assert website.outcome == "fail" and website.check == "LNK-009" and website.evidence["status"] == 404
    assert "app.website" in website.message


async def test_redirects_are_followed_and_reported(platform):
    async with Site() as site:
        good_site(site, platform)
        site.route("/partners", redirect("/integrations", 301))
        site.route("/old-docs", redirect(site.url("/docs/segment"), 308))
        results = await check_links(
            submission(site, platform, partner_page_url=site.url("/partners"), docs={"own_url": site.url("/old-docs")})
        )
    live = one(results, "LNK-001")
    assert live.outcome == "pass" and live.evidence["final_url"] == site.url("/integrations")
    assert live.evidence["redirects"] == [
        {"status": 301, "url": site.url("/partners"), "location": site.url("/integrations")}
    ]
    docs = for_url(results, site.url("/old-docs"))
    assert docs.outcome == "pass" and docs.evidence["final_url"] == site.url("/docs/segment")
    assert "after 1 redirect" in docs.message


async def test_slow_site_times_out_with_a_finding(platform):
    async with Site() as site:
        good_site(site, platform)
        site.route("/blog/segment", delayed(5, page("late")))
        started = time.monotonic()
        results = await check_links(submission(site, platform))
    post = one(results, "LNK-005")
    assert post.outcome == "fail" and "did not answer in time" in post.message
    assert time.monotonic() - started < 15


async def test_rate_limiting_site_is_retried_after_retry_after(platform):
    async with Site() as site:
        good_site(site, platform)
        site.route("/integrations", rate_limited("1", times=1, then=page(partner_html(platform.listing))))
        site.route("/logo.svg", rate_limited("120", times=99, then=page("never")))
        results = await check_links(submission(site, platform))
    live = one(results, "LNK-001")
    assert live.outcome == "pass" and live.evidence["attempts"] == 2
    logo = for_url(results, site.url("/logo.svg"))
    assert logo.outcome == "error" and "429" in logo.message  # could not verify, not "broken"


async def test_missing_reverse_link_and_wrong_utm(platform):
    async with Site() as site:
        good_site(site, platform)
        site.route(
            "/integrations", page(partner_html(platform.url("/somewhere-else"), utm="utm_source=acme&utm_medium=docs"))
        )
        results = await check_links(submission(site, platform))
    reverse = one(results, "LNK-003")
    assert reverse.outcome == "fail" and platform.listing in reverse.message
    utm = one(results, "LNK-004")
    assert utm.outcome == "warn" and "utm_source=segmentio" in utm.message
    assert "utm_campaign=partners" in utm.message


async def test_page_that_names_neither_app_nor_platform(platform):
    async with Site() as site:
        good_site(site, platform)
        site.route("/integrations", page(partner_html(platform.listing, name="Our friends")))
        results = await check_links(submission(site, platform))
    names = one(results, "LNK-002")
    assert names.outcome == "fail" and names.evidence["looked_for"] == ["Acme Analytics", "Segment"]


@pytest.mark.parametrize(
    "variant,sign",
    [
        ("noindex", "noindex"),
        ("coming-soon", "coming soon"),
        ("lorem", "lorem ipsum"),
        ("draft-title", "draft"),
    ],
)
async def test_unpublished_launch_post_is_found(platform, variant, sign):
    async with Site() as site:
        good_site(site, platform)
        html = {
            "noindex": launch_html(platform.listing, extra_head='<meta name="robots" content="noindex, nofollow">'),
            "coming-soon": launch_html(platform.listing, body="Segment integration coming soon!"),
            "lorem": launch_html(platform.listing, body="Segment. Lorem ipsum dolor sit amet."),
            "draft-title": launch_html(platform.listing, title="DRAFT: Acme Analytics and Segment"),
        }[variant]
        site.route("/blog/segment", page(html))
        results = await check_links(submission(site, platform))
    published = one(results, "LNK-008")
    assert published.outcome == "fail" and sign in published.message.lower()


async def test_announcement_email_stands_in_for_a_blog(platform):
    async with Site() as site:
        good_site(site, platform)
        site.route("/launch.eml", page(EML.format(listing=platform.listing, utm=UTM), content_type="message/rfc822"))
        site.route(
            "/launch.txt", page("Acme Analytics now works with Segment.\nNothing else.", content_type="text/plain")
        )
        email_results = await check_links(submission(site, platform, launch_post_url=site.url("/launch.eml")))
        text_results = await check_links(submission(site, platform, launch_post_url=site.url("/launch.txt")))
    assert one(email_results, "LNK-005").evidence["format"] == "email"
    assert {r.outcome for r in email_results if r.check in ("LNK-005", "LNK-006", "LNK-007", "LNK-008")} == {"pass"}
    assert one(text_results, "LNK-006").outcome == "pass"
    assert one(text_results, "LNK-007").outcome == "fail"  # the text announcement does not link back


async def test_doc_links_anchors_and_mailto(platform):
    async with Site() as site:
        good_site(site, platform)
        site.route("/no-head", page("ok", head_status=405))
        doc_links = [
            (site.url("/docs/segment"), 3),
            (site.url("/missing"), 7),
            (site.url("/no-head"), 8),
            ("#getting-started", 9),
            ("#nowhere", 10),
            ("mailto:support@acme.example", 11),
            ("mailto:support-at-acme", 12),
            ("ftp://acme.example/file.zip", 13),
            ("/docs/connections/spec/", 14),
            ("{{ site.baseurl }}/docs/", 15),
            (site.url("/"), 16),
        ]
        results = await check_links(
            submission(site, platform), doc_links=doc_links, doc_anchors={"getting-started", "supported-methods"}
        )
        head_hits = site.hits("/", "HEAD") + site.hits("/", "GET")
    assert for_url(results, site.url("/docs/segment")).outcome == "pass"  # a catalog URL: LNK-009
    assert for_url(results, site.url("/docs/segment")).evidence["found_in"] == [
        "app.docs.own_url",
        "documentation line 3",
    ]
    missing = for_url(results, site.url("/missing"))
    assert (missing.check, missing.outcome, missing.evidence["status"]) == ("LNK-011", "warn", 404)
    assert "documentation line 7" in missing.message
    no_head = for_url(results, site.url("/no-head"))
    assert no_head.outcome == "pass" and no_head.evidence["method"] == "GET"
    assert for_url(results, "#getting-started").outcome == "pass"
    assert for_url(results, "#nowhere").outcome == "warn"
    assert for_url(results, "mailto:support@acme.example").outcome == "pass"
    assert for_url(results, "mailto:support-at-acme").outcome == "warn"
    ftp = for_url(results, "ftp://acme.example/file.zip")
    assert ftp.outcome == "warn" and "ftp: scheme" in ftp.message
    relative = for_url(results, "/docs/connections/spec/")
    assert relative.outcome == "pass" and relative.evidence["resolved"] == platform.url("/docs/connections/spec/")
    assert for_url(results, "{{ site.baseurl }}/docs/").outcome == "skip"
    assert head_hits == 1  # the website appears twice, fetched once


async def test_offline_fetches_nothing_and_says_why(platform):
    async with Site() as site:
        good_site(site, platform)
        results = await check_links(
            submission(site, platform),
            offline=True,
            doc_links=[("#top", 1), ("mailto:a@acme.example", 2)],
            doc_anchors={"top"},
        )
        assert site.connections == 0 and platform.connections == 0
    skipped = [r for r in results if r.outcome == "skip"]
    assert {r.check for r in skipped} == {f"LNK-{i:03d}" for i in range(1, 12)}
    assert all(r.message.startswith("offline: ") for r in skipped)
    assert {r.check: r.outcome for r in results if r.outcome != "skip"} == {"LNK-012": "pass", "LNK-013": "pass"}


async def test_a_page_without_same_page_or_mail_links_still_gets_a_result(platform):
    """LNK-012 and LNK-013 say what happened when there was nothing of their kind to check."""
    async with Site() as site:
        read = submission(site, platform, docs={"segment_markdown": "## Getting started\n\nNo links here.\n"})
        results = await check_links(read, offline=True, doc_links=[], doc_anchors={"getting-started"})
        unread = await check_links(submission(site, platform), offline=True, doc_links=[], doc_anchors=set())
    found = by_check(results)
    assert [r.outcome for r in found["LNK-012"]] == ["pass"] and "no same-page (#) links" in found["LNK-012"][0].message
    assert [r.outcome for r in found["LNK-013"]] == ["pass"]
    missing = by_check(unread)
    assert [r.outcome for r in missing["LNK-012"]] == ["skip"]
    assert "segment_markdown" in missing["LNK-012"][0].message


# Bad input: refused or reported, never reaching the target ----------------------------------

BLOCKED_TARGETS = [
    "http://127.0.0.1:{port}/",
    "http://localhost:{port}/",
    "http://[::1]:{port6}/",
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://0.0.0.0:{port}/",
    "http://2130706433:{port}/",
    "http://[::ffff:127.0.0.1]:{port}/",
]


@pytest_asyncio.fixture(loop_scope="function")
async def targets():
    """Listening loopback servers (IPv4 and IPv6) that a refused URL must never reach."""
    async with Site("127.0.0.1") as v4, Site("::1") as v6:
        for target in (v4, v6):
            target.route("/", page("secret"))
        yield v4, v6


@pytest.mark.parametrize("template", BLOCKED_TARGETS)
async def test_private_targets_are_reported_never_reached(configure, platform, targets, template):
    configure(ALLOWED_NETWORKS="", CATALOG_URL_PREFIX=platform.url("/catalog/integrations/"))
    v4, v6 = targets
    url = template.format(port=v4.port, port6=v6.port)
    sub = submission(
        platform,
        platform,
        partner_page_url=url,
        launch_post_url=None,
        website=url,
        logo_url=None,
        screenshots=[],
        docs={},
    )
    results = await check_links(sub, doc_links=[(url, 4)])
    live = one(results, "LNK-001")
    assert live.outcome == "fail" and live.evidence["error_kind"] == "BlockedAddress"
    assert "public internet address" in live.message or "localhost" in live.message
    assert for_url(results, url).outcome == "fail"
    assert v4.connections == 0 and v6.connections == 0
    assert platform.connections == 0


async def test_public_looking_name_resolving_to_loopback(configure, monkeypatch, platform):
    async with Site() as site:
        good_site(site, platform)
        table = StaticResolver({"integrations.acme-partner.com": ["127.0.0.1"]})
        monkeypatch.setattr(SystemResolver, "resolve", lambda self, host, port: table.resolve(host, port))
        url = site.url("/integrations", host="integrations.acme-partner.com")
        configure(ALLOWED_NETWORKS="")
        refused = await check_links(submission(site, platform, partner_page_url=url))
        assert site.connections == 0
        configure(ALLOWED_NETWORKS="127.0.0.0/8", CATALOG_URL_PREFIX=platform.url("/catalog/integrations/"))
        allowed = await check_links(submission(site, platform, partner_page_url=url))
    assert "resolves to 127.0.0.1" in one(refused, "LNK-001").message
    assert one(allowed, "LNK-001").outcome == "pass"
    assert site.requests[0].headers["host"] == f"integrations.acme-partner.com:{site.port}"


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1:{port}/",
        "http://localhost:{port}/",
        "http://[::1]:{port6}/",
        "http://10.0.0.1/",
        "http://172.16.0.1/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0:{port}/",
        "http://2130706433:{port}/",
        "http://[::ffff:127.0.0.1]:{port}/",
    ],
)
async def test_allowed_host_redirecting_to_private_target(configure, targets, location):
    configure(ALLOWED_NETWORKS="127.0.0.2/32")  # only the redirecting site is allowed
    v4, v6 = targets
    target = location.format(port=v4.port, port6=v6.port)
    async with Site("127.0.0.2") as site:
        site.listing = site.url("/catalog/integrations/acme-analytics")
        site.route("/integrations", redirect(target))
        site.route("/blog", redirect("/hop1"))
        site.route("/hop1", redirect(target, 307))
        sub = submission(
            site,
            site,
            partner_page_url=site.url("/integrations"),
            launch_post_url=site.url("/blog"),
            docs={},
            logo_url=None,
            screenshots=[],
        )
        results = await check_links(sub)
    for check in ("LNK-001", "LNK-005"):
        result = one(results, check)
        assert result.outcome == "fail" and result.evidence["error_kind"] == "BlockedAddress"
        assert result.evidence["redirects"][-1]["location"] == target
    assert v4.connections == 0 and v6.connections == 0


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://127.0.0.1:70/_stats", "ftp://127.0.0.1/x"])
async def test_other_schemes_are_refused(platform, url):
    async with Site() as site:
        good_site(site, platform)
        results = await check_links(submission(site, platform, partner_page_url=url), doc_links=[(url, 2)])
    live = one(results, "LNK-001")
    assert live.outcome == "fail" and live.evidence["error_kind"] == "SchemeNotAllowed"
    assert "scheme" in live.message and "https" in live.message
    assert for_url(results, url).outcome == "warn"


@pytest.mark.parametrize(
    "behaviour,expected",
    [
        ("drip-body", "still sending its body"),
        ("drip-headers", "did not send its response headers"),
        ("endless", "more than 5 MiB"),
        ("loop", "redirects in a loop"),
    ],
)
async def test_hostile_servers_are_bounded(configure, platform, behaviour, expected):
    # A byte a second never trips the 5 s read timeout: only the total time per request stops it.
    configure(
        HTTP_READ_TIMEOUT_SECONDS=5, HTTP_MAX_SECONDS=3, CATALOG_URL_PREFIX=platform.url("/catalog/integrations/")
    )
    async with Site() as site:
        good_site(site, platform)
        site.route(
            "/bad",
            {
                "drip-body": drip(interval=1.0),
                "drip-headers": drip(interval=1.0, headers_first=False),
                "endless": endless(),
                "loop": redirect("/bad2"),
            }[behaviour],
        )
        site.route("/bad2", redirect("/bad"))
        started = time.monotonic()
        results = await check_links(
            submission(site, platform, partner_page_url=site.url("/bad")), doc_links=[(site.url("/bad"), 5)]
        )
        elapsed = time.monotonic() - started
    live = one(results, "LNK-001")
    assert live.outcome == "fail" and expected in live.message
    assert for_url(results, site.url("/bad")).outcome == "warn"
    assert elapsed < 15  # the drip alone would take minutes


# TLS: the request goes to the vetted address, the certificate is checked for the host name ----


def tls_contexts(tmp_path, name: str) -> tuple[ssl.SSLContext, ssl.SSLContext, list[str]]:
    """A server context with a self-signed certificate for `name`, a client context trusting it,
    and the list the server fills with the server names (SNI) clients send."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    seen: list[str] = []
    server.sni_callback = lambda sock, server_name, context: seen.append(server_name)
    return server, ssl.create_default_context(cafile=str(cert_file)), seen


@pytest.mark.parametrize("engine", ["httpcore", "aiohttp"])
async def test_https_goes_to_the_vetted_address_under_the_host_name(tmp_path, engine):
    server_tls, client_tls, seen = tls_contexts(tmp_path, "partner.example")
    resolver = StaticResolver({"partner.example": ["127.0.0.1"], "elsewhere.example": ["127.0.0.1"]})
    async with Site(ssl=server_tls) as site:
        site.route("/", page("hello over TLS"))
        async with client(
            resolver=resolver, verify=client_tls, engine=engine, allowed_networks=["127.0.0.0/8"]
        ) as http:
            response = await http.get(f"https://partner.example:{site.port}/")
            with pytest.raises(httpx.ConnectError):  # the certificate is checked against the name used
                await http.get(f"https://elsewhere.example:{site.port}/")
    assert response.status_code == 200 and response.text == "hello over TLS"
    assert seen[0] == "partner.example" and "elsewhere.example" in seen
    assert site.requests[0].headers["host"] == f"partner.example:{site.port}"
    assert len(site.requests) == 1
