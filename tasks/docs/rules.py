"""Template rules: what every partner doc page must contain, per kind of component (blockers).

The templates are Segment's partner templates (REVIEW_RULES §3):

- direct destination: front matter title; intro with the UTM link; "maintained by" line;
  `## Getting started` (numbered steps, where the API key is); `## Supported methods` with a
  subsection and a code sample per supported call;
- actions destination: the same head, `## Getting started`, then the generated-fields include
  `{% include components/actions-fields.html %}`;
- source: the same head, `## Getting started` (where the write key goes), `## Events` (a table),
  `## Event Properties` (a table), `## Adding Destinations` (the template's `## Stream` section is
  optional: REVIEW_RULES §3).

DOC-007 (Getting started) lives in `tasks.docs.steps`.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from markdown_it.token import Token

from partner_review.models.checks import Result, declare
from partner_review.models.settings import given_or_current
from partner_review.tasks.docs.context import CALLS, KIND_NAMES, Finding, Kind, Page, PageCheck, RuleOutput
from partner_review.tasks.docs.document import Document, Heading, normalize
from partner_review.tasks.docs.steps import GETTING_STARTED, GETTING_STARTED_STEPS

ACTIONS_INCLUDE = "components/actions-fields.html"
TEMPLATES: dict[Kind, list[tuple[str, tuple[str, ...]]]] = {
    "destination": [("Getting started", GETTING_STARTED), ("Supported methods", ("supported methods",))],
    "actions-destination": [("Getting started", GETTING_STARTED)],
    "source": [
        ("Getting started", GETTING_STARTED),
        ("Events", ("events",)),
        ("Event Properties", ("event properties",)),
        ("Adding Destinations", ("adding destinations", "add destinations")),
    ],
}
CALL_HEADING = re.compile(rf"^({'|'.join(CALLS)})(?: (?:calls?|methods?|events?))?$")


# Shared readings of the page ------------------------------------------------------------------


def documented_calls(document: Document) -> dict[str, Heading]:
    """Call types the page documents: headings such as `### Track` or `## Identify calls`."""
    calls: dict[str, Heading] = {}
    for heading in document.headings:
        if heading.level >= 2:
            match = CALL_HEADING.match(normalize(heading.text))
            if match and match.group(1) not in calls:
                calls[match.group(1)] = heading
    return calls


def link_position(document: Document, href: str, block: Token) -> tuple[int, int]:
    """Where a link's destination is written inside its block (markdown-it gives blocks lines only)."""
    assert block.map is not None  # inline blocks always carry their lines
    first, last = block.map[0] + 1, block.map[1]
    host = urlsplit(href).netloc if "://" in href else ""
    for needle in (href, host, href[:40]):
        if needle:
            line, column = document.locate(needle, first, last)
            if document.line_text(line).find(needle) == column - 1:
                return line, column
    return first, 1


def _intro_end(document: Document) -> int:
    for heading in document.headings:
        if heading.level >= 2:
            return heading.index
    return len(document.tokens)


def _first_content_line(document: Document) -> int:
    """The first line Markdown made a block of (front matter and Liquid-only lines are not)."""
    for token in document.tokens:
        if token.map:
            return token.map[0] + 1
    return 1


def content_line(document: Document, line: int) -> int:
    """`line`, or the last non-blank line before it when it is blank or past the end."""
    line = min(line, len(document.lines))
    while line > 1 and not document.line_text(line).strip():
        line -= 1
    return max(line, 1)


def _same_site(host: str, website: str) -> bool:
    host, site = host.lower().removeprefix("www."), urlsplit(website).netloc.lower().removeprefix("www.")
    return not site or host == site or host.endswith("." + site) or site.endswith("." + host)


# Rules ----------------------------------------------------------------------------------------


class Title(PageCheck):
    """DOC-003: the front matter names the page title."""

    def findings(self, page: Page) -> list[RuleOutput]:
        document = page.document
        if document.front_matter_lines is None:
            return [page.finding(self, "The page has no front matter, so it has no title.", 1)]
        if not document.front_matter.get("title", "").strip():
            return [
                page.finding(self, "The front matter has no `title:`.", document.front_matter_lines[0], excerpt="---")
            ]
        return []


TITLE = declare(
    Title(
        "DOC-003",
        "Front matter declares the page title",
        stage="docs",
        severity="blocker",
        remedy="Start the page with front matter: `---`, `title: Acme Analytics Destination`, `---`.",
    )
)


class IntroLink(PageCheck):
    """DOC-004: the intro links the partner's website with the UTM string unchanged."""

    def findings(self, page: Page) -> list[RuleOutput]:
        utm = given_or_current(page.settings).utm_query
        links = [
            (href, block)
            for href, _, block in page.document.links(0, _intro_end(page.document))
            if href.startswith(("http://", "https://"))
        ]
        website = page.submission.app.website if page.submission and page.submission.app.website else ""
        with_utm = [(href, block) for href, block in links if utm in urlsplit(href).query]
        for href, _block in with_utm:
            if _same_site(urlsplit(href).netloc, website):
                return []
        if with_utm:
            href, block = with_utm[0]
            line, column = link_position(page.document, href, block)
            return [
                page.finding(
                    self,
                    f"The intro's UTM link points to {urlsplit(href).netloc}, not the partner's "
                    f"website {urlsplit(website).netloc}.",
                    line,
                    column,
                    href,
                )
            ]
        altered = [(href, block) for href, block in links if "utm_" in urlsplit(href).query]
        if altered:
            href, block = altered[0]
            line, column = link_position(page.document, href, block)
            return [
                page.finding(
                    self,
                    f"The intro link's UTM string was changed; it must read `?{utm}` exactly.",
                    line,
                    column,
                    href,
                )
            ]
        if links:
            href, block = links[0]
            line, column = link_position(page.document, href, block)
            return [
                page.finding(
                    self,
                    f"The intro link to {urlsplit(href).netloc} lacks the UTM string `?{utm}`.",
                    line,
                    column,
                    href,
                )
            ]
        line = _first_content_line(page.document)
        return [page.finding(self, "The intro has no link to the partner's website.", line)]


INTRO_LINK = declare(
    IntroLink(
        "DOC-004",
        "Intro links to the partner's website with the UTM string unchanged",
        stage="docs",
        severity="blocker",
        remedy="Open with one or two sentences linking your website, e.g. "
        "`[Acme](https://acme.example/?utm_source=segmentio&utm_medium=docs&utm_campaign=partners)`; "
        "keep the UTM string exactly as given.",
    )
)


class MaintainedBy(PageCheck):
    """DOC-005: a "maintained by" line with a support contact link."""

    def findings(self, page: Page) -> list[RuleOutput]:
        for block, quoted in page.document.inline_blocks():
            if quoted or "maintained by" not in block.content.lower():
                continue
            contacts = [str(child.attrs.get("href", "")) for child in block.children or () if child.type == "link_open"]
            if any(href.startswith(("mailto:", "http://", "https://")) for href in contacts):
                return []
            assert block.map is not None
            line, column = page.document.locate("maintained by", block.map[0] + 1, block.map[1])
            return [
                page.finding(
                    self,
                    'The "maintained by" line has no support contact link (mailto: or support URL).',
                    line,
                    column,
                )
            ]
        line = min(page.document.first_heading_line(), len(page.document.lines)) or 1
        word = "source" if page.kind == "source" else "destination"
        return [page.finding(self, f'No "This {word} is maintained by ..." line with a support contact.', line)]


MAINTAINED_BY = declare(
    MaintainedBy(
        "DOC-005",
        'A "maintained by" line names a support contact',
        stage="docs",
        severity="blocker",
        remedy='Add: "This destination is maintained by Acme. For any issues with the destination, '
        '[contact the Acme Support team](mailto:support@acme.example)." (a mailto: or support URL link).',
    )
)


def _top_level_calls(document: Document) -> bool:
    return any(heading.level == 2 for heading in documented_calls(document).values())


class Sections(PageCheck):
    """DOC-006: the template's sections for the page's kind, in its order."""

    def findings(self, page: Page) -> list[RuleOutput]:
        document = page.document
        template = TEMPLATES[page.kind]
        names = ", ".join(name for name, _ in template)
        kind = ("an " if page.kind == "actions-destination" else "a ") + KIND_NAMES[page.kind]
        if not document.headings:
            html_only = all(t.type == "html_block" for t in document.tokens) and document.tokens
            why = "The page is raw HTML with no Markdown headings" if html_only else "The page has no headings at all"
            return [
                page.finding(self, f"{why}; {kind} page needs the sections: {names}.", _first_content_line(document))
            ]
        found = [(name, document.find_section(*aliases)) for name, aliases in template]
        results: list[RuleOutput] = []
        for position, (name, section) in enumerate(found):
            if section is None:  # reported where it belongs: after the previous required section
                earlier = [s.end_line for _, s in found[:position] if s is not None]
                later = [s.heading.line for _, s in found[position + 1 :] if s is not None]
                where = earlier[-1] if earlier else later[0] if later else document.first_heading_line()
                line = content_line(document, where)
                message = f"Missing section `## {name}` ({kind} page has: {names}, in this order)."
                if name == "Supported methods" and _top_level_calls(document):
                    message += (
                        " The page has its call sections at the top level (`## Identify`, ...), as pages older than "
                        "the template do; put them as `###` subsections under `## Supported methods`."
                    )
                results.append(page.finding(self, message, line))
        present = [(name, s) for name, s in found if s is not None]
        for (before_name, before), (name, section) in zip(present, present[1:]):
            if section.heading.line < before.heading.line:
                results.append(
                    page.finding(
                        self,
                        f"`## {name}` comes before `## {before_name}`; the template order is {names}.",
                        section.heading.line,
                        excerpt=f"{'#' * section.heading.level} {section.heading.text}",
                    )
                )
        if page.kind == "actions-destination" and ACTIONS_INCLUDE not in document.includes:
            results.append(
                page.finding(
                    self,
                    "An actions destination page shows its settings and mappings with "
                    f"`{{% include {ACTIONS_INCLUDE} %}}` after Getting started; it is missing.",
                    content_line(document, found[0][1].end_line if found[0][1] else len(document.lines)),
                )
            )
        return results


SECTIONS = declare(
    Sections(
        "DOC-006",
        "Required sections are present, in the template's order",
        stage="docs",
        severity="blocker",
        remedy="Use the template's `##` sections in its order: direct destination: Getting started, "
        "Supported methods; actions destination: Getting started and the generated-fields include; "
        "source: Getting started, Events, Event Properties, Adding Destinations.",
    )
)


class CallSamples(PageCheck):
    """DOC-008: a direct destination page has a subsection with a code sample per call."""

    def findings(self, page: Page) -> list[RuleOutput]:
        if page.kind != "destination":
            return [self.not_applicable(f"Not a direct destination page ({KIND_NAMES[page.kind]}).")]
        document = page.document
        calls = documented_calls(document)
        if not calls:
            methods = document.find_section("supported methods")
            line = methods.heading.line if methods else document.first_heading_line()
            return [
                page.finding(
                    self,
                    "No subsection per supported call (### Identify, ### Track, ...).",
                    min(line, len(document.lines)) or 1,
                )
            ]
        results: list[RuleOutput] = []
        for call, heading in calls.items():
            section = document.section_of(heading)
            if not any(t.type in ("fence", "code_block") for t in document.tokens[section.start : section.end]):
                results.append(
                    page.finding(
                        self,
                        f"The {call.capitalize()} subsection has no code sample.",
                        heading.line,
                        excerpt=f"{'#' * heading.level} {heading.text}",
                    )
                )
        return results


CALL_SAMPLES = declare(
    CallSamples(
        "DOC-008",
        "Each supported call has a subsection with a code sample",
        stage="docs",
        severity="blocker",
        remedy="Under `## Supported methods`, add one `###` subsection per supported call (Page, Screen, "
        "Identify, Track, Group, Alias) with a fenced code sample and where the data appears in your tool.",
    )
)


class SourceTables(PageCheck):
    """DOC-009: a source page lists its events and properties as tables. It does not apply to
    another kind of page, linted or not (but for a page not fetched offline: that skip says offline)."""

    def run(self, subject: Page, ctx: object = None) -> list[Result]:
        offline = subject.not_linted is not None and subject.not_linted.because == "offline"
        if subject.kind != "source" and not offline:
            return [self.not_applicable(f"Not a source page ({KIND_NAMES[subject.kind]}).")]
        return super().run(subject, ctx)

    def findings(self, page: Page) -> list[RuleOutput]:
        document = page.document
        results: list[RuleOutput] = []
        for name in ("Events", "Event Properties"):
            section = document.find_section(name)
            if section is None:
                continue  # DOC-006 reports the missing section
            tokens = document.tokens[section.start : section.end]
            if not any(
                t.type == "table_open" or (t.type == "html_block" and "<table" in t.content.lower()) for t in tokens
            ):
                heading = section.heading
                results.append(
                    page.finding(
                        self,
                        f"`{name}` lists no table.",
                        heading.line,
                        excerpt=f"{'#' * heading.level} {heading.text}",
                    )
                )
        return results


SOURCE_TABLES = declare(
    SourceTables(
        "DOC-009",
        "Source Events and Event Properties are tables",
        stage="docs",
        severity="blocker",
        remedy="List events under `## Events` and properties under `## Event Properties` as tables "
        "(columns: name, description).",
    )
)


PLACEHOLDER = re.compile(
    r"your_?integration(?:_?name)?"
    r"|(?-i:\*?\bADD WHAT\b[^*\n]{0,60}\*?)"
    r"|[<\[](?:your[ _-]?)?(?:integration|destination|desintation|source|company|partner|app|tool)[ _-]name[>\]]"
    r"|include a 1-2 sentence introduction|please leave the utm string unchanged|update your company name"
    r"|include clear, succinct steps|for each of the following call types|for each of the below sections"
    r"|finished the documentation for your segment integration|template begins here|hi partners"
    r"|\bmain point [12]\b|one or two sentences that back up the main point"
    r"|include a brief description of the destination|this template is meant for actions-based destinations"
    r"|\(delete after reading\)|documentation template\b|describe steps to filling in"
    r"|the line below renders a table of connection settings|the section below explains how to enable"
    r"|in the section (?:below|above), (?:add|edit|explain)|if applicable, add information regarding the migration"
    r"|clarify the type of segment events|clarify how your integration includes"
    r"|include additional information that you think will be useful"
    r"|code snippet with relevant code sample|what the corresponding call looks like within your platform",
    re.I,
)
# An HTML comment that tells the author what to write: a template instruction the page kept.
COMMENT = re.compile(r"<!--(.*?)(?:-->|$)", re.S)
COMMENT_INSTRUCTION = re.compile(
    r"^[\s>*-]*(?:\(delete after reading\)\s*)?(?:(?:todo|fixme|tbd)\b|(?:include|add|update|describe|replace|"
    r"fill in|insert|edit|explain|clarify|populate|remove|delete|write|provide|list|enter)\s)",
    re.I,
)


PLACEHOLDER_HINTS = (
    "yourintegration",
    "your_integration",
    "add what",
    "name>",
    "name]",
    "1-2 sentence",
    "utm string",
    "company name",
    "succinct steps",
    "for each of the",
    "finished the documentation",
    "template begins",
    "hi partners",
    "main point",
    "brief description",
    "template is meant",
    "delete after reading",
    "documentation template",
    "describe steps",
    "the line below",
    "the section below",
    "in the section",
    "if applicable",
    "clarify",
    "include additional",
    "code snippet",
    "corresponding call",
    "<!--",
)


class Placeholders(PageCheck):
    """DOC-010: no template placeholder or instruction left (phrases, and instructions in HTML comments)."""

    def findings(self, page: Page) -> list[RuleOutput]:
        lowered = page.document.source.lower()
        if not any(hint in lowered for hint in PLACEHOLDER_HINTS):
            return []
        results: list[RuleOutput] = []
        flagged: set[int] = set()
        lines = page.document.lines
        for number in _placeholder_lines(page.document.source, lowered, lines):
            line = lines[number - 1]
            for match in PLACEHOLDER.finditer(line):
                text = match.group(0)
                what = "placeholder" if text[0] in "<[" or text.lower().startswith("your") else "instruction"
                flagged.add(number)
                results.append(
                    page.finding(
                        self,
                        f'Template {what} left in the page: "{text.strip()}".',
                        number,
                        match.start() + 1,
                        line[match.start() : match.start() + 80],
                    )
                )
        if "<!--" in lowered:
            results.extend(_comment_instructions(page, flagged))
        results.sort(key=lambda f: (f.line, f.column) if isinstance(f, Finding) else (0, 0))
        return results


PLACEHOLDERS = declare(
    Placeholders(
        "DOC-010",
        "No template placeholders or instructions are left",
        stage="docs",
        severity="blocker",
        remedy="Replace every template placeholder (YOURINTEGRATION, <integration_name>, *ADD WHAT ...*) "
        "with real content and delete the template's instruction quotes and comments.",
    )
)


PHRASE_HINTS = tuple(hint for hint in PLACEHOLDER_HINTS if hint != "<!--")  # a PLACEHOLDER match holds one


def _placeholder_lines(source: str, lowered: str, lines: list[str]) -> list[int]:
    """The numbers of the lines PLACEHOLDER can match on: those whose lowercase holds a phrase hint,
    and any line with a non-ASCII character (`re.I` folds a few of those, such as the dotless ı, onto
    ASCII letters; `str.lower` does not). Running the regex on every line of a page cost more than
    all the other rules but two."""
    if len(lowered) != len(source):  # lowercasing changed the length (İ): offsets do not map, read every line
        return list(range(1, len(lines) + 1))
    numbers: set[int] = set()
    for hint in PHRASE_HINTS:
        at = lowered.find(hint)
        while at >= 0:
            numbers.add(lowered.count("\n", 0, at) + 1)
            at = lowered.find(hint, at + 1)
    if not source.isascii():
        numbers.update(number for number, line in enumerate(lines, 1) if not line.isascii())
    return sorted(numbers)


def _comment_instructions(page: Page, flagged: set[int]) -> list[RuleOutput]:
    """Instructions to the author left in HTML comments (outside code), not already flagged by phrase."""
    document = page.document
    found: list[RuleOutput] = []
    for token in document.tokens:
        pieces = (
            [(token.content, token.map)]
            if token.type == "html_block"
            else [(c.content, token.map) for c in token.children or () if c.type == "html_inline"]
            if token.type == "inline"
            else []
        )
        for content, block_map in pieces:
            if "<!--" not in content or not block_map:
                continue
            for match in COMMENT.finditer(content):
                line = block_map[0] + 1 + content.count("\n", 0, match.start())
                lines = range(line, line + match.group(0).count("\n") + 1)
                if COMMENT_INSTRUCTION.match(match.group(1)) and not flagged.intersection(lines):
                    text = " ".join(match.group(1).split())
                    found.append(
                        page.finding(
                            PLACEHOLDERS,
                            f'Template instruction left in an HTML comment: "<!-- {text[:60]}'
                            f'{"…" if len(text) > 60 else ""} -->".',
                            line,
                            document.line_text(line).find("<!--") + 1 or 1,
                            document.line_text(line).strip()[:80],
                        )
                    )
    return found


CHECKS: tuple[PageCheck, ...] = (
    TITLE,
    INTRO_LINK,
    MAINTAINED_BY,
    SECTIONS,
    GETTING_STARTED_STEPS,
    CALL_SAMPLES,
    SOURCE_TABLES,
    PLACEHOLDERS,
)
