"""Catalog checks (stage `catalog`): the App Info of REVIEW_RULES section 2, with no network.

Each check is an object (`Check[Catalog]` with its `run`) judging the `Catalog` subject
(tasks/catalog/subject.py), run by `tasks/runner.py:run_objects`. `verify_catalog_fields(submission,
remote=...)` gathers the subject and returns one result per catalog check. Presence is the job of
CAT-001 alone: the other checks judge the form of the fields that are there and skip, pointing to
CAT-001, when their field is missing, so a partner sees each problem once. The logo and mark checks
(CAT-007..CAT-012) live in `tasks.catalog.assets`; a remote logo or mark is analysed from the bytes
`tasks.catalog.remote.fetch_svgs` fetched beforehand (this module does no I/O), and stays unverified
without them. Pages are fetched by the links stage.
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from markdown_it import MarkdownIt

from partner_review.models.addresses import email_problem
from partner_review.models.checks import Check, Result, declare
from partner_review.models.settings import Settings, given_or_current
from partner_review.models.submission import SLUG, Submission
from partner_review.tasks.catalog import assets as brand
from partner_review.tasks.catalog.remote import RemoteSvg
from partner_review.tasks.catalog.subject import Catalog
from partner_review.tasks.catalog.urls import excerpt as _excerpt
from partner_review.tasks.catalog.urls import https_problem
from partner_review.tasks.context import Context
from partner_review.tasks.runner import Scope, run_objects

__all__ = ["CATEGORIES", "CHECKS", "Catalog", "https_problem", "verify_catalog_fields"]

CATEGORIES: tuple[str, ...] = (
    "A/B Testing",
    "Advertising",
    "Analytics",
    "Attribution",
    "CRM",
    "Customer Success",
    "Deep Linking",
    "Email Marketing",
    "Enrichment",
    "Feature Flagging",
    "Heatmaps & Recordings",
    "Livechat",
    "Marketing Automation",
    "Performance Monitoring",
    "Personalization",
    "Raw Data",
    "Referrals",
    "Security & Fraud",
    "SMS & Push Notifications",
    "Surveys",
    "Tag Managers",
    "Video",
)


_LISTED_PROBLEMS = 5
_IMG_TAG = re.compile(r"<img\b", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_MARKDOWN = MarkdownIt("commonmark")


# -- helpers --------------------------------------------------------------------------------------


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def _listed(problems: list[str]) -> str:
    shown = "; ".join(problems[:_LISTED_PROBLEMS])
    more = len(problems) - _LISTED_PROBLEMS
    return shown + (f"; and {more} more" if more > 0 else "")


def _missing(field: str) -> str:
    return f"{field} is missing (reported by {REQUIRED_FIELDS.id})"


def _url_problems(fields: list[tuple[str, str]] | list[tuple[str, str | None]]) -> list[str]:
    problems = []
    for field, url in fields:
        if url is None:
            continue
        problem = https_problem(url)
        if problem:
            problems.append(f"{field} {problem} ({_excerpt(url)!r})")
    return problems


def description_text(description: str) -> tuple[str, int]:
    """The visible text of a Markdown/HTML description (whitespace collapsed) and its image count."""
    blocks: list[str] = []
    images = 0
    for token in _MARKDOWN.parse(description):
        if token.type == "html_block":
            images += len(_IMG_TAG.findall(token.content))
            blocks.append(html.unescape(_TAG.sub(" ", token.content)))
        elif token.type in ("code_block", "fence"):
            blocks.append(token.content)
        for child in token.children or []:
            if child.type == "image":
                images += 1
            elif child.type in ("text", "code_inline"):
                blocks.append(child.content)
            elif child.type in ("softbreak", "hardbreak"):
                blocks.append(" ")
            elif child.type == "html_inline":
                images += len(_IMG_TAG.findall(child.content))
        blocks.append(" ")
    return " ".join("".join(blocks).split()), images


def closest_category(value: str) -> str | None:
    """The catalog category a near-miss name most likely meant, or None."""

    def normal(name: str) -> str:
        return re.sub(r"[^a-z0-9]", "", name.lower().replace("&", "and"))

    for category in CATEGORIES:
        if normal(category) == normal(value):
            return category
    by_normal = {normal(c): c for c in CATEGORIES}
    close = difflib.get_close_matches(normal(value), list(by_normal), n=1, cutoff=0.6)
    return by_normal[close[0]] if close else None


class RequiredFields(Check[Catalog]):
    def run(self, subject: Catalog, ctx: object = None) -> Result:
        submission = subject.submission
        app = submission.app
        docs = app.docs
        required: list[tuple[str, bool]] = [
            ("app.name", not _blank(app.name)),
            ("app.slug", not _blank(app.slug)),
            ("app.description", not _blank(app.description)),
            ("app.website", not _blank(app.website)),
            ("app.categories.primary", not _blank(app.categories.primary)),
            ("app.logo_svg or app.logo_url", not (_blank(app.logo_svg) and _blank(app.logo_url))),
            ("app.mark_svg or app.mark_url", not (_blank(app.mark_svg) and _blank(app.mark_url))),
            ("app.support_email", not _blank(app.support_email)),
            ("app.screenshots (at least one)", bool(app.screenshots)),
            ("app.docs.own_url", not _blank(docs.own_url)),
            ("app.docs.segment_url", not _blank(docs.segment_url)),
            ("app.docs.catalog_url", not _blank(docs.catalog_url)),
            (
                "app.docs.segment_markdown or app.docs.segment_markdown_url",
                not (_blank(docs.segment_markdown) and _blank(docs.segment_markdown_url)),
            ),
            ("app.partner_page_url", not _blank(app.partner_page_url)),
            ("app.launch_post_url", not _blank(app.launch_post_url)),
            ("app.test_account", app.test_account is not None),
        ]
        missing = [field for field, present in required if not present]
        if missing:
            return self.failed(f"Missing required App Info: {', '.join(missing)}", missing=missing)
        return self.passed("Every required App Info field is present")


REQUIRED_FIELDS = declare(
    RequiredFields(
        "CAT-001",
        "App Info has every required field",
        stage="catalog",
        requirement=("catalog",),
        severity="blocker",
        remedy="Fill in every field the message lists in the App Info form and resubmit.",
    )
)


class SlugFormat(Check[Catalog]):
    def run(self, subject: Catalog, ctx: object = None) -> Result:
        slug = subject.submission.app.slug
        if _blank(slug):
            return self.not_applicable(_missing("app.slug"))
        if SLUG.match(slug):
            return self.passed(f"app.slug {slug!r} is well formed", slug=slug)
        problems = []
        if any(ch.isupper() for ch in slug):
            problems.append("has uppercase letters")
        if re.search(r"[^A-Za-z0-9-]", slug):
            problems.append("has characters other than letters, digits and hyphens")
        if slug.startswith("-") or slug.endswith("-"):
            problems.append("starts or ends with a hyphen")
        if "--" in slug:
            problems.append("has a double hyphen")
        suggestion = re.sub(r"[^a-z0-9]+", "-", slug.lower()).strip("-")
        message = f"app.slug {_excerpt(slug)!r} {', '.join(problems)}"
        if SLUG.match(suggestion):
            message += f"; try {suggestion!r}"
        return self.failed(message, field="app.slug", value=_excerpt(slug))


SLUG_FORMAT = declare(
    SlugFormat(
        "CAT-002",
        "Slug uses lowercase letters, digits and single hyphens",
        stage="catalog",
        requirement=("catalog",),
        severity="blocker",
        remedy="Use a slug such as `acme-analytics`: lowercase letters and digits joined by single hyphens.",
    )
)


class DescriptionSize(Check[Catalog]):
    def run(self, subject: Catalog, ctx: Context) -> Result:
        description, settings = subject.submission.app.description, ctx.settings
        if description is None or _blank(description):
            return self.not_applicable(_missing("app.description"))
        text, images = description_text(description)
        evidence = {
            "field": "app.description",
            "characters": len(text),
            "images": images,
            "max_characters": settings.description_max_chars,
            "max_images": settings.description_max_images,
        }
        problems = []
        if len(text) > settings.description_max_chars:
            problems.append(f"has {len(text)} characters of text, more than {settings.description_max_chars}")
        if images > settings.description_max_images:
            problems.append(f"has {images} images, more than {settings.description_max_images}")
        if problems:
            return self.failed(f"app.description {' and '.join(problems)}", **evidence)
        return self.passed(f"app.description has {len(text)} characters and {images} images", **evidence)


DESCRIPTION_SIZE = declare(
    DescriptionSize(
        "CAT-003",
        "Description fits the catalog's length and image limits",
        stage="catalog",
        requirement=("catalog",),
        severity="blocker",
        remedy="Shorten the description to the character limit and keep at most the allowed number of images.",
    )
)


class CategoriesListed(Check[Catalog]):
    def run(self, subject: Catalog, ctx: object = None) -> Result:
        primary, secondary = subject.submission.app.categories.primary, subject.submission.app.categories.secondary
        if _blank(primary) and _blank(secondary):
            return self.not_applicable(_missing("app.categories.primary"))
        problems = []
        for field, value in (("app.categories.primary", primary), ("app.categories.secondary", secondary)):
            if value is None or value in CATEGORIES:
                continue
            problem = f"{field} {_excerpt(value)!r} is not a catalog category"
            suggestion = closest_category(value)
            if suggestion:
                problem += f" (did you mean {suggestion!r}?)"
            problems.append(problem)
        if primary is not None and secondary is not None and primary == secondary:
            problems.append("app.categories.secondary repeats the primary category")
        evidence = {
            "primary": _excerpt(primary) if primary else None,
            "secondary": _excerpt(secondary) if secondary else None,
        }
        if problems:
            return self.failed("; ".join(problems), **evidence)
        return self.passed("Categories are from the catalog list", **evidence)


CATEGORIES_LISTED = declare(
    CategoriesListed(
        "CAT-004",
        "Categories come from the catalog's list",
        stage="catalog",
        requirement=("catalog",),
        severity="blocker",
        remedy="Pick the primary (and optional, different secondary) category by its exact name from the catalog list.",
    )
)


class WebsiteHttps(Check[Catalog]):
    def run(self, subject: Catalog, ctx: object = None) -> Result:
        website = subject.submission.app.website
        if website is None or _blank(website):
            return self.not_applicable(_missing("app.website"))
        problem = https_problem(website)
        if problem:
            return self.failed(
                f"app.website {problem} ({_excerpt(website)!r})", field="app.website", value=_excerpt(website)
            )
        return self.passed("app.website is an https URL", value=_excerpt(website))


WEBSITE_HTTPS = declare(
    WebsiteHttps(
        "CAT-005",
        "Website is an https URL",
        stage="catalog",
        requirement=("catalog",),
        severity="blocker",
        remedy="Give your website as a full https URL, e.g. `https://acme.example`.",
    )
)


class SupportEmail(Check[Catalog]):
    def run(self, subject: Catalog, ctx: object = None) -> Result:
        address = subject.submission.app.support_email
        if address is None or _blank(address):
            return self.not_applicable(_missing("app.support_email"))
        problem = email_problem(address)
        if problem:
            return self.failed(f"app.support_email {problem}", field="app.support_email", value=_excerpt(address))
        return self.passed("app.support_email is a valid address")


SUPPORT_EMAIL = declare(
    SupportEmail(
        "CAT-006",
        "Support e-mail address is valid",
        stage="catalog",
        requirement=("catalog",),
        severity="blocker",
        remedy="Give a support address of the form `support@your-domain.com`.",
    )
)


class ScreenshotsHttps(Check[Catalog]):
    def run(self, subject: Catalog, ctx: object = None) -> Result:
        screenshots = subject.submission.app.screenshots
        if not screenshots:
            return self.not_applicable(_missing("app.screenshots"))
        problems = _url_problems([(f"app.screenshots[{i}]", url) for i, url in enumerate(screenshots)])
        if problems:
            return self.failed(_listed(problems), problems=problems[:_LISTED_PROBLEMS])
        return self.passed(f"{len(screenshots)} screenshot URL(s), all https", count=len(screenshots))


SCREENSHOTS_HTTPS = declare(
    ScreenshotsHttps(
        "CAT-013",
        "Screenshots are https URLs",
        stage="catalog",
        requirement=("catalog",),
        severity="blocker",
        remedy="Host each screenshot at a full https URL.",
    )
)


class DocsLinks(Check[Catalog]):
    def run(self, subject: Catalog, ctx: Context) -> Result:
        submission, settings = subject.submission, ctx.settings
        docs = submission.app.docs
        fields = [
            (f"app.docs.{name}", value)
            for name, value in (
                ("own_url", docs.own_url),
                ("segment_url", docs.segment_url),
                ("catalog_url", docs.catalog_url),
                ("segment_markdown_url", docs.segment_markdown_url),
            )
            if not _blank(value)
        ]
        if not fields:
            return self.not_applicable(_missing("app.docs"))
        problems = _url_problems(fields)
        slug = submission.app.slug
        catalog_url = docs.catalog_url
        if catalog_url is not None and not _blank(catalog_url) and not https_problem(catalog_url) and SLUG.match(slug):
            expected = settings.catalog_url_prefix + slug
            given = urlsplit(catalog_url)
            if f"{given.scheme}://{given.netloc}{given.path}".rstrip("/").lower() != expected.rstrip("/").lower():
                problems.append(
                    f"app.docs.catalog_url {_excerpt(catalog_url)!r} is not this app's catalog page {expected + '/'!r}"
                )
        if problems:
            return self.failed(_listed(problems), problems=problems[:_LISTED_PROBLEMS])
        return self.passed(f"{len(fields)} documentation link(s), all https", fields=[f for f, _ in fields])


DOCS_LINKS = declare(
    DocsLinks(
        "CAT-014",
        "Documentation links are https URLs",
        stage="catalog",
        requirement=("docs",),
        severity="blocker",
        remedy="Give full https URLs for your docs, the Segment docs page and the Segment catalog page of this slug.",
    )
)


class LaunchLinks(Check[Catalog]):
    def run(self, subject: Catalog, ctx: object = None) -> Result:
        app = subject.submission.app
        partner_page_url, launch_post_url = app.partner_page_url, app.launch_post_url
        fields = [
            (f, v)
            for f, v in (("app.partner_page_url", partner_page_url), ("app.launch_post_url", launch_post_url))
            if not _blank(v)
        ]
        if not fields:
            return self.not_applicable(_missing("app.partner_page_url and app.launch_post_url"))
        problems = _url_problems(fields)
        if problems:
            return self.failed(_listed(problems), problems=problems)
        return self.passed(
            f"{' and '.join(f for f, _ in fields)} are https URLs; their content is checked by the links stage"
        )


LAUNCH_LINKS = declare(
    LaunchLinks(
        "CAT-015",
        "Partner page and launch post are https URLs",
        stage="catalog",
        requirement=("partner-page", "launch-post"),
        severity="blocker",
        remedy="Give full https URLs for your integrations page and your launch post (or e-mail announcement).",
    )
)


class TestAccount(Check[Catalog]):
    def run(self, subject: Catalog, ctx: object = None) -> Result:
        submission = subject.submission
        account = submission.app.test_account
        if account is None:
            return self.not_applicable(_missing("app.test_account"))
        missing = []  # the account is a secret: the evidence names fields, never values
        if _blank(account.username):
            missing.append("app.test_account.username")
        if not account.password.get_secret_value().strip():
            missing.append("app.test_account.password")
        if missing:
            return self.failed(f"{' and '.join(missing)} is empty", empty=missing)
        return self.passed("The test account has a username and a password")


TEST_ACCOUNT = declare(
    TestAccount(
        "CAT-016",
        "Test account has a username and a password",
        stage="catalog",
        requirement=("test-account",),
        severity="blocker",
        remedy="Provision a test account for the reviewers and give its username and password.",
    )
)


class OauthRedirects(Check[Catalog]):
    def run(self, subject: Catalog, ctx: Context) -> Result:
        submission, settings = subject.submission, ctx.settings
        oauth = submission.app.oauth
        if oauth is None:
            return self.not_applicable(
                "No OAuth configuration given (needed to graduate to Public, not for Public Beta)"
            )
        uris = oauth.redirect_uris
        problems = []
        if not uris:
            problems.append("app.oauth.redirect_uris is empty")
        if len(uris) > settings.oauth_max_redirect_uris:
            problems.append(
                f"app.oauth.redirect_uris has {len(uris)} URIs, more than {settings.oauth_max_redirect_uris}"
            )
        problems += _url_problems([(f"app.oauth.redirect_uris[{i}]", uri) for i, uri in enumerate(uris)])
        evidence = {"count": len(uris), "max": settings.oauth_max_redirect_uris}
        if problems:
            return self.failed(_listed(problems), problems=problems[:_LISTED_PROBLEMS], **evidence)
        return self.passed(f"{len(uris)} OAuth redirect URI(s), all https", **evidence)


OAUTH_REDIRECTS = declare(
    OauthRedirects(
        "CAT-017",
        "OAuth redirect URIs are https and within the limit",
        stage="catalog",
        severity="blocker",
        remedy="List between one and the allowed number of OAuth redirect URIs, each an https URL.",
    )
)


class OauthScope(Check[Catalog]):
    def run(self, subject: Catalog, ctx: object = None) -> Result:
        submission = subject.submission
        oauth = submission.app.oauth
        if oauth is None:
            return self.not_applicable(
                "No OAuth configuration given (needed to graduate to Public, not for Public Beta)"
            )
        if not submission.destinations:
            return self.not_applicable("The submission has no destination component")
        scope = f"destination/{submission.app.slug}"
        scopes = [_excerpt(s) for s in oauth.scopes[:10]]
        if scope not in oauth.scopes:
            return self.failed(
                f"app.oauth.scopes lacks {scope!r} required for the destination", expected=scope, scopes=scopes
            )
        return self.passed(f"app.oauth.scopes includes {scope!r}", scopes=scopes)


OAUTH_SCOPE = declare(
    OauthScope(
        "CAT-018",
        "OAuth scopes include destination/<slug> for a destination",
        stage="catalog",
        severity="blocker",
        remedy="Add the scope `destination/<your slug>` to the OAuth app of your destination.",
    )
)


# -- the stage's part -------------------------------------------------------------------------------

CHECKS: tuple[Check[Catalog], ...] = (
    REQUIRED_FIELDS,
    SLUG_FORMAT,
    DESCRIPTION_SIZE,
    CATEGORIES_LISTED,
    WEBSITE_HTTPS,
    SUPPORT_EMAIL,
    brand.LOGO_SVG,
    brand.MARK_SVG,
    brand.NO_ACTIVE_CONTENT,
    brand.MARK_SQUARE,
    brand.LOGO_HORIZONTAL,
    brand.MARK_WITHOUT_NAME,
    SCREENSHOTS_HTTPS,
    DOCS_LINKS,
    LAUNCH_LINKS,
    TEST_ACCOUNT,
    OAUTH_REDIRECTS,
    OAUTH_SCOPE,
)


def verify_catalog_fields(
    submission: Submission,
    settings: Settings | None = None,
    *,
    remote: Mapping[str, RemoteSvg] | None = None,
) -> list[Result]:
    """Run every catalog check on the submission's App Info; one result per check.

    `remote` is what `fetch_svgs` found for `app.logo_url` and `app.mark_url` ("logo", "mark"); a
    URL without an entry there is reported as not verified."""
    settings = given_or_current(settings)
    subject = Catalog.of(submission, settings, remote)
    return run_objects(CHECKS, subject, Context.of(settings), Scope.of(submission))
