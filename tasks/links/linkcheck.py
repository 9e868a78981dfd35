"""The links stage: partner page, launch post and a check of every link in the catalog and docs.

`check_links` is the stage's one entry point. Links are checked concurrently (asyncio), politely
(per host: `link_host_concurrency` at once, `link_request_interval_ms` apart), each URL once, with
one result per link: status, final URL, redirects and time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Set
from dataclasses import dataclass, field
from urllib.parse import unquote, urljoin, urlsplit

from partner_review.models.addresses import email_problem
from partner_review.models.checks import Check, Result, register
from partner_review.models.settings import Settings, given_or_current
from partner_review.models.submission import Submission
from partner_review.tasks.links import pages
from partner_review.tasks.links.documents import on_domain
from partner_review.tasks.net.fetcher import Fetched, Fetcher
from partner_review.tasks.runner import stage

CATALOG_LINK = register(
    "LNK-009",
    "Catalog links work",
    stage="links",
    requirement="catalog",
    severity="blocker",
    network=True,
    remedy="Fix or replace the URL in the submission (website, docs, logo, mark, screenshots) so that it "
    "answers 200 to an anonymous visitor.",
)
PLATFORM_PAGE = register(
    "LNK-010",
    "Platform pages named in the submission answer",
    stage="links",
    severity="info",
    network=True,
    remedy="Nothing to do before launch: the catalog listing and the platform's docs page go live when "
    "the integration is published. After launch, check the URLs in docs.*.",
)
DOC_LINK = register(
    "LNK-011",
    "Documentation links work",
    stage="links",
    severity="warning",
    network=True,
    remedy="Fix or remove the broken link in the documentation; use https URLs that answer 200.",
)
DOC_ANCHOR = register(
    "LNK-012",
    "Same-page links point to a heading",
    stage="links",
    severity="warning",
    remedy="Point `#...` links at a heading of the same page (its anchor is the heading in lowercase "
    "with hyphens), or remove them.",
)
MAILTO = register(
    "LNK-013",
    "mailto links are well-formed",
    stage="links",
    severity="warning",
    remedy="Write mail links as `mailto:name@example.com`.",
)

CHECKS = (*pages.CHECKS, CATALOG_LINK, PLATFORM_PAGE, DOC_LINK, DOC_ANCHOR, MAILTO)
_NOT_WEB = ("tel:", "sms:", "callto:", "data:")


@dataclass
class Link:
    """One distinct URL to check and every place it appears."""

    url: str
    check: Check  # the Check that reports it
    places: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)


def catalog_urls(submission: Submission) -> list[tuple[str, str]]:
    """(field path, URL) for every URL of the catalog fields, pages excepted (checked as pages)."""
    app = submission.app
    found = [
        ("app.website", app.website),
        ("app.docs.own_url", app.docs.own_url),
        ("app.docs.segment_url", app.docs.segment_url),
        ("app.docs.catalog_url", app.docs.catalog_url),
        ("app.docs.segment_markdown_url", app.docs.segment_markdown_url),
        ("app.logo_url", app.logo_url),
        ("app.mark_url", app.mark_url),
    ]
    found += [(f"app.screenshots[{i}]", url) for i, url in enumerate(app.screenshots)]
    return [(place, url.strip()) for place, url in found if url and url.strip()]


def collect(submission: Submission, doc_links: Iterable[tuple[str, int]], settings: Settings) -> list[Link]:
    """The distinct links to check, in order of first appearance, each with the check that reports it."""
    domain = pages.platform_domain(settings)
    base = submission.app.docs.segment_url or ""
    links: dict[str, Link] = {}
    for place, url in catalog_urls(submission):
        check = PLATFORM_PAGE if on_domain(url, domain) else CATALOG_LINK
        links.setdefault(url, Link(url, check)).places.append(place)
    for url, line in doc_links:
        url = url.strip()
        if not url:
            continue
        web = _kind(url) in ("web", "relative")
        platform = web and on_domain(urljoin(base, url) if _kind(url) == "relative" else url, domain)
        link = links.setdefault(url, Link(url, PLATFORM_PAGE if platform else DOC_LINK))
        link.places.append(f"documentation line {line}")
        link.lines.append(line)
    return list(links.values())


def _kind(url: str) -> str:
    lowered = url.lower()
    if url.startswith("#"):
        return "anchor"
    if lowered.startswith("mailto:"):
        return "mailto"
    if "{{" in url or "{%" in url:
        return "template"
    if lowered.startswith(_NOT_WEB):
        return "not-web"
    scheme = urlsplit(url).scheme.lower()
    if not scheme:
        return "relative"
    return "web" if scheme in ("http", "https") else "scheme"


def check_anchor(link: Link, anchors: set[str]) -> Result:
    fragment = unquote(link.url[1:])
    evidence = dict(url=link.url, found_in=link.places, looked_for=fragment)
    if not fragment or fragment in anchors or fragment.lower() in {a.lower() for a in anchors}:
        return DOC_ANCHOR.passed(f"{link.url} points to a heading of this page", **evidence)
    return DOC_ANCHOR.failed(
        f"{link.url} ({', '.join(link.places)}) points to no heading of this page",
        **evidence,
        anchors=sorted(anchors)[:50],
    )


def check_mailto(link: Link) -> Result:
    addresses = unquote(urlsplit(link.url).path)
    parts = [a.strip() for a in addresses.split(",") if a.strip()]
    bad = [a for a in parts if email_problem(a)]
    evidence = dict(url=link.url, found_in=link.places)
    if not parts:
        return MAILTO.failed(f"{link.url} ({', '.join(link.places)}) has no e-mail address", **evidence)
    if bad:
        return MAILTO.failed(f"{link.url} ({', '.join(link.places)}) has a malformed address: {bad[0]!r}", **evidence)
    return MAILTO.passed(f"{link.url} is a well-formed mail link", **evidence)


def _judge(link: Link, fetched: Fetched, accepted) -> Result:
    check = link.check
    evidence = {**fetched.evidence(), "url": link.url, "found_in": link.places}
    if link.lines:
        evidence["lines"] = link.lines
    where = f" ({', '.join(link.places)})"
    if check is PLATFORM_PAGE and (fetched.error or fetched.status not in accepted):
        # Information only (README): the platform's pages go live when the integration is published.
        reason = fetched.error or f"answered {fetched.status}"
        return check.failed(
            f"{link.url}{where}: the platform's page is not yet reachable ({reason}); it goes live when the "
            "integration is published",
            **evidence,
        )
    if fetched.error:
        return check.failed(f"{link.url}{where}: {fetched.error}", **evidence)
    if fetched.status in accepted:
        message = f"{link.url} answered {fetched.status}"
        if fetched.redirects:
            message += f" at {fetched.final_url} after {len(fetched.redirects)} redirect(s)"
        return check.passed(message, **evidence)
    if fetched.status == 429:
        return check.errored(
            f"{link.url}{where} could not be verified: the server kept answering 429 Too Many Requests "
            f"after {fetched.attempts} attempt(s)",
            **evidence,
        )
    at = f" at {fetched.final_url}" if fetched.redirects else ""
    return check.failed(f"{link.url}{where} answered {fetched.status}{at}", **evidence)


async def check_link(link: Link, fetcher: Fetcher, *, anchors: set[str], base_url: str | None) -> Result:
    """One result for one link, whatever kind it is."""
    kind = _kind(link.url)
    check = link.check
    evidence = dict(url=link.url, found_in=link.places)
    if kind == "anchor":
        return check_anchor(link, anchors)
    if kind == "mailto":
        return check_mailto(link)
    if kind == "template":
        return check.not_applicable(
            f"{link.url} is a template (Liquid) link, resolved when the docs are built", **evidence
        )
    if kind == "not-web":
        return check.not_applicable(f"{link.url} is not a web link", **evidence)
    if kind == "scheme":
        scheme = urlsplit(link.url).scheme
        return check.failed(
            f"{link.url} ({', '.join(link.places)}) uses the {scheme}: scheme; readers and reviewers can only "
            "follow http and https links (use an https URL)",
            **evidence,
            error_kind="SchemeNotAllowed",
        )
    url = link.url
    if kind == "relative":
        if not base_url:
            return check.skipped(
                f"{link.url} is relative and the docs have no base URL (docs.segment_url)",
                because="not-verified",
                **evidence,
            )
        url = urljoin(base_url, link.url)
        evidence["resolved"] = url
    fetched = await fetcher.link(url.split("#", 1)[0])
    result = _judge(link, fetched, fetcher.accepted)
    if url != link.url:
        result.evidence["resolved"] = url
    return result


@stage(CHECKS, network_use="fetches the partner page, launch post or links")
async def check_links(
    submission: Submission,
    *,
    doc_links: Iterable[tuple[str, int]] = (),
    doc_anchors: Set[str] = frozenset(),
    offline: bool = False,
    settings: Settings | None = None,
) -> list[Result]:
    """Partner page, launch post and every link; offline only the anchors and mailto links (the
    runner skips the rest, saying why)."""
    settings = given_or_current(settings)
    links = collect(submission, doc_links, settings)
    if offline:
        local = [link for link in links if _kind(link.url) in ("anchor", "mailto")]
        return [
            check_anchor(link, set(doc_anchors)) if _kind(link.url) == "anchor" else check_mailto(link)
            for link in local
        ] + none_found(submission, links)
    async with Fetcher.from_settings(settings) as fetcher:
        (partner, launch), per_link = await asyncio.gather(  # all at once, pages and links alike
            asyncio.gather(
                pages.check_partner_page(submission, fetcher, settings),
                pages.check_launch_post(submission, fetcher, settings),
            ),
            asyncio.gather(
                *(
                    check_link(link, fetcher, anchors=set(doc_anchors), base_url=submission.app.docs.segment_url)
                    for link in links
                )
            ),
        )
    return [*partner, *launch, *per_link, *none_found(submission, links)]


def none_found(submission: Submission, links: list[Link]) -> list[Result]:
    """A result for LNK-012 and LNK-013 when no link of their kind was there to check: a pass when
    the inline doc page was read, a skip saying why when it was not."""
    kinds = {_kind(link.url) for link in links}
    page = submission.app.docs.segment_markdown
    read = page is not None and bool(page.strip())
    results = []
    for check, kind, what in ((DOC_ANCHOR, "anchor", "same-page (#) links"), (MAILTO, "mailto", "mailto: links")):
        if kind in kinds:
            continue
        if read:
            results.append(check.passed(f"The documentation has no {what} to check", count=0))
        else:
            results.append(
                check.skipped(
                    f"No inline documentation (app.docs.segment_markdown) was read, so its {what} were not checked"
                )
            )
    return results
