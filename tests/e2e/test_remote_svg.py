"""Remote logo and mark: `fetch_svgs` through the guarded Fetcher against loopback sites, then the
catalog checks on what it fetched (the same analysis as inline SVG)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from partner_review.models.settings import Settings, get_settings
from partner_review.models.submission import parse_submission
from partner_review.tasks.catalog.fields import verify_catalog_fields
from partner_review.tasks.catalog.remote import fetch_svgs
from partner_review.tasks.net.client import StaticResolver, guarded_transport
from partner_review.tasks.net.fetcher import Fetcher
from tests.e2e.sites import Site, drip, page, redirect, status
from tests.e2e.test_links import tls_contexts

EXAMPLE = json.loads((Path(__file__).resolve().parents[2] / "examples" / "submission.json").read_text())
NS = 'xmlns="http://www.w3.org/2000/svg"'
LOGO = f'<svg {NS} viewBox="0 0 240 60"><path d="M0 0h240v60z"/></svg>'
MARK = f'<svg {NS} viewBox="0 0 64 64"><circle cx="32" cy="32" r="30"/></svg>'


def submission(logo_url: str | None, mark_url: str | None):
    data: dict[str, Any] = copy.deepcopy(EXAMPLE)
    app = data["app"]
    app.pop("logo_svg", None)
    app.pop("mark_svg", None)
    app["logo_url"], app["mark_url"] = logo_url, mark_url
    return parse_submission(data)


def settings(**values: Any) -> Settings:
    return Settings(allowed_networks=["127.0.0.0/8"], link_request_interval_ms=0, http_max_seconds=2, **values)


def fetcher(settings: Settings, resolver: StaticResolver | None = None, **options: Any) -> Fetcher:
    transport = guarded_transport(
        allowed_networks=settings.allowed_networks,
        resolver=resolver,
        max_seconds=settings.http_max_seconds,
        engine="aiohttp",
        **options,
    )
    return Fetcher.from_settings(settings, transport=transport, max_body_bytes=settings.svg_max_bytes, retries=0)


@pytest.fixture(autouse=True)
def _fresh_settings():
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def test_svg_served_as_image_svg_xml_is_fetched_with_its_body():
    config = settings()
    async with Site() as site:
        site.route("/logo.svg", page(LOGO, content_type="image/svg+xml"))
        site.route("/old-mark.svg", redirect("/mark.svg", 301))
        site.route("/mark.svg", page(MARK, content_type="image/svg+xml; charset=utf-8"))
        sub = submission(site.url("/logo.svg"), site.url("/old-mark.svg"))
        async with fetcher(config) as shared:
            found = await fetch_svgs(sub, settings=config, fetcher=shared)
    assert found["logo"].text == LOGO and found["logo"].problem is None
    assert found["mark"].text == MARK and found["mark"].evidence["redirects"][0]["status"] == 301
    assert site.hits("/logo.svg", "GET") == 1


@pytest.mark.parametrize(
    ("responder", "problem"),
    [
        (page(LOGO, content_type="image/png"), "app.logo_url is served as image/png, not image/svg+xml"),
        (page(LOGO, content_type="text/html"), "served as text/html"),
        (page("<svg/>", content_type=""), "served as no Content-Type"),
        (status(404), "app.logo_url answered HTTP 404, not 200"),
        (page(f"<svg {NS}>" + "<g/>" * 2000 + "</svg>", content_type="image/svg+xml"), "more than 2048 bytes"),
        (drip(interval=0.5), "could not be fetched"),
    ],
)
async def test_a_remote_logo_that_is_not_an_svg_answer_is_a_problem(responder, problem):
    config = settings(svg_max_bytes=2048)
    async with Site() as site:
        site.route("/logo.svg", responder)
        site.route("/mark.svg", page(MARK, content_type="image/svg+xml"))
        sub = submission(site.url("/logo.svg"), site.url("/mark.svg"))
        async with fetcher(config) as shared:
            found = await fetch_svgs(sub, settings=config, fetcher=shared)
    assert found["logo"].text is None
    assert problem in (found["logo"].problem or ""), found["logo"]
    assert found["mark"].text == MARK


async def test_one_file_for_logo_and_mark_is_fetched_once():
    config = settings()
    async with Site() as site:
        site.route("/brand.svg", page(MARK, content_type="image/svg+xml"))
        sub = submission(site.url("/brand.svg"), site.url("/brand.svg"))
        async with fetcher(config) as shared:
            found = await fetch_svgs(sub, settings=config, fetcher=shared)
    assert found["logo"].text == found["mark"].text == MARK
    assert site.hits("/brand.svg") == 1


async def test_a_hostile_remote_svg_is_refused_not_expanded():
    config = settings()
    laughs = '<!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]><svg>&b;</svg>'
    async with Site() as site:
        site.route("/logo.svg", page(laughs, content_type="image/svg+xml"))
        site.route("/mark.svg", page(MARK, content_type="image/svg+xml"))
        sub = submission(site.url("/logo.svg"), site.url("/mark.svg"))
        async with fetcher(config) as shared:
            remote = await fetch_svgs(sub, settings=config, fetcher=shared)
    results = {r.check: r for r in verify_catalog_fields(sub, config, remote=remote)}
    assert results["CAT-007"].outcome == "fail" and "app.logo_url is refused" in results["CAT-007"].message
    assert results["CAT-007"].evidence["reason"] == "dtd"


async def test_tolerated_xml_type_is_fetched():
    config = settings()
    async with Site() as site:
        site.route("/logo.svg", page(LOGO, content_type="text/xml"))
        sub = submission(site.url("/logo.svg"), None)
        async with fetcher(config) as shared:
            found = await fetch_svgs(sub, settings=config, fetcher=shared)
    assert found["logo"].text == LOGO and found["logo"].tolerated_type


async def test_unresolvable_host_and_refused_address_are_problems():
    config = settings()
    sub = submission("https://nowhere.invalid/logo.svg", "https://10.0.0.1/mark.svg")
    async with fetcher(config, StaticResolver({})) as shared:
        found = await fetch_svgs(sub, settings=config, fetcher=shared)
    assert "does not resolve" in (found["logo"].problem or "")
    assert "private-network address" in (found["mark"].problem or "")


async def test_offline_fetches_nothing_and_marks_both_unverified():
    async with Site() as site:
        site.route("/logo.svg", page(LOGO, content_type="image/svg+xml"))
        sub = submission(site.url("/logo.svg"), site.url("/mark.svg"))
        found = await fetch_svgs(sub, offline=True, settings=settings())
    assert site.requests == []
    assert found["logo"].unverified and "Offline run" in found["logo"].unverified
    results = {r.check: r for r in verify_catalog_fields(sub, settings(), remote=found)}
    assert all(results[c].outcome == "skip" for c in ("CAT-009", "CAT-010", "CAT-011", "CAT-012"))
    assert results["CAT-007"].outcome == "fail"  # an http: URL fails on its form, fetched or not
    assert "instead of https" in results["CAT-007"].message and "Offline run" not in results["CAT-007"].message


async def test_review_of_https_logo_and_mark_end_to_end(tmp_path):
    """The real path: https URLs on a named host, TLS checked, then the catalog checks on the bodies."""
    server_tls, client_tls, _ = tls_contexts(tmp_path, "cdn.acme.example")
    resolver = StaticResolver({"cdn.acme.example": ["127.0.0.1"]})
    config = settings()
    async with Site(ssl=server_tls) as site:
        site.route("/logo.svg", page(LOGO, content_type="image/svg+xml"))
        site.route(
            "/mark.svg", page(f'<svg {NS} viewBox="0 0 64 64"><script>x()</script></svg>', content_type="image/svg+xml")
        )
        host = f"cdn.acme.example:{site.port}"
        sub = submission(f"https://{host}/logo.svg", f"https://{host}/mark.svg")
        async with fetcher(config, resolver, verify=client_tls) as shared:
            remote = await fetch_svgs(sub, settings=config, fetcher=shared)
    results = {r.check: r for r in verify_catalog_fields(sub, config, remote=remote)}
    assert results["CAT-007"].outcome == "pass" and results["CAT-008"].outcome == "pass"
    assert results["CAT-009"].outcome == "fail"
    assert results["CAT-009"].evidence["dangers"] == {"app.mark_url": ["<script> element"]}
    assert results["CAT-010"].outcome == "pass" and results["CAT-011"].outcome == "pass"
