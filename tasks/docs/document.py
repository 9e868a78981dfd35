"""A partner doc page parsed for linting: decoded text, front matter, tokens, headings, sections.

Segment's pages are Jekyll/kramdown Markdown. Before markdown-it-py (CommonMark + tables) sees
the text, the parts kramdown and Liquid own are blanked with spaces, so every line and column
still points into the partner's original file:

- the front matter block (`---` ... `---`) is read into `front_matter` (top-level `key: value`
  scalars only; that is all the linter needs);
- kramdown attribute lists (`{:target="_blank"}`, `{: .class}`) and heading ids (`{#id}`);
- Liquid tags `{% ... %}` and outputs `{{ ... }}` (the include names are kept in `includes`);
  `{% comment %}` blocks are blanked whole; `{% highlight lang %}` blocks become fences.

Parsing is bounded: the caller caps the size, and markdown-it's `maxNesting` caps list and
blockquote depth (`nesting_line` says where the cap cut the page short).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_core.state_core import StateCore
from markdown_it.token import Token

LIQUID_TAG = re.compile(r"\{%-?\s*(\w+)([^%]*?)-?%\}")
LIQUID_OUTPUT = re.compile(r"\{\{[^{}\n]*\}\}")
KRAMDOWN_IAL = re.compile(r"\{:[^{}\n]*\}")
HEADING_ID = re.compile(r"\{#([A-Za-z][\w:.-]*)\}\s*$")
INCLUDE_NAME = re.compile(r"include\s+([\w./-]+)")
HTML_ANCHOR = re.compile(r"""<[a-zA-Z][^<>]{0,500}?\b(?:id|name)\s*=\s*["']([^"'<>]+)["']""")
HTML_URL = re.compile(
    r"""<(?:a|img|iframe|source|video)\b[^<>]{0,1000}?\b(?:href|src)\s*=\s*["']([^"'<>]+)["']""", re.I
)


class _Parser(MarkdownIt):
    def normalizeLink(self, url: str) -> str:
        """Destinations as written (no percent-encoding): they are located in the source and
        handed to the link checker, and encoding every URL costs a third of the inline parse."""
        return url.strip()


def _read_inlines(state: StateCore) -> None:
    """markdown-it's `inline` core rule for the inline blocks whose children the linter reads:
    headings (their text), and blocks that can hold a link, an image or inline HTML (a `[` or a
    `<`). The others (most paragraphs, list items and table cells) keep no children: nothing reads
    them, and parsing them was a third of the lint of a page. A rule that reads other children
    (emphasis, say, or the text of a plain paragraph) must widen this test."""
    tokens = state.tokens
    md, env = state.md, state.env
    for index, token in enumerate(tokens):
        if token.type == "inline":
            if token.children is None:
                token.children = []
            content = token.content
            if "[" in content or "<" in content or tokens[index - 1].type == "heading_open":
                md.inline.parse(content, md, env, token.children)


class _WithoutDebug:
    """A module logger of markdown-it's block rules that drops DEBUG records: every rule logs each
    attempt ("entering list: ..."), 120,000 calls for the 334 pages of the corpus, a sixth of the
    parse, and the linter never shows them. Any other level goes to the module's logger."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger

    def debug(self, *args: object, **kwargs: object) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._logger, name)


def _without_debug_logs() -> None:
    for name, module in list(sys.modules.items()):
        logger = getattr(module, "LOGGER", None)
        if name.startswith("markdown_it.rules_block.") and isinstance(logger, logging.Logger):
            module.LOGGER = _WithoutDebug(logger)  # type: ignore[attr-defined]


@lru_cache(maxsize=4)
def parser(max_nesting: int) -> MarkdownIt:
    """CommonMark with GFM tables, HTML allowed, nesting capped; inline blocks parsed only where
    they are read (`_read_inlines`)."""
    md = _Parser("commonmark", {"maxNesting": max_nesting}).enable("table")
    md.core.ruler.at("inline", _read_inlines)
    _without_debug_logs()
    return md


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    line: int  # 1-based
    anchor: str  # kramdown-style id (explicit `{#id}` when given)
    index: int  # position in Document.tokens


@dataclass(frozen=True)
class Section:
    """A heading and the tokens up to the next heading of the same or a higher level."""

    heading: Heading
    start: int  # token index after the heading
    end: int  # token index of the next heading at <= level (or len(tokens))
    end_line: int  # 1-based line of that next heading (or last line + 1)


@dataclass
class Document:
    source: str
    lines: list[str]
    tokens: list[Token]
    front_matter: dict[str, str]
    front_matter_lines: tuple[int, int] | None  # 1-based first and last line
    includes: list[str]
    headings: list[Heading]
    max_nesting: int
    nesting_line: int | None = None  # where the nesting cap cut the page short
    _sections: dict[int, Section] = field(default_factory=dict, repr=False)
    cache: dict[str, object] = field(default_factory=dict, repr=False)  # derived views, built once

    # Sections ---------------------------------------------------------------------------------

    def section_of(self, heading: Heading) -> Section:
        if heading.index not in self._sections:
            end, end_line = len(self.tokens), len(self.lines) + 1
            for other in self.headings:
                if other.index > heading.index and other.level <= heading.level:
                    end, end_line = other.index, other.line
                    break
            self._sections[heading.index] = Section(heading, heading.index + 3, end, end_line)
        return self._sections[heading.index]

    def find_section(self, *names: str) -> Section | None:
        """The first section whose heading reads as one of `names`; a name of several words may
        also open or close the heading ("Acme Event Properties")."""
        wanted = [normalize(n) for n in names]
        for heading in self.headings:
            text = normalize(heading.text)
            for name in wanted:
                if text == name or (" " in name and (text.startswith(name + " ") or text.endswith(" " + name))):
                    return self.section_of(heading)
        return None

    def section_text(self, section: Section) -> str:
        return "\n".join(self.lines[section.heading.line : section.end_line - 1])

    def first_heading_line(self, min_level: int = 2) -> int:
        for heading in self.headings:
            if heading.level >= min_level:
                return heading.line
        return len(self.lines) + 1

    # Positions --------------------------------------------------------------------------------

    def locate(self, needle: str, first: int, last: int) -> tuple[int, int]:
        """1-based (line, column) of `needle` within lines first..last, else (first, 1)."""
        if needle:
            for number in range(max(first, 1), min(last, len(self.lines)) + 1):
                column = self.lines[number - 1].find(needle)
                if column >= 0:
                    return number, column + 1
        return max(first, 1), 1

    def line_text(self, number: int) -> str:
        return self.lines[number - 1] if 1 <= number <= len(self.lines) else ""

    # Token walks ------------------------------------------------------------------------------

    def inline_blocks(self, start: int = 0, end: int | None = None) -> Iterator[tuple[Token, bool]]:
        """Every inline token in [start, end) with whether it sits inside a blockquote."""
        depth = 0
        for token in self.tokens[start:end]:
            if token.type == "blockquote_open":
                depth += 1
            elif token.type == "blockquote_close":
                depth -= 1
            elif token.type == "inline":
                yield token, depth > 0

    def links(self, start: int = 0, end: int | None = None) -> Iterator[tuple[str, Token, Token]]:
        """(href, link_open token, enclosing inline token) for every link in [start, end)."""
        for block, _ in self.inline_blocks(start, end):
            for child in block.children or ():
                if child.type == "link_open":
                    yield str(child.attrs.get("href", "")), child, block


def normalize(text: str) -> str:
    """Heading text for comparison: lowercase, single spaces, no trailing punctuation."""
    return " ".join(text.lower().replace("*", " ").replace("`", " ").split()).strip(" :#.")


def kramdown_slug(text: str) -> str:
    """kramdown's auto id: only ASCII letters, digits, spaces and hyphens kept, lowercased, spaces
    to hyphens, everything before the first letter dropped."""
    slug = re.sub(r"[^a-z0-9 -]", "", text.lower()).replace(" ", "-")
    return re.sub(r"^[^a-z]+", "", slug) or "section"


def github_slug(text: str) -> str:
    """GitHub's heading anchor: lowercase, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


# Parsing --------------------------------------------------------------------------------------


def _blank(text: str) -> str:
    """The same text with every character but newlines turned into a space."""
    return re.sub(r"[^\n]", " ", text)


def _front_matter(lines: list[str]) -> tuple[dict[str, str], tuple[int, int] | None]:
    if not lines or lines[0].rstrip() != "---":
        return {}, None
    for end in range(1, min(len(lines), 500)):
        if lines[end].rstrip() in ("---", "..."):
            break
    else:
        return {}, None
    values: dict[str, str] = {}
    for line in lines[1:end]:
        match = re.match(r"([A-Za-z_][\w-]*)\s*:\s*(.*?)\s*$", line)
        if match:
            value = match.group(2)
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            values[match.group(1).lower()] = value
    return values, (1, end + 1)


def _blank_or_drop(source: str, start: int, end: int) -> str:
    """Spaces in place of source[start:end]; nothing when text follows it at the start of a line
    (blanks there would turn the rest of the line into an indented code block)."""
    line_start = source.rfind("\n", 0, start) + 1
    line_end = source.find("\n", end)
    rest = source[end : None if line_end < 0 else line_end]
    indent = (end - line_start) + len(rest) - len(rest.lstrip())
    if not source[line_start:start].strip() and rest.strip() and indent >= 4:
        return ""
    return _blank(source[start:end])


def _strip_liquid(source: str, includes: list[str]) -> str:
    """Blank Liquid and kramdown syntax, keeping every other character where it was."""
    if "{" not in source:
        return source
    out: list[str] = []
    position = 0
    comment_start: int | None = None
    for match in LIQUID_TAG.finditer(source):
        name = match.group(1)
        if comment_start is not None:
            if name == "endcomment":
                out.append(_blank(source[comment_start : match.end()]))
                position = match.end()
                comment_start = None
            continue
        out.append(source[position : match.start()])
        position = match.end()
        if name == "comment":
            comment_start = match.start()
            continue
        tag = match.group(0)
        if name == "include":
            found = INCLUDE_NAME.search(tag)
            if found:
                includes.append(found.group(1))
        line_start = source.rfind("\n", 0, match.start()) + 1
        line_end = source.find("\n", match.end())
        alone = (
            not source[line_start : match.start()].strip()
            and not source[match.end() : None if line_end < 0 else line_end].strip()
        )
        if name == "highlight" and alone:
            language = (match.group(2).split() or [""])[0]
            out.append(("```" + language).ljust(len(tag)))
        elif name == "endhighlight" and alone:
            out.append("```".ljust(len(tag)))
        else:
            out.append(_blank_or_drop(source, match.start(), match.end()))
    if comment_start is not None:  # an unclosed comment runs to the end, as in Liquid
        out.append(_blank(source[comment_start:]))
    else:
        out.append(source[position:])
    text = "".join(out)
    for pattern in (LIQUID_OUTPUT, KRAMDOWN_IAL):
        if pattern.search(text):
            text = pattern.sub(lambda m: _blank_or_drop(m.string, m.start(), m.end()), text)
    return text


def parse(source: str, *, max_nesting: int) -> Document:
    """Parse decoded Markdown into a Document (no size check here: the caller caps it)."""
    source = source.replace("\r\n", "\n").replace("\r", "\n")
    lines = source.split("\n")
    front_matter, fm_lines = _front_matter(lines)
    body_lines = list(lines)
    if fm_lines:
        for i in range(fm_lines[0] - 1, fm_lines[1]):
            body_lines[i] = ""
    includes: list[str] = []
    body = _strip_liquid("\n".join(body_lines), includes)
    tokens = parser(max_nesting).parse(body)

    headings: list[Heading] = []
    nesting_line: int | None = None
    seen: dict[str, int] = {}
    last_line = 1
    for index, token in enumerate(tokens):
        if token.map:
            last_line = token.map[0] + 1
        if token.level >= max_nesting - 1 and nesting_line is None:
            nesting_line = last_line
        if token.type == "heading_open" and index + 1 < len(tokens):
            inline = tokens[index + 1]
            text = heading_text(inline)
            explicit = HEADING_ID.search(lines[token.map[0]]) if token.map else None
            anchor = explicit.group(1) if explicit else kramdown_slug(text)
            if anchor in seen:
                seen[anchor] += 1
                anchor = f"{anchor}-{seen[anchor]}"
            else:
                seen[anchor] = 0
            line = token.map[0] + 1 if token.map else 1
            headings.append(Heading(int(token.tag[1]), text, line, anchor, index))
    return Document(
        source=source,
        lines=lines,
        tokens=tokens,
        front_matter=front_matter,
        front_matter_lines=fm_lines,
        includes=includes,
        headings=headings,
        max_nesting=max_nesting,
        nesting_line=nesting_line,
    )


def heading_text(inline: Token) -> str:
    parts = [c.content for c in inline.children or () if c.type in ("text", "code_inline")]
    text = "".join(parts) if parts else inline.content
    return " ".join(HEADING_ID.sub("", text).split()) if "{#" in text else " ".join(text.split())


def html_anchors(document: Document) -> set[str]:
    """Ids and names declared in raw HTML (`<a name="x">`, `<div id="y">`)."""
    found: set[str] = set()
    for token in document.tokens:
        if token.type == "html_block":
            found.update(HTML_ANCHOR.findall(token.content))
        elif token.type == "inline":
            for child in token.children or ():
                if child.type == "html_inline":
                    found.update(HTML_ANCHOR.findall(child.content))
    return found
