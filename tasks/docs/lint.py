"""The documentation linter (stage `docs`): a partner's Segment-hosted doc page against Segment's
partner templates, its style rules, and the integration it documents.

    lint(markdown, submission)               -> results for a page in hand (str or bytes)
    await lint_documentation(submission)     -> the same for app.docs.segment_markdown or
                                                app.docs.segment_markdown_url (fetched safely)
    links_and_anchors(markdown)              -> every link/image URL with its line, and the
                                                page's heading anchors (for the link checker)

Which template applies (`detect_kind`): with a submission, a destination component makes it a
destination page (an actions destination when the page itself says so: a "(Actions)" title or
the generated-fields include), else a source page. One page serves a submission with both a
destination and a source: it is linted as the destination's page. Without a submission: a file
named `actions-*` is an actions destination, a file under `sources/` a source; otherwise the
page decides (actions markers as above; a title ending in "Source" is a source); the default is
a direct destination.

No Prefect here (the linter must stay fast); the @task wrapper lives in flows/.
"""

from __future__ import annotations

import codecs
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from partner_review.models.checks import Check, Result, register
from partner_review.models.settings import Settings, given_or_current
from partner_review.models.submission import Submission
from partner_review.tasks import offload
from partner_review.tasks.docs import match as docs_match
from partner_review.tasks.docs import rules as docs_rules
from partner_review.tasks.docs import style as docs_style
from partner_review.tasks.docs.context import KIND_NAMES, Finding, Kind, PageContext, RuleOutput
from partner_review.tasks.docs.document import (
    HTML_URL,
    Document,
    github_slug,
    html_anchors,
    parse,
)
from partner_review.tasks.runner import offline_reason

PROVIDED = register(
    "DOC-001",
    "A Segment doc page is provided",
    stage="docs",
    severity="blocker",
    remedy="Set `app.docs.segment_markdown` to the page's Markdown, or `app.docs.segment_markdown_url` "
    "to a URL serving the raw Markdown file.",
)
READABLE = register(
    "DOC-002",
    "The doc page can be read: fetched, UTF-8, within size and nesting limits",
    stage="docs",
    severity="blocker",
    remedy="Serve the raw Markdown file (not an HTML page) over https with status 200, saved as UTF-8, "
    "within the size limit (128 KiB by default; real partner pages stay under 60 KiB), with lists and "
    "blockquotes nested at most a few levels deep.",
)

RULES = sorted(docs_rules.RULES + docs_match.RULES + docs_style.RULES, key=lambda rule: rule[0].id)
CHECKS: list[Check] = [PROVIDED, READABLE] + [check for check, _ in RULES]

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


_LOOKAHEAD_LINES = 50  # a reference link's URL is not in its paragraph: bound the search


class FetchFailed(Exception):
    """The doc URL could not be read; the message is written for the partner."""


# Public API -----------------------------------------------------------------------------------


def lint(
    markdown: str | bytes,
    submission: Submission | None = None,
    *,
    accepted_calls: set[str] | None = None,
    path: str | None = None,
) -> list[Result]:
    """Lint one doc page. Bytes are decoded as UTF-8 (a BOM is honoured); `path` (optional) helps
    tell the kind of page when there is no submission. Never raises for any page content."""
    return _lint(markdown, None, submission, accepted_calls, path)


async def lint_documentation(
    submission: Submission,
    *,
    accepted_calls: set[str] | None = None,
    offline: bool = False,
    settings: Settings | None = None,
) -> list[Result]:
    """Lint the submission's doc page: `segment_markdown`, else `segment_markdown_url` fetched with
    the guarded client (skipped with a reason when `offline`). Never raises for a bad URL."""
    docs = submission.app.docs
    if docs.segment_markdown is not None and docs.segment_markdown.strip():
        # Linting is CPU work (~0.5 s for a large page): in a worker process, off the loop where e2e
        # and the load test measure latency (a thread would still hold it: tasks/offload.py).
        return await offload.run_as(
            settings, lint, docs.segment_markdown, submission.without_sample_events(), accepted_calls=accepted_calls
        )
    url = docs.segment_markdown_url
    if not url:
        what = "is empty" if docs.segment_markdown is not None else "is missing"
        return [
            PROVIDED.failed(
                f"The Segment doc page {what}: set app.docs.segment_markdown or app.docs.segment_markdown_url.",
                line=1,
                column=1,
                excerpt="",
                field="app.docs.segment_markdown",
            )
        ] + _unlinted("No doc page to lint.", CHECKS[1:], submission, None)
    if offline:
        # Data-dependent, so not the runner's call: only a doc page given as a URL needs the network.
        reason = offline_reason(f"fetches the doc page at {url}")
        return [PROVIDED.passed(url=url)] + [check.skipped(reason, because="offline", url=url) for check in CHECKS[1:]]
    try:
        data, charset = await fetch_markdown(url, settings)
    except FetchFailed as error:
        return [PROVIDED.passed(url=url), READABLE.failed(str(error), line=1, column=1, excerpt=url, url=url)] + [
            *_unlinted("The doc page could not be fetched (see DOC-002).", CHECKS[2:], submission, None, url=url)
        ]
    return await offload.run_as(
        settings, _lint, data, charset, submission.without_sample_events(), accepted_calls, urlsplit(url).path
    )


def links_and_anchors(markdown: str, settings: Settings | None = None) -> tuple[list[tuple[str, int]], set[str]]:
    """Every link, image and bare URL in the page with its 1-based line (in page order), and the
    anchors a `#fragment` may name: kramdown and GitHub heading slugs and HTML ids/names."""
    settings = given_or_current(settings)
    if len(markdown) > settings.docs_max_bytes:
        markdown = markdown[: markdown.rfind("\n", 0, settings.docs_max_bytes) + 1]
    document = parse(markdown, max_nesting=settings.docs_max_nesting)
    urls: list[tuple[str, int]] = []
    for block, _ in document.inline_blocks():
        if block.map is None:  # markdown-it maps every block it parses; a synthetic one has no line
            continue
        cursor = block.map[0] + 1  # links are found in order, each searched from the previous one
        for child in block.children or ():
            url = (
                child.attrs.get("href")
                if child.type == "link_open"
                else (child.attrs.get("src") if child.type == "image" else None)
            )
            if url:
                cursor = document.locate(str(url), cursor, min(block.map[1], cursor + _LOOKAHEAD_LINES))[0]
                urls.append((str(url), cursor))
            elif child.type == "html_inline":
                urls.extend((found, block.map[0] + 1) for found in HTML_URL.findall(child.content))
    for token in document.tokens:
        if token.type == "html_block" and token.map:
            for found in HTML_URL.finditer(token.content):
                urls.append((found.group(1), token.map[0] + 1 + token.content.count("\n", 0, found.start())))
    for number, text in docs_style.prose_lines(document, quotes=True):
        for match in docs_style.URL_OR_EMAIL.finditer(docs_style.mask_links(text)):
            if "://" in match.group(0) or match.group(0).startswith("www."):
                urls.append((match.group(0), number))
    urls.sort(key=lambda pair: pair[1])
    anchors = {heading.anchor for heading in document.headings} | html_anchors(document)
    seen: dict[str, int] = {}
    for heading in document.headings:
        slug = github_slug(heading.text)
        anchors.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
        seen[slug] = seen.get(slug, 0) + 1
    return urls, anchors


# Reading --------------------------------------------------------------------------------------


def decode(data: bytes, charset: str | None = None) -> tuple[str, str | None, int, int]:
    """(text, problem, line, column): UTF-8 unless a BOM or a declared charset says otherwise;
    undecodable bytes become U+FFFD and `problem` says where the first one was."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            data, charset = data[len(bom) :], encoding
            break
    if charset and _known(charset) and codecs.lookup(charset).name != "utf-8":
        try:
            return data.decode(charset), None, 0, 0
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), None, 0, 0
    except UnicodeDecodeError as error:
        start = error.start
    line_start = data.rfind(b"\n", 0, start) + 1
    line = data.count(b"\n", 0, start) + 1
    column = len(data[line_start:start].decode("utf-8", "replace")) + 1
    problem = (
        f"The page is not valid UTF-8: byte 0x{data[start]:02X} at line {line}, column {column}. "
        "Save the file as UTF-8; undecodable bytes were read as \ufffd."
    )
    return data.decode("utf-8", "replace"), problem, line, column


def _known(charset: str) -> bool:
    try:
        codecs.lookup(charset)
        return True
    except LookupError:
        return False


async def fetch_markdown(url: str, settings: Settings | None = None) -> tuple[bytes, str | None]:
    """The raw page at `url` (at most docs_max_bytes + 1 bytes) and its declared charset."""
    import httpx

    from partner_review.tasks.net.client import client, read_up_to

    settings = given_or_current(settings)
    limit = settings.docs_max_bytes
    try:
        async with client(settings=settings) as http:
            async with http.stream(
                "GET",
                url,
                follow_redirects=True,
                headers={"Accept": "text/markdown, text/plain;q=0.9, */*;q=0.1"},
            ) as response:
                if response.status_code != 200:
                    raise FetchFailed(f"{url} answered HTTP {response.status_code}, not 200 with the page.")
                content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if content_type in ("text/html", "application/xhtml+xml"):
                    raise FetchFailed(
                        f"{url} serves an HTML page ({content_type}), not the Markdown source; link the raw "
                        "file (for GitHub: raw.githubusercontent.com/...)."
                    )
                body, _ = await read_up_to(response, limit + 1)  # a byte past the limit says it is too long
                return body, response.charset_encoding
    except httpx.HTTPError as error:
        raise FetchFailed(f"{url} could not be fetched: {error or type(error).__name__}.") from None


def detect_kind(document: Document, submission: Submission | None = None, path: str | None = None) -> Kind:
    """Which template applies (see the module docstring)."""
    title = document.front_matter.get("title", "").strip().lower()
    actions = docs_rules.ACTIONS_INCLUDE in document.includes or "(actions)" in title
    if submission is not None:
        if submission.destinations:
            return "actions-destination" if actions else "destination"
        return "source"
    if path:
        where = PurePosixPath(path)
        if where.name.startswith("actions-"):
            return "actions-destination"
        if "sources" in where.parts:
            return "source"
        if "destinations" in where.parts:
            return "actions-destination" if actions else "destination"
    if actions:
        return "actions-destination"
    return "source" if title.strip("'\" ").endswith("source") else "destination"


# Linting --------------------------------------------------------------------------------------


def _unlinted(
    reason: str,
    checks: Sequence[Check],
    submission: Submission | None,
    path: str | None,
    **evidence: Any,
) -> list[Result]:
    """The checks of a page that could not be linted: not verified, but for the source-only check
    on a page that is not a source page (it does not apply whatever the page holds)."""
    kind = detect_kind(parse("", max_nesting=4), submission, path)
    return [
        docs_rules.SOURCE_TABLES.not_applicable(f"Not a source page ({KIND_NAMES[kind]}).")
        if check is docs_rules.SOURCE_TABLES and kind != "source"
        else check.skipped(reason, **evidence)
        for check in checks
    ]


def _lint(
    markdown: str | bytes,
    charset: str | None,
    submission: Submission | None,
    accepted_calls: set[str] | None,
    path: str | None,
) -> list[Result]:
    settings = given_or_current(None)  # in a worker process: the caller's (offload.run_as)
    problems: list[Result] = []
    if isinstance(markdown, str):
        try:
            size = len(markdown.encode("utf-8"))
        except UnicodeEncodeError as error:  # lone surrogates from a JSON "\ud800" escape
            line = markdown.count("\n", 0, error.start) + 1
            problems.append(
                READABLE.failed(
                    f"The page holds an invalid character (a lone UTF-16 surrogate) at line {line}; it was "
                    "read as \ufffd.",
                    line=line,
                    column=error.start - markdown.rfind("\n", 0, error.start),
                    excerpt=markdown[max(0, error.start - 20) : error.start].strip(),
                )
            )
            markdown = markdown.encode("utf-8", "replace").decode("utf-8")
            size = len(markdown.encode("utf-8"))
    else:
        size = len(markdown)
    if size > settings.docs_max_bytes:
        return [
            PROVIDED.passed(),
            READABLE.failed(
                f"The page is too large to review: {size:,} bytes or more, over the limit of "
                f"{settings.docs_max_bytes:,} bytes. Nothing else was checked.",
                line=1,
                column=1,
                excerpt=(
                    markdown[:80] if isinstance(markdown, str) else bytes(markdown[:80]).decode("utf-8", "replace")
                ),
            ),
        ] + _unlinted("The page is too large to lint (see DOC-002).", CHECKS[2:], submission, path)
    if not isinstance(markdown, str):
        markdown, problem, line, column = decode(bytes(markdown), charset)
        if problem:
            problems.append(READABLE.failed(problem, line=line, column=column, excerpt=_line(markdown, line)))
    if not markdown.strip():
        return [
            PROVIDED.failed(
                "The Segment doc page is empty.", line=1, column=1, excerpt="", field="app.docs.segment_markdown"
            )
        ] + _unlinted("No doc page to lint.", CHECKS[1:], submission, path)
    document = parse(markdown, max_nesting=settings.docs_max_nesting)
    if document.nesting_line:
        problems.append(
            READABLE.failed(
                f"Lists or blockquotes are nested more than {settings.docs_max_nesting} levels deep at line "
                f"{document.nesting_line}; the deeper content was not read or checked.",
                line=document.nesting_line,
                column=1,
                excerpt=_line(markdown, document.nesting_line)[:80],
            )
        )
    context = PageContext(document, detect_kind(document, submission, path), submission, accepted_calls, settings)
    results = [PROVIDED.passed(), *(problems or [READABLE.passed()])]
    for check, rule in RULES:
        found = rule(context)
        results.extend(_listed(found, check, document, settings) if found else [check.passed()])
    return results


def _line(text: str, number: int) -> str:
    lines = text.split("\n", number)
    return lines[number - 1].strip() if 0 < number <= len(lines) else ""


def _listed(found: list[RuleOutput], check: Check, document: Document, settings: Settings) -> list[Result]:
    """Results for a rule's outcome: skips as they are, the first findings located, the rest
    summed up in one more finding (a page cannot flood the report)."""
    skipped = [r for r in found if isinstance(r, Result)]
    findings = [f for f in found if isinstance(f, Finding)]
    limit = settings.docs_max_findings_per_check
    results = skipped + [f.result(document) for f in findings[:limit]]
    if len(findings) > limit:
        rest = findings[limit]
        rest.message = f"{len(findings) - limit} more findings like these, from line {rest.line} on."
        results.append(rest.result(document, more=len(findings) - limit))
    return results
