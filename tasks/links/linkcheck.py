"""The links stage: partner page, launch post and a check of every link in the catalog and docs.

`check_links` is the stage's one entry point. Links are checked concurrently (asyncio), politely
(per host: `link_host_concurrency` at once, `link_request_interval_ms` apart), each URL once, with
one result per link: status, final URL, redirects and time. The pages and links are fetched first,
all at once, into a `Linked` (tasks/links/subject.py); the check objects judge it afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Set
from dataclasses import replace
from urllib.parse import unquote, urljoin, urlsplit

from partner_review.models.addresses import email_problem
from partner_review.models.checks import Check, Result, declare
from partner_review.models.settings import Settings, given_or_current
from partner_review.models.submission import Submission
from partner_review.tasks.context import Context
from partner_review.tasks.links import pages
from partner_review.tasks.links.documents import on_domain
from partner_review.tasks.links.subject import Link, Linked
from partner_review.tasks.net.fetcher import Fetched, Fetcher
from partner_review.tasks.runner import Scope, run_objects, stage

__all__ = ["CHECKS", "Link", "Linked", "catalog_urls", "check_anchor", "check_links", "check_mailto", "collect"]
NETWORK_USE = "fetches the partner page, launch post or links"

_NOT_WEB = ("tel:", "sms:", "callto:", "data:")


class LinkWorks(Check[Linked]):
    """LNK-009, LNK-010, LNK-011: one result per link this check reports, in the links' order."""

    def run(self, subject: Linked, ctx: object = None) -> list[Result]:
        return [
            judge_link(link, subject.answer(i), subject)
            for i, link in enumerate(subject.links)
            if reporter(link) is self
        ]


CATALOG_LINK = declare(
    LinkWorks(
        "LNK-009",
        "Catalog links work",
        stage="links",
        requirement=("catalog",),
        severity="blocker",
        network=True,
        remedy="Fix or replace the URL in the submission (website, docs, logo, mark, screenshots) so that it "
        "answers 200 to an anonymous visitor.",
    )
)
PLATFORM_PAGE = declare(
    LinkWorks(
        "LNK-010",
        "Platform pages named in the submission answer",
        stage="links",
        severity="info",
        network=True,
        remedy="Nothing to do before launch: the catalog listing and the platform's docs page go live when "
        "the integration is published. After launch, check the URLs in docs.*.",
    )
)
DOC_LINK = declare(
    LinkWorks(
        "LNK-011",
        "Documentation links work",
        stage="links",
        severity="warning",
        network=True,
        remedy="Fix or remove the broken link in the documentation; use https URLs that answer 200.",
    )
)


class DocAnchor(Check[Linked]):
    """LNK-012: one result per same-page link; one saying so when there is none."""

    def run(self, subject: Linked, ctx: object = None) -> list[Result]:
        found = [check_anchor(link, set(subject.anchors)) for link in subject.links if _kind(link.url) == "anchor"]
        return found or [none_found(self, subject.submission, "same-page (#) links")]


DOC_ANCHOR = declare(
    DocAnchor(
        "LNK-012",
        "Same-page links point to a heading",
        stage="links",
        severity="warning",
        remedy="Point `#...` links at a heading of the same page (its anchor is the heading in lowercase "
        "with hyphens), or remove them.",
    )
)


class Mailto(Check[Linked]):
    """LNK-013: one result per mailto link; one saying so when there is none."""

    def run(self, subject: Linked, ctx: object = None) -> list[Result]:
        found = [check_mailto(link) for link in subject.links if _kind(link.url) == "mailto"]
        return found or [none_found(self, subject.submission, "mailto: links")]


MAILTO = declare(
    Mailto(
        "LNK-013",
        "mailto links are well-formed",
        stage="links",
        severity="warning",
        remedy="Write mail links as `mailto:name@example.com`.",
    )
)

CHECKS: tuple[Check[Linked], ...] = (*pages.CHECKS, CATALOG_LINK, PLATFORM_PAGE, DOC_LINK, DOC_ANCHOR, MAILTO)


def reporter(link: Link) -> Check[Linked]:
    """The check that reports `link`: LNK-012 for a same-page link, LNK-013 for a mailto link, else its own."""
    kind = _kind(link.url)
    return DOC_ANCHOR if kind == "anchor" else MAILTO if kind == "mailto" else link.check


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


def judge_link(link: Link, fetched: Fetched | None, subject: Linked) -> Result:
    """The result of a catalog, platform or documentation link (anchors and mailto have their own)."""
    kind = _kind(link.url)
    check = link.check
    evidence = dict(url=link.url, found_in=link.places)
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
    url = fetch_url(link, subject.submission.app.docs.segment_url)
    if url is None:
        return check.skipped(
            f"{link.url} is relative and the docs have no base URL (docs.segment_url)",
            because="not-verified",
            **evidence,
        )
    if fetched is None:
        return check.errored(f"{link.url} was not fetched", **evidence)
    result = _judge(link, fetched, subject.accepted)
    if url != link.url:
        result.evidence["resolved"] = url
    return result


def fetch_url(link: Link, base_url: str | None) -> str | None:
    """The URL a web or relative link is checked at (relative: joined to the docs' base URL), None
    when it is not fetched (an anchor, mailto, template, other scheme, or relative without a base)."""
    kind = _kind(link.url)
    if kind == "web":
        return link.url
    if kind == "relative" and base_url:
        return urljoin(base_url, link.url)
    return None


@stage(CHECKS, network_use=NETWORK_USE)
async def check_links(
    submission: Submission,
    *,
    doc_links: Iterable[tuple[str, int]] = (),
    doc_anchors: Set[str] = frozenset(),
    offline: bool = False,
    settings: Settings | None = None,
) -> list[Result]:
    """Partner page, launch post and every link; offline only the anchors and mailto links (the
    runner skips the rest, saying why). Everything is fetched first, at once; then the checks judge."""
    settings = given_or_current(settings)
    links = collect(submission, doc_links, settings)
    subject = Linked(submission, links=tuple(links), anchors=frozenset(doc_anchors))
    if not offline:
        subject = await fetch(subject, settings)
    scope = Scope.of(submission, offline=offline)
    results = run_objects(CHECKS, subject, Context.of(settings), scope, network_use=NETWORK_USE)
    return in_link_order(results, links)


async def fetch(subject: Linked, settings: Settings) -> Linked:
    """The partner page, the launch post and every web link, fetched once and all at once."""
    app = subject.submission.app
    base_url = app.docs.segment_url

    async def nothing() -> None:
        return None

    async with Fetcher.from_settings(settings) as fetcher:

        async def link(item: Link) -> Fetched | None:
            url = fetch_url(item, base_url)
            return await fetcher.link(url.split("#", 1)[0]) if url else None

        partner, launch, *answers = await asyncio.gather(
            fetcher.page(app.partner_page_url) if app.partner_page_url else nothing(),
            fetcher.page(app.launch_post_url) if app.launch_post_url else nothing(),
            *(link(item) for item in subject.links),
        )
    return replace(subject, accepted=fetcher.accepted, partner_page=partner, launch_post=launch, answers=tuple(answers))


def in_link_order(results: list[Result], links: list[Link]) -> list[Result]:
    """The partner page's and launch post's results, then one per link in the order the links first
    appear (whichever check reports it), then what LNK-012 and LNK-013 say when no link was theirs."""
    position: dict[tuple[str, object], int] = {(reporter(link).id, link.url): i for i, link in enumerate(links)}
    page_checks = {c.id for c in pages.CHECKS}

    def place(result: Result) -> tuple[int, int]:
        if result.check in page_checks:
            return 0, 0
        at = position.get((result.check, result.evidence.get("url")))
        return (1, at) if at is not None else (2, 0)

    return sorted(results, key=place)


def none_found(check: Check[Linked], submission: Submission, what: str) -> Result:
    """LNK-012 or LNK-013 when no link of its kind was there to check: a pass when the inline doc
    page was read, a skip saying why when it was not."""
    page = submission.app.docs.segment_markdown
    if page is not None and bool(page.strip()):
        return check.passed(f"The documentation has no {what} to check", count=0)
    return check.skipped(
        f"No inline documentation (app.docs.segment_markdown) was read, so its {what} were not checked"
    )
