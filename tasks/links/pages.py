"""The partner page and the launch post (REVIEW_RULES section 1, launch requirements).

The partner page is the integrations page on the partner's site that lists this integration; the
launch post announces it. When the partner has no blog, `launch_post_url` may point to the
announcement e-mail as sent: an `.eml` file (or any URL served as `message/rfc822`) or a plain-text
page; the same checks then read its subject and body.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

from partner_review.models.checks import Result, register
from partner_review.models.settings import Settings
from partner_review.models.submission import Submission
from partner_review.tasks.links.documents import Page, comparable, missing_query, on_domain, read_document
from partner_review.tasks.net.fetcher import Fetched, Fetcher

PARTNER_PAGE_LIVE = register(
    "LNK-001",
    "Partner page is live",
    stage="links",
    requirement="partner-page",
    severity="blocker",
    network=True,
    remedy="Publish the integrations page given as partner_page_url so that it answers 200 (after "
    "redirects) to an anonymous visitor.",
)
PARTNER_PAGE_NAMES = register(
    "LNK-002",
    "Partner page names the integration or the platform",
    stage="links",
    requirement="partner-page",
    severity="blocker",
    network=True,
    remedy="List the integration on the page by the app's name or the platform's name (e.g. 'Segment').",
)
PARTNER_PAGE_REVERSE_LINK = register(
    "LNK-003",
    "Partner page links to the catalog listing",
    stage="links",
    requirement="partner-page",
    severity="blocker",
    network=True,
    remedy="Link the integration's catalog listing (the catalog URL prefix followed by your slug, or "
    "docs.catalog_url) from the partner page.",
)
PLATFORM_LINKS_UTM = register(
    "LNK-004",
    "Partner page links to the platform carry the UTM parameters",
    stage="links",
    requirement="partner-page",
    severity="warning",
    network=True,
    remedy="Append the UTM string (utm_source=segmentio&utm_medium=docs&utm_campaign=partners by "
    "default) unchanged to every link to the platform's pages.",
)
LAUNCH_POST_LIVE = register(
    "LNK-005",
    "Launch post is live",
    stage="links",
    requirement="launch-post",
    severity="blocker",
    network=True,
    remedy="Publish the launch post (or, without a blog, the announcement e-mail as an .eml or text "
    "file) at launch_post_url so that it answers 200 to an anonymous visitor.",
)
LAUNCH_POST_MENTIONS = register(
    "LNK-006",
    "Launch post mentions the integration",
    stage="links",
    requirement="launch-post",
    severity="blocker",
    network=True,
    remedy="Announce the integration by name: the post should say it works with the platform (e.g. 'Segment').",
)
LAUNCH_POST_LINKS_BACK = register(
    "LNK-007",
    "Launch post links back to the catalog listing or the integration's docs",
    stage="links",
    requirement="launch-post",
    severity="blocker",
    network=True,
    remedy="Link the catalog listing (or the platform's documentation page for the integration) from the launch post.",
)
LAUNCH_POST_PUBLISHED = register(
    "LNK-008",
    "Launch post is published, not a draft or placeholder",
    stage="links",
    requirement="launch-post",
    severity="blocker",
    network=True,
    remedy="Publish the final post: no draft or preview URL, no 'noindex' robots directive, no "
    "placeholder text such as 'coming soon' or 'lorem ipsum'.",
)

CHECKS = (
    PARTNER_PAGE_LIVE,
    PARTNER_PAGE_NAMES,
    PARTNER_PAGE_REVERSE_LINK,
    PLATFORM_LINKS_UTM,
    LAUNCH_POST_LIVE,
    LAUNCH_POST_MENTIONS,
    LAUNCH_POST_LINKS_BACK,
    LAUNCH_POST_PUBLISHED,
)


_PLACEHOLDER_TEXT = re.compile(
    r"\b(lorem ipsum|coming soon|under construction|placeholder text|this (post|page) is a draft)\b", re.I
)
_DRAFT_TITLE = re.compile(r"(\bdraft\b|\bcoming soon\b|\buntitled\b|\bplaceholder\b|\bpage not found\b|\b404\b)", re.I)
_DRAFT_URL = re.compile(r"(^|/)(drafts?|preview)(/|$)", re.I)


def listing_urls(submission: Submission, settings: Settings) -> list[str]:
    """Where the app's catalog listing is: the prefix + slug, and docs.catalog_url when given."""
    urls = [settings.catalog_url_prefix.rstrip("/") + "/" + submission.app.slug]
    if submission.app.docs.catalog_url:
        urls.append(submission.app.docs.catalog_url)
    return urls


def platform_domain(settings: Settings) -> str:
    return (urlsplit(settings.catalog_url_prefix).hostname or "").lower().removeprefix("www.")


def _document(fetched: Fetched) -> Page | None:
    if fetched.text is None:
        return None
    return read_document(fetched.text, url=fetched.final_url or fetched.url, content_type=fetched.content_type)


def _live(check, what: str, fetched: Fetched, accepted) -> tuple[Result, Page | None]:
    evidence = fetched.evidence()
    if fetched.error:
        return check.failed(f"The {what} could not be fetched: {fetched.error}", **evidence), None
    if fetched.status not in accepted:
        return check.failed(
            f"The {what} {fetched.url} answered {fetched.status}"
            + (f" (after redirects, at {fetched.final_url})" if fetched.redirects else ""),
            **evidence,
        ), None
    document = _document(fetched)
    if document is None:
        kind = fetched.content_type.split(";")[0] or "no content type"
        return check.failed(f"The {what} {fetched.url} is not a readable page ({kind})", **evidence), None
    message = f"The {what} answered {fetched.status}"
    if fetched.redirects:
        message += f" at {fetched.final_url} after {len(fetched.redirects)} redirect(s)"
    return check.passed(message, **evidence), document


async def check_partner_page(submission: Submission, fetcher: Fetcher, settings: Settings) -> list[Result]:
    app = submission.app
    dependents = (PARTNER_PAGE_NAMES, PARTNER_PAGE_REVERSE_LINK, PLATFORM_LINKS_UTM)
    if not app.partner_page_url:
        reason = "No partner_page_url in the submission (the catalog checks report missing fields)"
        return [PARTNER_PAGE_LIVE.not_applicable(reason)] + [c.not_applicable(reason) for c in dependents]
    fetched = await fetcher.page(app.partner_page_url)
    live, doc = _live(PARTNER_PAGE_LIVE, "partner page", fetched, fetcher.accepted)
    if doc is None:
        return [live] + [
            c.skipped(f"The partner page could not be read (see {PARTNER_PAGE_LIVE.id})", url=app.partner_page_url)
            for c in dependents
        ]
    url = fetched.final_url or fetched.url
    results = [live]

    names = [n for n in (app.name, settings.platform_name) if doc.mentions(n)]
    if names:
        results.append(
            PARTNER_PAGE_NAMES.passed(
                f"The partner page names {' and '.join(names)}",
                url=url,
                looked_for=[app.name, settings.platform_name],
                found=names,
            )
        )
    else:
        results.append(
            PARTNER_PAGE_NAMES.failed(
                f"The partner page {url} names neither '{app.name}' nor '{settings.platform_name}'",
                url=url,
                looked_for=[app.name, settings.platform_name],
                title=doc.title,
            )
        )

    listings = listing_urls(submission, settings)
    wanted = {comparable(u) for u in listings}
    reverse = [link for link in doc.links if comparable(link) in wanted]
    if reverse:
        results.append(
            PARTNER_PAGE_REVERSE_LINK.passed(
                f"The partner page links to the catalog listing ({reverse[0]})",
                url=url,
                looked_for=listings,
                found=reverse,
            )
        )
    else:
        results.append(
            PARTNER_PAGE_REVERSE_LINK.failed(
                f"The partner page {url} has no link to the catalog listing {listings[0]}",
                url=url,
                looked_for=listings,
                links_seen=len(doc.links),
            )
        )

    domain = platform_domain(settings)
    platform_links = [link for link in doc.links if on_domain(link, domain)]
    untagged = {link: missing_query(link, settings.utm_query) for link in platform_links}
    untagged = {link: missing for link, missing in untagged.items() if missing}
    if not platform_links:
        results.append(PLATFORM_LINKS_UTM.not_applicable(f"The partner page has no links to {domain}", url=url))
    elif untagged:
        first, missing = next(iter(untagged.items()))
        results.append(
            PLATFORM_LINKS_UTM.failed(
                f"{len(untagged)} of {len(platform_links)} link(s) to {domain} on the partner page lack the UTM "
                f"parameters; e.g. {first} is missing {'&'.join(missing)}",
                url=url,
                looked_for=settings.utm_query,
                untagged=untagged,
            )
        )
    else:
        results.append(
            PLATFORM_LINKS_UTM.passed(
                f"All {len(platform_links)} link(s) to {domain} carry the UTM parameters",
                url=url,
                looked_for=settings.utm_query,
                links=platform_links,
            )
        )
    return results


def draft_signs(doc: Page, fetched: Fetched) -> list[str]:
    """Why a launch post looks unpublished (empty when it looks published)."""
    signs = []
    url = fetched.final_url or fetched.url
    parts = urlsplit(url)
    if _DRAFT_URL.search(parts.path) or any(
        k.lower() in ("preview", "draft") and v.lower() not in ("", "0", "false")
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ):
        signs.append(f"the URL {url} is a draft or preview URL")
    if doc.noindex:
        signs.append("the page asks search engines not to index it (robots meta 'noindex')")
    if "noindex" in fetched.headers.get("x-robots-tag", "").lower():
        signs.append("the server asks search engines not to index it (X-Robots-Tag: noindex)")
    for heading in [doc.title, *doc.headings[:3]]:
        match = _DRAFT_TITLE.search(heading or "")
        if match:
            signs.append(f"its title or heading says '{match.group(0)}' ({heading!r})")
            break
    match = _PLACEHOLDER_TEXT.search(doc.text)
    if match:
        signs.append(f"it contains placeholder text ('{match.group(0)}')")
    return signs


async def check_launch_post(submission: Submission, fetcher: Fetcher, settings: Settings) -> list[Result]:
    app = submission.app
    dependents = (LAUNCH_POST_MENTIONS, LAUNCH_POST_LINKS_BACK, LAUNCH_POST_PUBLISHED)
    if not app.launch_post_url:
        reason = "No launch_post_url in the submission (the catalog checks report missing fields)"
        return [LAUNCH_POST_LIVE.not_applicable(reason)] + [c.not_applicable(reason) for c in dependents]
    fetched = await fetcher.page(app.launch_post_url)
    live, doc = _live(LAUNCH_POST_LIVE, "launch post", fetched, fetcher.accepted)
    if doc is None:
        return [live] + [
            c.skipped(f"The launch post could not be read (see {LAUNCH_POST_LIVE.id})", url=app.launch_post_url)
            for c in dependents
        ]
    url = fetched.final_url or fetched.url
    live.evidence["format"] = doc.kind
    results = [live]

    platform = settings.platform_name
    if doc.mentions(platform):
        results.append(
            LAUNCH_POST_MENTIONS.passed(
                f"The launch post mentions {platform}",
                url=url,
                looked_for=[platform],
                format=doc.kind,
                names_app=doc.mentions(app.name),
            )
        )
    else:
        results.append(
            LAUNCH_POST_MENTIONS.failed(
                f"The launch post {url} does not mention {platform}",
                url=url,
                looked_for=[platform],
                title=doc.title,
                format=doc.kind,
            )
        )

    targets = listing_urls(submission, settings)
    if app.docs.segment_url:
        targets.append(app.docs.segment_url)
    wanted = {comparable(u) for u in targets}
    back = [link for link in doc.links if comparable(link) in wanted]
    if back:
        results.append(
            LAUNCH_POST_LINKS_BACK.passed(
                f"The launch post links back ({back[0]})",
                url=url,
                looked_for=targets,
                found=back,
            )
        )
    else:
        domain = platform_domain(settings)
        results.append(
            LAUNCH_POST_LINKS_BACK.failed(
                f"The launch post {url} does not link to the catalog listing {targets[0]}"
                + (" or the integration's docs" if app.docs.segment_url else ""),
                url=url,
                looked_for=targets,
                platform_links=[link for link in doc.links if on_domain(link, domain)],
            )
        )

    signs = draft_signs(doc, fetched)
    if signs:
        results.append(
            LAUNCH_POST_PUBLISHED.failed(
                f"The launch post {url} looks unpublished: {'; '.join(signs)}",
                url=url,
                signs=signs,
            )
        )
    else:
        results.append(
            LAUNCH_POST_PUBLISHED.passed(
                "The launch post looks published",
                url=url,
                looked_for=[
                    "draft/preview URL",
                    "robots noindex",
                    "draft or placeholder title",
                    "placeholder text (lorem ipsum, coming soon...)",
                ],
            )
        )
    return results
