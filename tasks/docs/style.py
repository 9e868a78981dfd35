"""Style rules for partner doc pages (warnings): markdownlint's MD001, MD025, MD034, MD040,
MD042, plus Segment's own: no first-person prose, meaningful image alt text.

Prose is read line by line from the source (so columns are exact) with code spans, link
destinations, HTML tags and, for the first-person rule, quoted text blanked out. Code blocks,
HTML blocks and front matter are never prose; blockquotes are not prose for the first-person rule.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from pathlib import PurePosixPath

from partner_review.models.checks import declare
from partner_review.tasks.docs.context import Page, PageCheck, RuleOutput
from partner_review.tasks.docs.document import Document

BACKTICKS = re.compile(r"`+")
HTML_TAG = re.compile(r"<[^<>\n]*>")
LINK_DESTINATION = re.compile(r"\]\([^()\s]*(?:\([^()\s]*\)[^()\s]*)*(?:\s+\"[^\"\n]{0,300}\")?\)")
WHOLE_LINK = re.compile(r"!?\[[^\[\]\n]*\](?:\(\x01*\)|\[[^\[\]\n]*\])")  # destinations already blanked
QUOTED = re.compile(r"\"[^\"\n]*\"|“[^“”\n]*”|‘[^‘’\n]*’")
# "we", "our", "us", "let's" as words: not after a letter, digit, _, ', ’, /, . or - (nor before a
# letter, digit, _, / or -). The check on the character before is made after each word's first
# letter, (?<![\w'’/.-].), rather than before it: a pattern that opens with letters is searched for
# those letters only, one that opens with a lookbehind tries every position (twice the time).
_FIRST_PERSON = ("we", "We", "our", "Our", "ours", "Ours", "ourselves", "Ourselves", "us", "Us", "let['’]s", "Let['’]s")
FIRST_PERSON_WORD = re.compile(
    "(" + "|".join(word[0] + r"(?<![\w'’/.-].)" + word[1:] for word in _FIRST_PERSON) + r")(?![\w/-])"
)
URL_OR_EMAIL = re.compile(
    r"\bhttps?://[^\s<>()\[\]\"'`]+[^\s<>()\[\]\"'`.,;:!?]|\bwww\.[\w-]+\.[\w.-]*\w"
    r"|(?<![\w.+/-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"
)
BAD_ALT = {
    "",
    "image",
    "img",
    "screenshot",
    "screen shot",
    "picture",
    "pic",
    "photo",
    "alt",
    "alt text",
    "graphic",
    "placeholder",
    "untitled",
}
FILE_NAME = re.compile(
    r"^[^\s]*\.(png|jpe?g|gif|svg|webp|bmp|tiff?)$|^(screen ?shot|image|img|photo)[\s_-]*[\d\s_.:-]+"
    r"(at[\d\s_.:apm-]+)?$",
    re.I,
)
HTML_IMG = re.compile(r"<img\b[^<>]*>", re.I)
HTML_ALT = re.compile(r"""\balt\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.I)
HTML_SRC = re.compile(r"""\bsrc\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.I)


def _spaces(match: re.Match[str]) -> str:
    return " " * (match.end() - match.start())


def _blank_destination(match: re.Match[str]) -> str:
    return "](" + "\x01" * (match.end() - match.start() - 3) + ")"


def _mask(pattern: re.Pattern[str], text: str) -> str:
    return pattern.sub(_spaces, text)


def mask_code_spans(text: str) -> str:
    """The text with inline code blanked: a run of backticks opens a span that the next run of
    the same length closes (CommonMark). Linear in the number of runs, whatever the input."""
    runs = [(m.start(), m.end()) for m in BACKTICKS.finditer(text)]
    if len(runs) < 2:
        return text
    by_length: dict[int, list[int]] = {}
    for index, (start, end) in enumerate(runs):
        by_length.setdefault(end - start, []).append(index)
    pieces, position, index = [], 0, 0
    while index < len(runs):
        start, end = runs[index]
        same = by_length[end - start]
        following = bisect_right(same, index)
        if following == len(same):
            index += 1
            continue
        closing = same[following]
        pieces += [text[position:start], " " * (runs[closing][1] - start)]
        position, index = runs[closing][1], closing + 1
    return "".join(pieces) + text[position:] if pieces else text


def mask_links(text: str) -> str:
    """The text with every Markdown link and image (text and destination) blanked."""
    return _mask(WHOLE_LINK, text) if "[" in text else text


def prose_lines(document: Document, *, quotes: bool) -> list[tuple[int, str]]:
    """(line number, text) for every line of paragraphs, headings, list items and table cells;
    code spans, link destinations and HTML tags blanked. Blockquotes only when `quotes`."""
    key = "prose+quotes" if quotes else "prose"
    if key not in document.cache:
        _read_prose(document)
    cached = document.cache[key]
    assert isinstance(cached, list)
    return cached


def _read_prose(document: Document) -> None:
    """Both views of `prose_lines` in one walk, each line masked once (it reads the same in both)."""
    masked: dict[int, str] = {}
    everything: list[tuple[int, str]] = []  # with blockquotes
    outside: list[tuple[int, str]] = []  # without
    seen_everything: set[int] = set()
    seen_outside: set[int] = set()
    for block, in_quote in document.inline_blocks():
        if not block.map:
            continue
        for number in range(block.map[0] + 1, block.map[1] + 1):
            new_everywhere = number not in seen_everything
            new_outside = not in_quote and number not in seen_outside
            if not (new_everywhere or new_outside):
                continue
            text = masked.get(number)
            if text is None:
                text = masked[number] = _masked(document.line_text(number))
            if new_everywhere:
                seen_everything.add(number)
                if text:
                    everything.append((number, text))
            if new_outside:
                seen_outside.add(number)
                if text:
                    outside.append((number, text))
    document.cache["prose+quotes"] = everything
    document.cache["prose"] = outside


def _masked(text: str) -> str:
    """A line of prose with code spans, link destinations and HTML tags blanked ("" when blank)."""
    if "`" in text:
        text = mask_code_spans(text)
    if "](" in text:
        text = LINK_DESTINATION.sub(_blank_destination, text)
    if "<" in text:
        text = _mask(HTML_TAG, text)
    return text if text.strip() else ""


class HeadingIncrement(PageCheck):
    """DOC-014 (MD001): heading levels go down one at a time."""

    def findings(self, page: Page) -> list[RuleOutput]:
        previous = 1 if page.document.front_matter.get("title") else None
        results: list[RuleOutput] = []
        for heading in page.document.headings:
            if previous is not None and heading.level > previous + 1:
                results.append(
                    page.finding(
                        self,
                        f"Heading level jumps from H{previous} to H{heading.level}.",
                        heading.line,
                        excerpt=f"{'#' * heading.level} {heading.text}",
                    )
                )
            previous = heading.level
        return results


HEADING_INCREMENT = declare(
    HeadingIncrement(
        "DOC-014",
        "Heading levels increase by one (MD001)",
        stage="docs",
        severity="warning",
        remedy="Go down one level at a time: a `##` section holds `###` subsections, not `####`.",
    )
)


class SingleTitle(PageCheck):
    """DOC-015 (MD025): one title per page (the front matter title counts)."""

    def findings(self, page: Page) -> list[RuleOutput]:
        titles = [h for h in page.document.headings if h.level == 1]
        has_front_title = bool(page.document.front_matter.get("title"))
        extra = titles if has_front_title else titles[1:]
        why = "the front matter title is already the page title" if has_front_title else "the page already has a title"
        return [page.finding(self, f"A second title (H1): {why}.", h.line, excerpt=f"# {h.text}") for h in extra]


SINGLE_TITLE = declare(
    SingleTitle(
        "DOC-015",
        "One title per page (MD025)",
        stage="docs",
        severity="warning",
        remedy="The front matter `title` is the page title; use `##` and deeper for sections, never `#`.",
    )
)


class FirstPerson(PageCheck):
    """DOC-016: no we, our or us in prose (quotes, code and blockquotes aside)."""

    def findings(self, page: Page) -> list[RuleOutput]:
        results: list[RuleOutput] = []
        prose = prose_lines(page.document, quotes=False)
        # One search of the whole prose first: most pages have no first-person word, and a word
        # never spans lines (a newline is neither before nor after one).
        if not FIRST_PERSON_WORD.search("\n".join(text for _, text in prose)):
            return results
        for number, text in prose:
            if not FIRST_PERSON_WORD.search(text):
                continue
            text = _mask(QUOTED, text)
            for match in FIRST_PERSON_WORD.finditer(text):
                results.append(
                    page.finding(
                        self,
                        f'First-person word "{match.group(0)}".',
                        number,
                        match.start() + 1,
                        page.document.line_text(number)[max(0, match.start() - 30) : match.end() + 30],
                    )
                )
        return results


FIRST_PERSON = declare(
    FirstPerson(
        "DOC-016",
        "No first-person prose",
        stage="docs",
        severity="warning",
        remedy='Write about your company by name ("Acme stores ...", "contact the Acme Support team"), '
        'not "we", "our" or "us": readers cannot tell whether Segment or the partner is speaking.',
    )
)


def _bad_alt(alt: str, src: str) -> str | None:
    plain = alt.strip().strip(".").lower()
    if plain in BAD_ALT:
        return f'alt text "{alt}" says nothing' if alt.strip() else "no alt text"
    stem = PurePosixPath(src.split("?")[0]).stem.lower()
    if FILE_NAME.match(alt.strip()) or (stem and plain == stem):
        return f'alt text "{alt}" is a file name'
    return None


class ImageAlt(PageCheck):
    """DOC-017: Markdown and HTML images have alt text that says what they show."""

    def findings(self, page: Page) -> list[RuleOutput]:
        document = page.document
        results: list[RuleOutput] = []
        for block, _ in document.inline_blocks():
            for child in block.children or ():
                if child.type == "image":
                    src, alt = str(child.attrs.get("src", "")), child.content
                    problem = _bad_alt(alt, src)
                    if problem:
                        results.append(
                            page.finding_near(
                                self, f"Image {src}: {problem}.", f"![{alt}]", block.map, f"![{alt}]({src})"
                            )
                        )
        for token in document.tokens:
            html = (
                [token]
                if token.type == "html_block"
                else [c for c in (token.children or ()) if c.type == "html_inline"]
                if token.type == "inline"
                else []
            )
            for piece in html:
                for tag in HTML_IMG.finditer(piece.content):
                    alt_match, src_match = HTML_ALT.search(tag.group(0)), HTML_SRC.search(tag.group(0))
                    alt = (alt_match.group(1) or alt_match.group(2) or "") if alt_match else ""
                    src = (src_match.group(1) or src_match.group(2) or "") if src_match else ""
                    problem = _bad_alt(alt, src)
                    if problem:
                        results.append(
                            page.finding_near(
                                self, f"Image {src}: {problem}.", tag.group(0)[:60], token.map, tag.group(0)
                            )
                        )
        return results


IMAGE_ALT = declare(
    ImageAlt(
        "DOC-017",
        "Images have meaningful alt text",
        stage="docs",
        severity="warning",
        remedy="Describe what the image shows, e.g. `![The Acme API Keys page with the key highlighted](keys.png)`; "
        'not empty, "image", "screenshot" or a file name.',
    )
)


class BareUrl(PageCheck):
    """DOC-018 (MD034): URLs and email addresses in prose are links."""

    def findings(self, page: Page) -> list[RuleOutput]:
        results: list[RuleOutput] = []
        for number, text in prose_lines(page.document, quotes=True):
            if "http" not in text and "www." not in text and "@" not in text:
                continue
            for match in URL_OR_EMAIL.finditer(mask_links(text)):
                results.append(
                    page.finding(
                        self,
                        f"Bare {'email address' if '@' in match.group(0) and '://' not in match.group(0) else 'URL'} "
                        f"{match.group(0)}.",
                        number,
                        match.start() + 1,
                        match.group(0),
                    )
                )
        return results


BARE_URL = declare(
    BareUrl(
        "DOC-018",
        "No bare URLs (MD034)",
        stage="docs",
        severity="warning",
        remedy="Make every URL or email address a link: `[Acme dashboard](https://app.acme.example)` or "
        "`<https://app.acme.example>`.",
    )
)


class CodeLanguage(PageCheck):
    """DOC-019 (MD040): fenced code blocks name their language."""

    def findings(self, page: Page) -> list[RuleOutput]:
        return [
            page.finding(
                self,
                "Fenced code block without a language.",
                token.map[0] + 1,
                excerpt=page.document.line_text(token.map[0] + 1),
            )
            for token in page.document.tokens
            if token.type == "fence" and not token.info.strip() and token.map
        ]


CODE_LANGUAGE = declare(
    CodeLanguage(
        "DOC-019",
        "Fenced code blocks name their language (MD040)",
        stage="docs",
        severity="warning",
        remedy="Name the language after the opening fence: ```` ```js ````, ```` ```json ````, ```` ```bash ````.",
    )
)


class EmptyLink(PageCheck):
    """DOC-020 (MD042): links have text and a destination."""

    def findings(self, page: Page) -> list[RuleOutput]:
        document = page.document
        results: list[RuleOutput] = []
        for block, _ in document.inline_blocks():
            children = block.children or []
            for position, child in enumerate(children):
                if child.type != "link_open":
                    continue
                href = str(child.attrs.get("href", ""))
                empty_text = position + 1 < len(children) and children[position + 1].type == "link_close"
                if href in ("", "#"):
                    problem, needle = f"Link with an empty destination `({href})`.", f"]({href})"
                elif empty_text:
                    problem, needle = f"Link to {href} with no text.", "[]("
                else:
                    continue
                results.append(page.finding_near(self, problem, needle, block.map, around=True))
        return results


EMPTY_LINK = declare(
    EmptyLink(
        "DOC-020",
        "No empty links (MD042)",
        stage="docs",
        severity="warning",
        remedy="Give every link text and a destination: `[Acme API reference](https://docs.acme.example/api)`.",
    )
)


CHECKS: tuple[PageCheck, ...] = (
    HEADING_INCREMENT,
    SINGLE_TITLE,
    FIRST_PERSON,
    IMAGE_ALT,
    BARE_URL,
    CODE_LANGUAGE,
    EMPTY_LINK,
)
