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

The stage function gathers the facts once (the page read, decoded and parsed, its kind, what e2e
accepted, or why there is no page to lint) into a `Page` (tasks/docs/context.py) and hands it to
the check objects (`run_objects`): DOC-001 and DOC-002 below, the rules in rules.py, steps.py,
match.py and style.py, each judging the page in its own `findings`.

No Prefect here (the linter must stay fast); the @task wrapper lives in flows/.
"""

from __future__ import annotations

import codecs
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from partner_review.models.checks import Check, NotRun, Result, declare
from partner_review.models.settings import Settings, given_or_current
from partner_review.models.submission import Submission
from partner_review.tasks.docs import match as docs_match
from partner_review.tasks.docs import rules as docs_rules
from partner_review.tasks.docs import style as docs_style
from partner_review.tasks.docs.context import Kind, NotLinted, Page, Problem
from partner_review.tasks.docs.document import (
    HTML_URL,
    Document,
    github_slug,
    html_anchors,
    parse,
)
from partner_review.tasks.runner import Scope, offline_reason, run_objects


class Provided(Check[Page]):
    """DOC-001: there is a page (the stage function says why not in `Page.missing`)."""

    def run(self, subject: Page, ctx: object = None) -> Result:
        if subject.missing is not None:
            return self.failed(subject.missing, line=1, column=1, excerpt="", field="app.docs.segment_markdown")
        return self.passed(**(subject.not_linted.evidence if subject.not_linted is not None else {}))


PROVIDED = declare(
    Provided(
        "DOC-001",
        "A Segment doc page is provided",
        stage="docs",
        severity="blocker",
        remedy="Set `app.docs.segment_markdown` to the page's Markdown, or `app.docs.segment_markdown_url` "
        "to a URL serving the raw Markdown file.",
    )
)


class Readable(Check[Page]):
    """DOC-002: the page could be read whole: each problem found reading it (`Page.problems`) is a finding."""

    def run(self, subject: Page, ctx: object = None) -> Result | list[Result]:
        if subject.problems:
            return [self.failed(message, **evidence) for message, evidence in subject.problems]
        if subject.not_linted is not None:
            return subject.not_linted.result(self)
        return self.passed()


READABLE = declare(
    Readable(
        "DOC-002",
        "The doc page can be read: fetched, UTF-8, within size and nesting limits",
        stage="docs",
        severity="blocker",
        remedy="Serve the raw Markdown file (not an HTML page) over https with status 200, saved as UTF-8, "
        "within the size limit (128 KiB by default; real partner pages stay under 60 KiB), with lists and "
        "blockquotes nested at most a few levels deep.",
    )
)

# Every check of the stage, in the order of its results: DOC-001, DOC-002, then the rules by id.
CHECKS: list[Check[Page]] = [
    PROVIDED,
    READABLE,
    *sorted(docs_rules.CHECKS + docs_match.CHECKS + docs_style.CHECKS, key=lambda check: check.id),
]

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
    from partner_review.tasks import offload  # the pool's modules: not on the path of `lint`

    docs = submission.app.docs
    current = given_or_current(settings)
    if docs.segment_markdown is not None and docs.segment_markdown.strip():
        # Linting is CPU work (~0.5 s for a large page): in a worker process, off the loop where e2e
        # and the load test measure latency (a thread would still hold it: tasks/offload.py).
        return await offload.run_as(
            settings, lint, docs.segment_markdown, submission.without_sample_events(), accepted_calls=accepted_calls
        )
    url = docs.segment_markdown_url
    if not url:
        what = "is empty" if docs.segment_markdown is not None else "is missing"
        return judge(
            _unlinted(
                "No doc page to lint.",
                submission,
                None,
                current,
                missing=f"The Segment doc page {what}: set app.docs.segment_markdown or app.docs.segment_markdown_url.",
            )
        )
    if offline:
        # Data-dependent, so not the runner's call: only a doc page given as a URL needs the network.
        reason = offline_reason(f"fetches the doc page at {url}")
        return judge(_unlinted(reason, submission, None, current, because="offline", url=url))
    try:
        data, charset = await fetch_markdown(url, settings)
    except FetchFailed as error:
        problem: Problem = (str(error), {"line": 1, "column": 1, "excerpt": url, "url": url})
        return judge(
            _unlinted(
                "The doc page could not be fetched (see DOC-002).", submission, None, current, (problem,), url=url
            )
        )
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


def judge(page: Page) -> list[Result]:
    """Every check of the stage on `page`, in CHECKS order (tasks/runner.py: a check that raises is
    an `error` result; none of these needs the network or a component beyond the app)."""
    scope = Scope.of(page.submission) if page.submission is not None else Scope()
    return run_objects(CHECKS, page, None, scope)


def _unlinted(
    reason: str,
    submission: Submission | None,
    path: str | None,
    settings: Settings,
    problems: tuple[Problem, ...] = (),
    *,
    missing: str | None = None,
    because: NotRun = "not-verified",
    **evidence: Any,
) -> Page:
    """A page whose rules cannot run, for `reason` (each skipped with it and `evidence`): no page
    (`missing`), a page that could not be read (`problems`), or a page not fetched offline."""
    document = parse("", max_nesting=4)
    return Page(
        document,
        detect_kind(document, submission, path),
        submission,
        None,
        settings,
        missing=missing,
        problems=problems,
        not_linted=NotLinted(reason, because, evidence),
    )


def _lint(
    markdown: str | bytes,
    charset: str | None,
    submission: Submission | None,
    accepted_calls: set[str] | None,
    path: str | None,
) -> list[Result]:
    settings = given_or_current(None)  # in a worker process: the caller's (offload.run_as)
    problems: list[Problem] = []
    if isinstance(markdown, str):
        try:
            size = len(markdown.encode("utf-8"))
        except UnicodeEncodeError as error:  # lone surrogates from a JSON "\ud800" escape
            line = markdown.count("\n", 0, error.start) + 1
            problems.append(
                (
                    f"The page holds an invalid character (a lone UTF-16 surrogate) at line {line}; it was "
                    "read as \ufffd.",
                    {
                        "line": line,
                        "column": error.start - markdown.rfind("\n", 0, error.start),
                        "excerpt": markdown[max(0, error.start - 20) : error.start].strip(),
                    },
                )
            )
            markdown = markdown.encode("utf-8", "replace").decode("utf-8")
            size = len(markdown.encode("utf-8"))
    else:
        size = len(markdown)
    if size > settings.docs_max_bytes:
        too_large: Problem = (
            f"The page is too large to review: {size:,} bytes or more, over the limit of "
            f"{settings.docs_max_bytes:,} bytes. Nothing else was checked.",
            {
                "line": 1,
                "column": 1,
                "excerpt": (
                    markdown[:80] if isinstance(markdown, str) else bytes(markdown[:80]).decode("utf-8", "replace")
                ),
            },
        )
        return judge(
            _unlinted("The page is too large to lint (see DOC-002).", submission, path, settings, (too_large,))
        )
    if not isinstance(markdown, str):
        markdown, problem, line, column = decode(bytes(markdown), charset)
        if problem:
            problems.append((problem, {"line": line, "column": column, "excerpt": _line(markdown, line)}))
    if not markdown.strip():
        return judge(
            _unlinted("No doc page to lint.", submission, path, settings, missing="The Segment doc page is empty.")
        )
    document = parse(markdown, max_nesting=settings.docs_max_nesting)
    if document.nesting_line:
        problems.append(
            (
                f"Lists or blockquotes are nested more than {settings.docs_max_nesting} levels deep at line "
                f"{document.nesting_line}; the deeper content was not read or checked.",
                {"line": document.nesting_line, "column": 1, "excerpt": _line(markdown, document.nesting_line)[:80]},
            )
        )
    accepted = frozenset(accepted_calls) if accepted_calls is not None else None
    kind = detect_kind(document, submission, path)
    return judge(Page(document, kind, submission, accepted, settings, problems=tuple(problems)))


def _line(text: str, number: int) -> str:
    lines = text.split("\n", number)
    return lines[number - 1].strip() if 0 < number <= len(lines) else ""
