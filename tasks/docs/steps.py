"""DOC-007: Getting started is numbered steps that tell the customer how to connect.

What "how to connect" means follows the integration:

- a **source** page says where the Segment write key is pasted (a link or a menu path);
- a **destination with a secret** (a setting marked `secret` in the submission, or, for a page
  linted alone, a key, token or secret the page itself names) says where that secret is found: a
  link, a menu path (`Settings > API Keys`), a "navigate to ..." step, or a named place of the
  partner's UI ("from the Account Settings page"); Segment's own settings are where a key is
  entered, not where it is found, so they do not count;
- a destination connected by **OAuth** (the submission's `app.oauth`, or OAuth named on the page)
  or needing **no key** has a step that says what to connect, authorize or enable, and where
  (a button or field in bold or quotes, a link, or a menu path).
"""

from __future__ import annotations

import re

from markdown_it.token import Token

from partner_review.models.checks import declare
from partner_review.tasks.docs.context import Page, PageCheck, RuleOutput, may_hold

GETTING_STARTED = ("getting started", "get started")


SECRET = re.compile(  # a bare "key" is not a secret ("event keys", "the key metrics")
    r"\b(api[ _-]?(?:keys?|tokens?)|access[ _-]?tokens?|(?:secret|private|license|licence|app|account|project|"
    r"client|auth\w*)[ _-]?(?:keys?|tokens?)|client[ _-]?secrets?|secrets?|tokens?|passwords?|credentials?)\b",
    re.I,
)
WRITE_KEY = re.compile(r"\bwrite[ _-]?key\b", re.I)
OAUTH = re.compile(r"\b(oauth|authoriz\w*|enable with segment|sign in with|log in with)\b", re.I)
# Words every match of SECRET, of OAUTH, holds in lowercase: a step without any is not searched.
SECRET_WORDS = ("key", "token", "secret", "password", "credential")
OAUTH_WORDS = ("oauth", "authoriz", "enable with segment", "sign in with", "log in with")
CONNECT = re.compile(
    r"\b(connect\w*|authori[sz]\w*|sign(?:ing)? in|log(?:ging)? ?in|allow|grant|enable\w*|turn on|toggle|"
    r"add destination|install\w*)\b",
    re.I,
)
LINK = re.compile(r"\]\(|https?://|<a\s", re.I)
MENU_PATH = re.compile(r"[\w*\"'’)\]]\s*(?:>|→|»|&gt;)\s*[\w*\"'“(\[]")
NAVIGATE = re.compile(r"\b(?:navigate|go|head|browse)\s+to\s+\S", re.I)
PLACE = re.compile(
    r"\b(?:in|under|from|on|at|via|within)\s+(?:the\s+|your\s+|their\s+|its\s+)?(?:[\w*\"'’.&-]+\s+){0,4}?"
    r"(?:settings|dashboard|page|tab|menu|section|console|portal|panel|screen|profile|admin|sidebar|"
    r"preferences)\b",
    re.I,
)
PERSON = re.compile(r"\b(?:account|customer success|partner) (?:manager|team|representative)\b", re.I)
TARGET = re.compile(r"\*\*[^*\n]+\*\*|__[^_\n]+__|\"[^\"\n]+\"|“[^”\n]+”|`[^`\n]+`")
SEGMENT_PLACE = re.compile(r"\b(segment|destination|source)s?\b", re.I)


def mentions(pattern: re.Pattern[str], words: tuple[str, ...], texts: list[str]) -> bool:
    """Whether a case-insensitive `pattern` matches in any of `texts`, searching only those that
    `may_hold` one of `words` (SECRET and OAUTH run over every step of every page took half of this
    rule's time)."""
    return any(pattern.search(text) for text in texts if may_hold(text, words))


def says_where_found(text: str) -> bool:
    """Whether a step says where something is found in the partner's app: a link, a menu path,
    "navigate to ...", a named place of the partner's UI (Segment's own settings excluded), or the
    person who hands it out (an account manager)."""
    if LINK.search(text) or MENU_PATH.search(text) or NAVIGATE.search(text) or PERSON.search(text):
        return True
    return any(not SEGMENT_PLACE.search(match.group(0)) for match in PLACE.finditer(text))


def says_where_pasted(text: str) -> bool:
    """Whether a step says where the write key goes: a link, a menu path, "navigate to ...", a named
    place of the partner's UI, or a named field or button (in bold or quotes)."""
    return bool(LINK.search(text) or MENU_PATH.search(text) or NAVIGATE.search(text) or PLACE.search(text)) or bool(
        TARGET.search(text)
    )


def describes_connecting(text: str) -> bool:
    """Whether a step says what to connect, authorize or enable, and where (a bold or quoted
    control, a link or a menu path)."""
    return bool(CONNECT.search(text)) and bool(TARGET.search(text) or LINK.search(text) or MENU_PATH.search(text))


class GettingStartedSteps(PageCheck):
    """DOC-007: Getting started is numbered steps that say how to connect (see the module docstring)."""

    def findings(self, page: Page) -> list[RuleOutput]:
        document = page.document
        section = document.find_section(*GETTING_STARTED)
        if section is None:
            return [self.not_applicable("No Getting started section (DOC-006 reports it).")]
        heading = section.heading
        anchor = f"{'#' * heading.level} {heading.text}"
        results: list[RuleOutput] = []
        tokens = document.tokens[section.start : section.end]
        if not any(t.type == "ordered_list_open" for t in tokens):
            results.append(
                page.finding(
                    self,
                    "Getting started has no numbered steps (1., 2., ...).",
                    heading.line,
                    excerpt=anchor,
                )
            )
        blocks = [block for block, quoted in document.inline_blocks(section.start, section.end) if not quoted]
        texts = [block.content for block in blocks]
        if page.kind == "source":
            problem = _key_problem(page, blocks, WRITE_KEY, "where to paste the Segment write key", says_where_pasted)
        else:
            problem = _destination_problem(page, blocks, texts)
        if problem is not None:
            message, line, column = problem
            results.append(page.finding(self, message, line or heading.line, column, None if line else anchor))
        return results


GETTING_STARTED_STEPS = declare(
    GettingStartedSteps(
        "DOC-007",
        "Getting started is numbered steps that say how to connect",
        stage="docs",
        severity="blocker",
        remedy="Write Getting started as a numbered list (1., 2., ...). A destination with an API key or other "
        "secret: say where the customer finds it in your app, with a link or the menu path (Settings > API Keys). "
        "An OAuth or key-less destination: say what to click to connect or authorize. A source: say where to "
        "paste the Segment write key, with a link or the menu path.",
    )
)


Problem = tuple[str, int, int]  # message, line (0: the heading), column


def _destination_problem(page: Page, blocks: list[Token], texts: list[str]) -> Problem | None:
    submission = page.submission
    secrets = [s for d in submission.destinations for s in d.settings if s.secret] if submission else []
    oauth = (submission is not None and submission.app.oauth is not None) or mentions(OAUTH, OAUTH_WORDS, texts)
    for setting in secrets:  # each secret setting: where the customer finds it
        named = re.compile(rf"(?<!\w)({re.escape(setting.label)}|{re.escape(setting.key)})(?!\w)", re.I)
        problem = _key_problem(page, blocks, named, f'where the "{setting.label}" is found', says_where_found)
        if problem is not None:
            return problem
    if secrets:
        return None
    mentions_secret = mentions(SECRET, SECRET_WORDS, texts)
    if oauth and any(describes_connecting(t) for t in texts):
        return None  # connected through OAuth: no secret to find, and the step says how
    if mentions_secret and not (submission is not None and submission.destinations):
        return _key_problem(page, blocks, SECRET, "where the {word} is found", says_where_found)
    if any(describes_connecting(t) for t in texts):
        return None
    how = "connects through OAuth" if oauth else "needs no key"
    return (
        f"The destination {how}, but Getting started does not describe how to connect it (a step that says "
        "what to click to connect, authorize or enable, e.g. **Connect to Acme**).",
        0,
        1,
    )


def _key_problem(page: Page, blocks: list[Token], key: re.Pattern[str], where: str, says) -> Problem | None:
    """None when a step naming `key`, or the step before or after it, says `where`; else why not."""
    mentions = [i for i, block in enumerate(blocks) if key.search(block.content)]
    if not mentions:
        return (f"Getting started does not say {where.format(word='API key')}.", 0, 1)
    if any(says(key.sub(" ", block.content)) for i in mentions for block in blocks[max(0, i - 1) : i + 2]):
        return None
    block = blocks[mentions[0]]
    found = key.search(block.content)
    assert found is not None and block.map is not None
    word = found.group(0)
    line, column = page.document.locate(word, block.map[0] + 1, block.map[1])
    return (
        f"Getting started mentions the {word} but not {where.format(word=word)} (link the page or name the menu path, "
        "e.g. Settings > API Keys).",
        line,
        column,
    )
