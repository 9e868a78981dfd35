"""Catalog checks (stage `catalog`): the App Info of REVIEW_RULES section 2, with no network.

`verify_catalog_fields(submission)` returns one result per catalog check. Presence is the job of
CAT-001 alone: the other checks judge the form of the fields that are there and skip, pointing to
CAT-001, when their field is missing, so a partner sees each problem once. Remote logos, marks
and pages are fetched by the links stage; here only their URLs are judged.
"""

from __future__ import annotations

import difflib
import html
import ipaddress
import re
from urllib.parse import urlsplit

from markdown_it import MarkdownIt

from partner_review.models.checks import Check, Result, register
from partner_review.models.settings import Settings, get_settings
from partner_review.models.submission import Submission
from partner_review.tasks.catalog import svg

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

REQUIRED_FIELDS = register(
    "CAT-001",
    "App Info has every required field",
    stage="catalog",
    severity="blocker",
    remedy="Fill in every field the message lists in the App Info form and resubmit.",
)
SLUG_FORMAT = register(
    "CAT-002",
    "Slug uses lowercase letters, digits and single hyphens",
    stage="catalog",
    severity="blocker",
    remedy="Use a slug such as `acme-analytics`: lowercase letters and digits joined by single hyphens.",
)
DESCRIPTION_SIZE = register(
    "CAT-003",
    "Description fits the catalog's length and image limits",
    stage="catalog",
    severity="blocker",
    remedy="Shorten the description to the character limit and keep at most the allowed number of images.",
)
CATEGORIES_LISTED = register(
    "CAT-004",
    "Categories come from the catalog's list",
    stage="catalog",
    severity="blocker",
    remedy="Pick the primary (and optional, different secondary) category by its exact name from the catalog list.",
)
WEBSITE_HTTPS = register(
    "CAT-005",
    "Website is an https URL",
    stage="catalog",
    severity="blocker",
    remedy="Give your website as a full https URL, e.g. `https://acme.example`.",
)
SUPPORT_EMAIL = register(
    "CAT-006",
    "Support e-mail address is valid",
    stage="catalog",
    severity="blocker",
    remedy="Give a support address of the form `support@your-domain.com`.",
)
LOGO_SVG = register(
    "CAT-007",
    "Logo is a safe SVG",
    stage="catalog",
    severity="blocker",
    remedy="Provide the logo as a plain SVG file (no DOCTYPE or entities), inline or at an https URL ending in .svg.",
)
MARK_SVG = register(
    "CAT-008",
    "Mark is a safe SVG",
    stage="catalog",
    severity="blocker",
    remedy="Provide the mark as a plain SVG file (no DOCTYPE or entities), inline or at an https URL ending in .svg.",
)
NO_ACTIVE_CONTENT = register(
    "CAT-009",
    "Logo and mark are static SVG: no scripts, handlers, animation or outside references",
    stage="catalog",
    severity="blocker",
    remedy="Export the logo and mark again as plain static SVG (shapes, paths, text, gradients, clip paths, masks; "
    "references only to #ids of the same file): no scripts, on* attributes, animation, <a> links, external or "
    "data: references (embedded PNG/JPEG excepted), @import or url() in CSS, processing instructions.",
)
MARK_SQUARE = register(
    "CAT-010",
    "Mark is square",
    stage="catalog",
    severity="blocker",
    remedy='Give the mark a square viewBox (e.g. `viewBox="0 0 64 64"`) around the symbol.',
)
LOGO_HORIZONTAL = register(
    "CAT-011",
    "Logo is a horizontal lockup",
    stage="catalog",
    severity="warning",
    remedy="Prefer a horizontal logo lockup, wider than tall, with the symbol beside the company name.",
)
MARK_WITHOUT_NAME = register(
    "CAT-012",
    "Mark shows no company name",
    stage="catalog",
    severity="warning",
    remedy="Use the symbol alone as the mark; the company name belongs in the logo.",
)
SCREENSHOTS_HTTPS = register(
    "CAT-013",
    "Screenshots are https URLs",
    stage="catalog",
    severity="blocker",
    remedy="Host each screenshot at a full https URL.",
)
DOCS_LINKS = register(
    "CAT-014",
    "Documentation links are https URLs",
    stage="catalog",
    severity="blocker",
    remedy="Give full https URLs for your docs, the Segment docs page and the Segment catalog page of this slug.",
)
LAUNCH_LINKS = register(
    "CAT-015",
    "Partner page and launch post are https URLs",
    stage="catalog",
    severity="blocker",
    remedy="Give full https URLs for your integrations page and your launch post (or e-mail announcement).",
)
TEST_ACCOUNT = register(
    "CAT-016",
    "Test account has a username and a password",
    stage="catalog",
    severity="blocker",
    remedy="Provision a test account for the reviewers and give its username and password.",
)
OAUTH_REDIRECTS = register(
    "CAT-017",
    "OAuth redirect URIs are https and within the limit",
    stage="catalog",
    severity="blocker",
    remedy="List between one and the allowed number of OAuth redirect URIs, each an https URL.",
)
OAUTH_SCOPE = register(
    "CAT-018",
    "OAuth scopes include destination/<slug> for a destination",
    stage="catalog",
    severity="blocker",
    remedy="Add the scope `destination/<your slug>` to the OAuth app of your destination.",
)

Inspected = svg.SvgInfo | svg.SvgError | None  # an inline SVG's analysis, refusal, or absence
_EXCERPT_CHARS = 120
_REMOTE = (
    "{field} is a remote file: its shape is not checked offline "
    "(the links stage only checks that it answers); give the SVG inline to have it checked"
)
_LISTED_PROBLEMS = 5
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_EMAIL_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_IMG_TAG = re.compile(r"<img\b", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_MARKDOWN = MarkdownIt("commonmark")


def verify_catalog_fields(submission: Submission, settings: Settings | None = None) -> list[Result]:
    """Run every catalog check on the submission's App Info; one result per check."""
    settings = settings or get_settings()
    app = submission.app
    logo = _inspect_inline(app.logo_svg, settings)
    mark = _inspect_inline(app.mark_svg, settings)
    return [
        _required_fields(submission),
        _slug_format(app.slug),
        _description_size(app.description, settings),
        _categories(app.categories.primary, app.categories.secondary),
        _website(app.website),
        _support_email(app.support_email),
        _svg_asset(LOGO_SVG, "logo", app.logo_url, logo),
        _svg_asset(MARK_SVG, "mark", app.mark_url, mark),
        _active_content(logo, mark),
        _mark_square(app.mark_url, mark, settings),
        _logo_horizontal(app.logo_url, logo),
        _mark_without_name(app.name, mark),
        _screenshots(app.screenshots),
        _docs_links(submission, settings),
        _launch_links(app.partner_page_url, app.launch_post_url),
        _test_account(submission),
        _oauth_redirects(submission, settings),
        _oauth_scope(submission),
    ]


# -- helpers --------------------------------------------------------------------------------------


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def _excerpt(value: str) -> str:
    return value if len(value) <= _EXCERPT_CHARS else value[: _EXCERPT_CHARS - 1] + "…"


def _listed(problems: list[str]) -> str:
    shown = "; ".join(problems[:_LISTED_PROBLEMS])
    more = len(problems) - _LISTED_PROBLEMS
    return shown + (f"; and {more} more" if more > 0 else "")


def _missing(field: str) -> str:
    return f"{field} is missing (reported by {REQUIRED_FIELDS.id})"


def https_problem(url: str) -> str | None:
    """Why `url` is not an https URL with a real host name, or None when it is one."""
    if not url.strip():
        return "is empty"
    if any(ch.isspace() for ch in url):
        return "contains whitespace"
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme.lower() != "https":
        return f"uses {parts.scheme + ':' if parts.scheme else 'no scheme'} instead of https:"
    if not host:
        return "has no host name"
    if parts.username is not None or parts.password is not None:
        return "carries credentials before the host name"
    if not _valid_host(host):
        return f"has an invalid host name {_excerpt(host)!r}"
    return None


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii").lower().rstrip(".")
    except UnicodeError:
        return False
    labels = ascii_host.split(".")
    return len(labels) >= 2 and all(_LABEL.match(label) for label in labels) and not labels[-1].isdigit()


def _url_problems(fields: list[tuple[str, str]]) -> list[str]:
    problems = []
    for field, url in fields:
        problem = https_problem(url)
        if problem:
            problems.append(f"{field} {problem} ({_excerpt(url)!r})")
    return problems


def _inspect_inline(svg_text: str | None, settings: Settings) -> Inspected:
    if svg_text is None:
        return None
    try:
        return svg.inspect(svg_text, max_bytes=settings.svg_max_bytes, max_depth=settings.svg_max_depth)
    except svg.SvgError as error:
        return error


def _dimensions(info: svg.SvgInfo) -> str:
    if info.view_box:
        return f"{info.view_box[2]:g}×{info.view_box[3]:g} (viewBox)"
    return f"{info.width:g}×{info.height:g} (width/height)"


# -- checks ---------------------------------------------------------------------------------------


def _required_fields(submission: Submission) -> Result:
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
        return REQUIRED_FIELDS.failed(f"Missing required App Info: {', '.join(missing)}", missing=missing)
    return REQUIRED_FIELDS.passed("Every required App Info field is present")


def _slug_format(slug: str) -> Result:
    if _blank(slug):
        return SLUG_FORMAT.skipped(_missing("app.slug"))
    if _SLUG.match(slug):
        return SLUG_FORMAT.passed(f"app.slug {slug!r} is well formed", slug=slug)
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
    if _SLUG.match(suggestion):
        message += f"; try {suggestion!r}"
    return SLUG_FORMAT.failed(message, field="app.slug", value=_excerpt(slug))


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


def _description_size(description: str | None, settings: Settings) -> Result:
    if _blank(description):
        return DESCRIPTION_SIZE.skipped(_missing("app.description"))
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
        return DESCRIPTION_SIZE.failed(f"app.description {' and '.join(problems)}", **evidence)
    return DESCRIPTION_SIZE.passed(f"app.description has {len(text)} characters and {images} images", **evidence)


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


def _categories(primary: str | None, secondary: str | None) -> Result:
    if _blank(primary) and _blank(secondary):
        return CATEGORIES_LISTED.skipped(_missing("app.categories.primary"))
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
        return CATEGORIES_LISTED.failed("; ".join(problems), **evidence)
    return CATEGORIES_LISTED.passed("Categories are from the catalog list", **evidence)


def _website(website: str | None) -> Result:
    if _blank(website):
        return WEBSITE_HTTPS.skipped(_missing("app.website"))
    problem = https_problem(website)
    if problem:
        return WEBSITE_HTTPS.failed(
            f"app.website {problem} ({_excerpt(website)!r})", field="app.website", value=_excerpt(website)
        )
    return WEBSITE_HTTPS.passed("app.website is an https URL", value=_excerpt(website))


def email_problem(address: str) -> str | None:
    """Why `address` is not a plausible e-mail address (local@domain.tld), or None."""
    if any(ch.isspace() for ch in address):
        return "contains whitespace"
    if len(address) > 254:
        return "is longer than 254 characters"
    local, at, domain = address.rpartition("@")
    if not at or not local:
        return "has no local part before an @"
    if "@" in local:
        return "has more than one @"
    if len(local) > 64 or not _EMAIL_LOCAL.match(local):
        return f"has an invalid part before the @ ({_excerpt(local)!r})"
    if not _valid_host(domain) or not re.search(r"\.[A-Za-z]{2,}$|\.xn--[a-z0-9-]+$", domain):
        return f"has an invalid domain ({_excerpt(domain)!r})"
    return None


def _support_email(address: str | None) -> Result:
    if _blank(address):
        return SUPPORT_EMAIL.skipped(_missing("app.support_email"))
    problem = email_problem(address)
    if problem:
        return SUPPORT_EMAIL.failed(f"app.support_email {problem}", field="app.support_email", value=_excerpt(address))
    return SUPPORT_EMAIL.passed("app.support_email is a valid address")


def _svg_url_problem(url: str) -> str | None:
    problem = https_problem(url)
    if problem:
        return problem
    if not urlsplit(url).path.lower().endswith(".svg"):
        return "does not end with .svg"
    return None


def _svg_asset(check: Check, kind: str, url: str | None, info: Inspected) -> Result:
    inline_field, url_field = f"app.{kind}_svg", f"app.{kind}_url"
    url_problem = _svg_url_problem(url) if not _blank(url) else None
    url_message = f"{url_field} {url_problem} ({_excerpt(url)!r})" if url_problem else None
    if isinstance(info, svg.SvgError):
        message = f"{inline_field} is refused: {info.reason}"
        if url_message:
            message += f"; {url_message}"
        return check.failed(message, field=inline_field, reason=info.kind)
    if url_message:
        return check.failed(url_message, field=url_field, value=_excerpt(url))
    if isinstance(info, svg.SvgInfo):
        size = _dimensions(info) if info.size_source else "no declared size"
        return check.passed(f"{inline_field} is an SVG, {size}", field=inline_field)
    if not _blank(url):
        return check.passed(
            f"{url_field} is an https URL ending in .svg; the links stage checks that it answers, "
            "its SVG content is not analysed here",
            field=url_field,
            value=_excerpt(url),
        )
    return check.skipped(_missing(f"{inline_field} or {url_field}"))


def _active_content(logo: Inspected, mark: Inspected) -> Result:
    inspected = {f: i for f, i in (("app.logo_svg", logo), ("app.mark_svg", mark)) if isinstance(i, svg.SvgInfo)}
    if not inspected:
        return NO_ACTIVE_CONTENT.skipped(
            "No inline SVG could be inspected (missing, refused by CAT-007/CAT-008, or given as a URL, "
            "which is not analysed offline)"
        )
    found = {field: list(info.dangers) for field, info in inspected.items() if info.dangers}
    if found:
        message = "; ".join(f"{field} has {', '.join(dangers)}" for field, dangers in found.items())
        return NO_ACTIVE_CONTENT.failed(message, dangers=found)
    return NO_ACTIVE_CONTENT.passed(f"No active content in {' and '.join(inspected)}", inspected=list(inspected))


def _mark_square(url: str | None, info: Inspected, settings: Settings) -> Result:
    if isinstance(info, svg.SvgError):
        return MARK_SQUARE.skipped(f"app.mark_svg could not be inspected (see {MARK_SVG.id})")
    if info is None:
        if not _blank(url):
            return MARK_SQUARE.skipped(_REMOTE.format(field="app.mark_url"))
        return MARK_SQUARE.skipped(_missing("app.mark_svg or app.mark_url"))
    if info.aspect is None:
        return MARK_SQUARE.failed(
            "app.mark_svg declares neither a viewBox nor a width and height, so it cannot be shown as a square",
            field="app.mark_svg",
        )
    evidence = {"field": "app.mark_svg", "size": _dimensions(info), "aspect": round(info.aspect, 4)}
    if abs(info.aspect - 1) > settings.mark_square_tolerance:
        return MARK_SQUARE.failed(f"app.mark_svg is {_dimensions(info)}, not square", **evidence)
    return MARK_SQUARE.passed(f"app.mark_svg is square, {_dimensions(info)}", **evidence)


def _logo_horizontal(url: str | None, info: Inspected) -> Result:
    if isinstance(info, svg.SvgError):
        return LOGO_HORIZONTAL.skipped(f"app.logo_svg could not be inspected (see {LOGO_SVG.id})")
    if info is None:
        if not _blank(url):
            return LOGO_HORIZONTAL.skipped(_REMOTE.format(field="app.logo_url"))
        return LOGO_HORIZONTAL.skipped(_missing("app.logo_svg or app.logo_url"))
    if info.aspect is None:
        return LOGO_HORIZONTAL.failed(
            "app.logo_svg declares neither a viewBox nor a width and height, so its shape is unknown",
            field="app.logo_svg",
        )
    evidence = {"field": "app.logo_svg", "size": _dimensions(info), "aspect": round(info.aspect, 4)}
    if info.aspect <= 1:
        return LOGO_HORIZONTAL.failed(f"app.logo_svg is {_dimensions(info)}, not wider than tall", **evidence)
    return LOGO_HORIZONTAL.passed(f"app.logo_svg is a horizontal lockup, {_dimensions(info)}", **evidence)


def _mark_without_name(name: str, info: Inspected) -> Result:
    if not isinstance(info, svg.SvgInfo):
        return MARK_WITHOUT_NAME.skipped("No inline mark to inspect")
    if not info.text:
        return MARK_WITHOUT_NAME.passed("app.mark_svg has no text")
    text = info.text.casefold()
    words = [w for w in re.findall(r"\w+", name.casefold()) if len(w) >= 3]
    shown = name.casefold() in text or any(re.search(rf"\b{re.escape(w)}\b", text) for w in words[:1])
    if shown:
        return MARK_WITHOUT_NAME.failed(
            f"app.mark_svg shows the text {_excerpt(info.text)!r}, which contains the name {name!r}",
            field="app.mark_svg",
            text=_excerpt(info.text),
        )
    return MARK_WITHOUT_NAME.passed("app.mark_svg does not show the company name", text=_excerpt(info.text))


def _screenshots(screenshots: list[str]) -> Result:
    if not screenshots:
        return SCREENSHOTS_HTTPS.skipped(_missing("app.screenshots"))
    problems = _url_problems([(f"app.screenshots[{i}]", url) for i, url in enumerate(screenshots)])
    if problems:
        return SCREENSHOTS_HTTPS.failed(_listed(problems), problems=problems[:_LISTED_PROBLEMS])
    return SCREENSHOTS_HTTPS.passed(f"{len(screenshots)} screenshot URL(s), all https", count=len(screenshots))


def _docs_links(submission: Submission, settings: Settings) -> Result:
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
        return DOCS_LINKS.skipped(_missing("app.docs"))
    problems = _url_problems(fields)
    slug = submission.app.slug
    if not _blank(docs.catalog_url) and not https_problem(docs.catalog_url) and _SLUG.match(slug):
        expected = settings.catalog_url_prefix + slug
        given = urlsplit(docs.catalog_url)
        if f"{given.scheme}://{given.netloc}{given.path}".rstrip("/").lower() != expected.rstrip("/").lower():
            problems.append(
                f"app.docs.catalog_url {_excerpt(docs.catalog_url)!r} is not this app's catalog page {expected + '/'!r}"
            )
    if problems:
        return DOCS_LINKS.failed(_listed(problems), problems=problems[:_LISTED_PROBLEMS])
    return DOCS_LINKS.passed(f"{len(fields)} documentation link(s), all https", fields=[f for f, _ in fields])


def _launch_links(partner_page_url: str | None, launch_post_url: str | None) -> Result:
    fields = [
        (f, v)
        for f, v in (("app.partner_page_url", partner_page_url), ("app.launch_post_url", launch_post_url))
        if not _blank(v)
    ]
    if not fields:
        return LAUNCH_LINKS.skipped(_missing("app.partner_page_url and app.launch_post_url"))
    problems = _url_problems(fields)
    if problems:
        return LAUNCH_LINKS.failed(_listed(problems), problems=problems)
    return LAUNCH_LINKS.passed(
        f"{' and '.join(f for f, _ in fields)} are https URLs; their content is checked by the links stage"
    )


def _test_account(submission: Submission) -> Result:
    account = submission.app.test_account
    if account is None:
        return TEST_ACCOUNT.skipped(_missing("app.test_account"))
    missing = []  # the account is a secret: the evidence names fields, never values
    if _blank(account.username):
        missing.append("app.test_account.username")
    if not account.password.get_secret_value().strip():
        missing.append("app.test_account.password")
    if missing:
        return TEST_ACCOUNT.failed(f"{' and '.join(missing)} is empty", empty=missing)
    return TEST_ACCOUNT.passed("The test account has a username and a password")


def _oauth_redirects(submission: Submission, settings: Settings) -> Result:
    oauth = submission.app.oauth
    if oauth is None:
        return OAUTH_REDIRECTS.skipped(
            "No OAuth configuration given (needed to graduate to Public, not for Public Beta)"
        )
    uris = oauth.redirect_uris
    problems = []
    if not uris:
        problems.append("app.oauth.redirect_uris is empty")
    if len(uris) > settings.oauth_max_redirect_uris:
        problems.append(f"app.oauth.redirect_uris has {len(uris)} URIs, more than {settings.oauth_max_redirect_uris}")
    problems += _url_problems([(f"app.oauth.redirect_uris[{i}]", uri) for i, uri in enumerate(uris)])
    evidence = {"count": len(uris), "max": settings.oauth_max_redirect_uris}
    if problems:
        return OAUTH_REDIRECTS.failed(_listed(problems), problems=problems[:_LISTED_PROBLEMS], **evidence)
    return OAUTH_REDIRECTS.passed(f"{len(uris)} OAuth redirect URI(s), all https", **evidence)


def _oauth_scope(submission: Submission) -> Result:
    oauth = submission.app.oauth
    if oauth is None:
        return OAUTH_SCOPE.skipped("No OAuth configuration given (needed to graduate to Public, not for Public Beta)")
    if not submission.destinations:
        return OAUTH_SCOPE.skipped("The submission has no destination component")
    scope = f"destination/{submission.app.slug}"
    scopes = [_excerpt(s) for s in oauth.scopes[:10]]
    if scope not in oauth.scopes:
        return OAUTH_SCOPE.failed(
            f"app.oauth.scopes lacks {scope!r} required for the destination", expected=scope, scopes=scopes
        )
    return OAUTH_SCOPE.passed(f"app.oauth.scopes includes {scope!r}", scopes=scopes)
