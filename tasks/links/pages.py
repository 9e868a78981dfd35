"""The partner page and the launch post (REVIEW_RULES section 1, launch requirements).

The partner page is the integrations page on the partner's site that lists this integration; the
launch post announces it. When the partner has no blog, `launch_post_url` may point to the
announcement e-mail as sent: an `.eml` file (or any URL served as `message/rfc822`) or a plain-text
page; the same checks then read its subject and body.

Each check is an object (`Check[Linked]`): the stage (tasks/links/linkcheck.py) fetches both pages
once and the checks judge what came back, with the settings of the run's `Context`.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

from partner_review.models.checks import Check, Result, declare
from partner_review.models.settings import Settings
from partner_review.models.submission import Submission
from partner_review.tasks.context import Context
from partner_review.tasks.links.documents import Page, comparable, missing_query, on_domain
from partner_review.tasks.links.subject import Linked
from partner_review.tasks.net.fetcher import Fetched

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


def _answered(fetched: Fetched, accepted) -> bool:
    """Whether a page answered with an accepted status (then `_live` reads it as a document)."""
    return not fetched.error and fetched.status in accepted


def _live(check, what: str, fetched: Fetched, accepted, doc: Page | None) -> tuple[Result, Page | None]:
    """The page's liveness, and the page as read (`doc`, read once by Linked) when it is live."""
    evidence = fetched.evidence()
    if fetched.error:
        return check.failed(f"The {what} could not be fetched: {fetched.error}", **evidence), None
    if fetched.status not in accepted:
        return check.failed(
            f"The {what} {fetched.url} answered {fetched.status}"
            + (f" (after redirects, at {fetched.final_url})" if fetched.redirects else ""),
            **evidence,
        ), None
    if doc is None:
        kind = fetched.content_type.split(";")[0] or "no content type"
        return check.failed(f"The {what} {fetched.url} is not a readable page ({kind})", **evidence), None
    message = f"The {what} answered {fetched.status}"
    if fetched.redirects:
        message += f" at {fetched.final_url} after {len(fetched.redirects)} redirect(s)"
    return check.passed(message, **evidence), doc


# The partner page ------------------------------------------------------------------------------

NO_PARTNER_PAGE = "No partner_page_url in the submission (the catalog checks report missing fields)"


class PartnerPageLive(Check[Linked]):
    def run(self, subject: Linked, ctx: Context) -> Result:
        if not subject.submission.app.partner_page_url or subject.partner_page is None:
            return self.not_applicable(NO_PARTNER_PAGE)
        return _live(self, "partner page", subject.partner_page, subject.accepted, subject.partner_doc)[0]


class OnPartnerPage(Check[Linked]):
    """A check of what the partner page says: not applicable without one, skipped when unreadable."""

    def run(self, subject: Linked, ctx: Context) -> Result:
        app = subject.submission.app
        if not app.partner_page_url or subject.partner_page is None:
            return self.not_applicable(NO_PARTNER_PAGE)
        doc = subject.partner_doc
        fetched = subject.partner_page
        if doc is None or not _answered(fetched, subject.accepted):
            return self.skipped(
                f"The partner page could not be read (see {PARTNER_PAGE_LIVE.id})", url=app.partner_page_url
            )
        return self.judge(subject, doc, fetched.final_url or fetched.url, ctx.settings)

    def judge(self, subject: Linked, doc: Page, url: str, settings: Settings) -> Result:
        raise NotImplementedError


PARTNER_PAGE_LIVE = declare(
    PartnerPageLive(
        "LNK-001",
        "Partner page is live",
        stage="links",
        requirement=("partner-page",),
        severity="blocker",
        network=True,
        remedy="Publish the integrations page given as partner_page_url so that it answers 200 (after "
        "redirects) to an anonymous visitor.",
    )
)


class PartnerPageNames(OnPartnerPage):
    def judge(self, subject: Linked, doc: Page, url: str, settings: Settings) -> Result:
        app = subject.submission.app
        names = [n for n in (app.name, settings.platform_name) if doc.mentions(n)]
        if names:
            return self.passed(
                f"The partner page names {' and '.join(names)}",
                url=url,
                looked_for=[app.name, settings.platform_name],
                found=names,
            )
        return self.failed(
            f"The partner page {url} names neither '{app.name}' nor '{settings.platform_name}'",
            url=url,
            looked_for=[app.name, settings.platform_name],
            title=doc.title,
        )


PARTNER_PAGE_NAMES = declare(
    PartnerPageNames(
        "LNK-002",
        "Partner page names the integration or the platform",
        stage="links",
        requirement=("partner-page",),
        severity="blocker",
        network=True,
        remedy="List the integration on the page by the app's name or the platform's name (e.g. 'Segment').",
    )
)


class PartnerPageReverseLink(OnPartnerPage):
    def judge(self, subject: Linked, doc: Page, url: str, settings: Settings) -> Result:
        listings = listing_urls(subject.submission, settings)
        wanted = {comparable(u) for u in listings}
        reverse = [link for link in doc.links if comparable(link) in wanted]
        if reverse:
            return self.passed(
                f"The partner page links to the catalog listing ({reverse[0]})",
                url=url,
                looked_for=listings,
                found=reverse,
            )
        return self.failed(
            f"The partner page {url} has no link to the catalog listing {listings[0]}",
            url=url,
            looked_for=listings,
            links_seen=len(doc.links),
        )


PARTNER_PAGE_REVERSE_LINK = declare(
    PartnerPageReverseLink(
        "LNK-003",
        "Partner page links to the catalog listing",
        stage="links",
        requirement=("partner-page",),
        severity="blocker",
        network=True,
        remedy="Link the integration's catalog listing (the catalog URL prefix followed by your slug, or "
        "docs.catalog_url) from the partner page.",
    )
)


class PlatformLinksUtm(OnPartnerPage):
    def judge(self, subject: Linked, doc: Page, url: str, settings: Settings) -> Result:
        domain = platform_domain(settings)
        platform_links = [link for link in doc.links if on_domain(link, domain)]
        untagged = {link: missing_query(link, settings.utm_query) for link in platform_links}
        untagged = {link: missing for link, missing in untagged.items() if missing}
        if not platform_links:
            return self.not_applicable(f"The partner page has no links to {domain}", url=url)
        if untagged:
            first, missing = next(iter(untagged.items()))
            return self.failed(
                f"{len(untagged)} of {len(platform_links)} link(s) to {domain} on the partner page lack the UTM "
                f"parameters; e.g. {first} is missing {'&'.join(missing)}",
                url=url,
                looked_for=settings.utm_query,
                untagged=untagged,
            )
        return self.passed(
            f"All {len(platform_links)} link(s) to {domain} carry the UTM parameters",
            url=url,
            looked_for=settings.utm_query,
            links=platform_links,
        )


PLATFORM_LINKS_UTM = declare(
    PlatformLinksUtm(
        "LNK-004",
        "Partner page links to the platform carry the UTM parameters",
        stage="links",
        requirement=("partner-page",),
        severity="warning",
        network=True,
        remedy="Append the UTM string (utm_source=segmentio&utm_medium=docs&utm_campaign=partners by "
        "default) unchanged to every link to the platform's pages.",
    )
)


# The launch post -------------------------------------------------------------------------------

NO_LAUNCH_POST = "No launch_post_url in the submission (the catalog checks report missing fields)"


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


class LaunchPostLive(Check[Linked]):
    def run(self, subject: Linked, ctx: Context) -> Result:
        if not subject.submission.app.launch_post_url or subject.launch_post is None:
            return self.not_applicable(NO_LAUNCH_POST)
        live, doc = _live(self, "launch post", subject.launch_post, subject.accepted, subject.launch_doc)
        if doc is not None:
            live.evidence["format"] = doc.kind
        return live


class OnLaunchPost(Check[Linked]):
    """A check of what the launch post says: not applicable without one, skipped when unreadable."""

    def run(self, subject: Linked, ctx: Context) -> Result:
        app = subject.submission.app
        if not app.launch_post_url or subject.launch_post is None:
            return self.not_applicable(NO_LAUNCH_POST)
        doc = subject.launch_doc
        fetched = subject.launch_post
        if doc is None or not _answered(fetched, subject.accepted):
            return self.skipped(
                f"The launch post could not be read (see {LAUNCH_POST_LIVE.id})", url=app.launch_post_url
            )
        return self.judge(subject, doc, fetched, ctx.settings)

    def judge(self, subject: Linked, doc: Page, fetched: Fetched, settings: Settings) -> Result:
        raise NotImplementedError


LAUNCH_POST_LIVE = declare(
    LaunchPostLive(
        "LNK-005",
        "Launch post is live",
        stage="links",
        requirement=("launch-post",),
        severity="blocker",
        network=True,
        remedy="Publish the launch post (or, without a blog, the announcement e-mail as an .eml or text "
        "file) at launch_post_url so that it answers 200 to an anonymous visitor.",
    )
)


class LaunchPostMentions(OnLaunchPost):
    def judge(self, subject: Linked, doc: Page, fetched: Fetched, settings: Settings) -> Result:
        url = fetched.final_url or fetched.url
        platform = settings.platform_name
        if doc.mentions(platform):
            return self.passed(
                f"The launch post mentions {platform}",
                url=url,
                looked_for=[platform],
                format=doc.kind,
                names_app=doc.mentions(subject.submission.app.name),
            )
        return self.failed(
            f"The launch post {url} does not mention {platform}",
            url=url,
            looked_for=[platform],
            title=doc.title,
            format=doc.kind,
        )


LAUNCH_POST_MENTIONS = declare(
    LaunchPostMentions(
        "LNK-006",
        "Launch post mentions the integration",
        stage="links",
        requirement=("launch-post",),
        severity="blocker",
        network=True,
        remedy="Announce the integration by name: the post should say it works with the platform (e.g. 'Segment').",
    )
)


class LaunchPostLinksBack(OnLaunchPost):
    def judge(self, subject: Linked, doc: Page, fetched: Fetched, settings: Settings) -> Result:
        app = subject.submission.app
        url = fetched.final_url or fetched.url
        targets = listing_urls(subject.submission, settings)
        if app.docs.segment_url:
            targets.append(app.docs.segment_url)
        wanted = {comparable(u) for u in targets}
        back = [link for link in doc.links if comparable(link) in wanted]
        if back:
            return self.passed(f"The launch post links back ({back[0]})", url=url, looked_for=targets, found=back)
        domain = platform_domain(settings)
        return self.failed(
            f"The launch post {url} does not link to the catalog listing {targets[0]}"
            + (" or the integration's docs" if app.docs.segment_url else ""),
            url=url,
            looked_for=targets,
            platform_links=[link for link in doc.links if on_domain(link, domain)],
        )


LAUNCH_POST_LINKS_BACK = declare(
    LaunchPostLinksBack(
        "LNK-007",
        "Launch post links back to the catalog listing or the integration's docs",
        stage="links",
        requirement=("launch-post",),
        severity="blocker",
        network=True,
        remedy="Link the catalog listing (or the platform's documentation page for the integration) from the launch post.",
    )
)


class LaunchPostPublished(OnLaunchPost):
    def judge(self, subject: Linked, doc: Page, fetched: Fetched, settings: Settings) -> Result:
        url = fetched.final_url or fetched.url
        signs = draft_signs(doc, fetched)
        if signs:
            return self.failed(f"The launch post {url} looks unpublished: {'; '.join(signs)}", url=url, signs=signs)
        return self.passed(
            "The launch post looks published",
            url=url,
            looked_for=[
                "draft/preview URL",
                "robots noindex",
                "draft or placeholder title",
                "placeholder text (lorem ipsum, coming soon...)",
            ],
        )


LAUNCH_POST_PUBLISHED = declare(
    LaunchPostPublished(
        "LNK-008",
        "Launch post is published, not a draft or placeholder",
        stage="links",
        requirement=("launch-post",),
        severity="blocker",
        network=True,
        remedy="Publish the final post: no draft or preview URL, no 'noindex' robots directive, no "
        "placeholder text such as 'coming soon' or 'lorem ipsum'.",
    )
)

CHECKS: tuple[Check[Linked], ...] = (
    PARTNER_PAGE_LIVE,
    PARTNER_PAGE_NAMES,
    PARTNER_PAGE_REVERSE_LINK,
    PLATFORM_LINKS_UTM,
    LAUNCH_POST_LIVE,
    LAUNCH_POST_MENTIONS,
    LAUNCH_POST_LINKS_BACK,
    LAUNCH_POST_PUBLISHED,
)
