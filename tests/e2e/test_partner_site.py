"""The partner's sample website (partners.site) reviewed for real: links stage, OAuth button, TLS.

The site serves the bundled submission's https://acme.example pages over HTTPS on 127.0.0.1 with a
certificate from a private CA made at start. The outbound client trusts that CA only when
`PARTNER_REVIEW_CA_FILE` names it; certificate and host name verification stay on.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import pytest

from partner_review.models.settings import get_settings
from partner_review.models.submission import parse_submission
from partner_review.tasks.docs.lint import links_and_anchors
from partner_review.tasks.links.linkcheck import check_links
from partner_review.tasks.net.client import StaticResolver, client
from tests.conftest import EXAMPLES

# Every links-stage check the partner's own site decides. LNK-010 is about the platform's pages
# (segment.com), which go live at publication and cannot be reached from here.
SITE_CHECKS = {f"LNK-{n:03d}" for n in (*range(1, 10), 11, 12, 13)}
# The destination is not contacted by the links stage; any address will do.
UNUSED_PARTNER = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def site():
    from partner_review.partners import site_running

    with site_running() as running:
        yield running


@pytest.fixture
def trusted(site, monkeypatch):
    """The outbound client trusts the site's private CA (and may reach loopback)."""
    monkeypatch.setenv("PARTNER_REVIEW_ALLOWED_NETWORKS", "127.0.0.0/8")
    monkeypatch.setenv("PARTNER_REVIEW_CA_FILE", str(site.ca_file))
    get_settings.cache_clear()
    yield site
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def untrusted(site, monkeypatch):
    """Loopback allowed, but no extra CA: the site's certificate is unknown to the client."""
    monkeypatch.setenv("PARTNER_REVIEW_ALLOWED_NETWORKS", "127.0.0.0/8")
    monkeypatch.delenv("PARTNER_REVIEW_CA_FILE", raising=False)
    get_settings.cache_clear()
    yield site
    monkeypatch.undo()
    get_settings.cache_clear()


def pointed(site) -> dict:
    from partner_review.cli.demo import pointed_at

    return pointed_at(json.loads((EXAMPLES / "submission.json").read_text()), UNUSED_PARTNER, site)


async def links_results(data: dict):
    submission = parse_submission(data)
    doc_links, doc_anchors = links_and_anchors(submission.app.docs.segment_markdown)
    return submission, await check_links(submission, doc_links=doc_links, doc_anchors=doc_anchors)


def on_platform(result) -> bool:
    url = result.evidence.get("resolved") or result.evidence.get("url") or ""
    return (urlsplit(url).hostname or "").endswith("segment.com")


def test_pointed_at_moves_the_partners_urls_only(site):
    data = pointed(site)
    app = data["app"]
    text = json.dumps(data)
    assert "https://acme.example" not in text and "app.acme.example" not in app["docs"]["segment_markdown"]
    for url in (
        app["website"],
        app["screenshots"][0],
        app["docs"]["own_url"],
        app["partner_page_url"],
        app["launch_post_url"],
        app["oauth"]["button_page_url"],
        *app["oauth"]["redirect_uris"],
    ):
        assert url.startswith(site.base_url), url
    assert app["support_email"] == "support@acme.example"
    assert app["test_account"]["username"] == "reviewer@acme.example"
    assert app["docs"]["segment_url"].startswith("https://segment.com/docs/")
    assert app["docs"]["catalog_url"] == "https://segment.com/catalog/integrations/acme-analytics/"
    assert f"]({site.base_url}/?utm_source=segmentio" in app["docs"]["segment_markdown"]
    assert "mailto:support@acme.example" in app["docs"]["segment_markdown"]
    assert data["components"][0]["endpoint"] == f"{UNUSED_PARTNER}/v1/events"


async def test_the_site_passes_the_links_stage(trusted):
    data = pointed(trusted)
    # The bundled docs have no same-page link; one to a real heading exercises LNK-012 as well.
    data["app"]["docs"]["segment_markdown"] += "\nSee [Getting started](#getting-started).\n"
    _, results = await links_results(data)

    by_check: dict[str, list] = {}
    for result in results:
        by_check.setdefault(result.check, []).append(result)
    assert SITE_CHECKS <= set(by_check), sorted(SITE_CHECKS - set(by_check))

    for check in sorted(SITE_CHECKS):
        for result in by_check[check]:
            if check == "LNK-011" and on_platform(result):
                continue  # the docs' relative links resolve on segment.com: see the next assertion
            assert result.outcome == "pass", (check, result.message)

    # What is left is the platform's side, unreachable from here and said so plainly.
    platform = [r for r in results if r.outcome != "pass"]
    assert platform and all(on_platform(r) for r in platform), [r.message for r in platform]
    assert all(r.evidence.get("error_kind") == "HostNotFound" for r in platform)
    assert {r.check for r in platform if r.check != "LNK-011"} == {"LNK-010"}
    assert all(r.severity == "info" for r in platform if r.check == "LNK-010")

    # The pages were fetched from the site itself, over HTTPS.
    fetched = [r for r in results if r.check in ("LNK-001", "LNK-005", "LNK-009")]
    assert fetched and all(
        r.evidence["final_url"].startswith(trusted.base_url + "/") or r.evidence["final_url"] == trusted.base_url
        for r in fetched
    )
    names = by_check["LNK-002"][0]
    assert set(names.evidence["found"]) == {"Acme Analytics", "Segment"}
    (utm,) = by_check["LNK-004"]
    assert utm.evidence["links"] and all("utm_source=segmentio" in link for link in utm.evidence["links"])


async def test_without_the_ca_the_site_is_refused_with_a_tls_finding(untrusted):
    _, results = await links_results(pointed(untrusted))
    partner_page = next(r for r in results if r.check == "LNK-001")
    assert partner_page.outcome == "fail"
    assert "CERTIFICATE_VERIFY_FAILED" in partner_page.message and untrusted.base_url in partner_page.message
    dependents = [r for r in results if r.check in ("LNK-002", "LNK-003", "LNK-004")]
    assert dependents and all(r.outcome == "skip" for r in dependents)
    site_links = [r for r in results if r.check == "LNK-009"]
    assert site_links and all(r.outcome == "fail" and "certificate verify failed" in r.message for r in site_links)


@pytest.mark.parametrize("engine", ["httpcore", "aiohttp"])
async def test_tls_verification_is_real_on_both_engines(site, monkeypatch, engine):
    monkeypatch.setenv("PARTNER_REVIEW_ALLOWED_NETWORKS", "127.0.0.0/8")
    monkeypatch.delenv("PARTNER_REVIEW_CA_FILE", raising=False)
    get_settings.cache_clear()
    try:
        async with client(engine=engine) as http:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await http.get(site.url("/integrations"))

        monkeypatch.setenv("PARTNER_REVIEW_CA_FILE", str(site.ca_file))
        get_settings.cache_clear()
        async with client(engine=engine) as http:
            response = await http.get(site.url("/integrations"))
            assert response.status_code == 200 and "Acme Analytics" in response.text
            # Trusting the CA does not switch off host name checks: the certificate is for
            # 127.0.0.1, so the same server under another name is refused.
            named = StaticResolver({"acme.example": ["127.0.0.1"]})
        async with client(engine=engine, resolver=named) as http:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await http.get(f"https://acme.example:{urlsplit(site.base_url).port}/integrations")
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


async def test_the_site_serves_real_assets(trusted):
    async with client() as http:
        png = await http.get(trusted.url("/img/segment-dashboard.png"))
        head = await http.head(trusted.url("/blog/segment-integration"))
        missing = await http.get(trusted.url("/no-such-page"))
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n") and b"IEND" in png.content[-12:]
    assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) > 0
    assert missing.status_code == 404


def _stored(store, data: dict):
    now = datetime.now(UTC)
    sid = store.record_delivery(
        "d-site", b"b", parse_submission(data), received_at=now, ack_due_at=now + timedelta(days=2)
    ).submission_id
    return store.get_submission(sid)


async def test_graduation_finds_the_authorize_link(trusted, store):
    from partner_review.tasks.graduation.checks import check_button

    result = await check_button(_stored(store, pointed(trusted)))
    assert result.outcome == "pass", result.message
    assert "client_id=acme-123" in result.message and "/oauth2/authorize" in result.message
    assert result.evidence["final_url"] == trusted.url("/settings/integrations/segment")


async def test_graduation_refuses_a_button_for_another_client_id(trusted, store):
    from partner_review.tasks.graduation.checks import check_button

    data = pointed(trusted)
    data["app"]["oauth"]["client_id"] = "someone-else"
    result = await check_button(_stored(store, data))
    assert result.outcome == "fail" and "client_id=someone-else" in result.message
