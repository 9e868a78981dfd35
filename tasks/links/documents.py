"""What a fetched page or announcement says: its title, visible text, links and robots directives.

Reads HTML (stdlib parser, tolerant of broken markup), plain text and e-mail messages (`.eml`,
`message/rfc822`: an announcement e-mail accepted in place of a launch blog post).
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urljoin, urlsplit

_URL_IN_TEXT = re.compile(r"""https?://[^\s<>"'`)\]]+""", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_SKIPPED_TEXT = {"script", "style", "template", "svg"}


@dataclass
class Page:
    kind: str  # "html", "text" or "email"
    title: str = ""
    text: str = ""
    links: list[str] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)
    noindex: bool = False

    def mentions(self, phrase: str) -> bool:
        """Whether the title or text contains `phrase` as words (case and spacing ignored)."""
        wanted = normalize_words(phrase)
        if not wanted:
            return False
        haystack = f" {normalize_words(self.title)} {normalize_words(self.text)} "
        return f" {wanted} " in haystack


def normalize_words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.casefold()))


class _PageParser(HTMLParser):
    def __init__(self, base_url: str):
        super().__init__(convert_charrefs=True)
        self.base_url = base_url
        self.doc = Page(kind="html")
        self._skip = 0
        self._in_title = False
        self._heading: list[str] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        if tag in _SKIPPED_TEXT:
            self._skip += 1
        elif tag == "title":
            self._in_title = True
        elif tag == "base" and values.get("href"):
            self.base_url = urljoin(self.base_url, values["href"])
        elif tag in ("a", "area") and values.get("href"):
            self.doc.links.append(urljoin(self.base_url, values["href"].strip()))
        elif tag == "meta":
            name = values.get("name", "").lower()
            if name in ("robots", "googlebot") and "noindex" in values.get("content", "").lower():
                self.doc.noindex = True
        elif tag in ("h1", "h2"):
            self._heading = []

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TEXT and self._skip:
            self._skip -= 1
        elif tag == "title":
            self._in_title = False
        elif tag in ("h1", "h2") and self._heading is not None:
            self.doc.headings.append(_SPACES.sub(" ", "".join(self._heading)).strip())
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._in_title:
            self.doc.title += data
            return
        if self._heading is not None:
            self._heading.append(data)
        self._text.append(data)

    def result(self) -> Page:
        self.doc.title = _SPACES.sub(" ", self.doc.title).strip()
        self.doc.text = _SPACES.sub(" ", " ".join(self._text)).strip()
        return self.doc


def parse_html(html: str, base_url: str) -> Page:
    parser = _PageParser(base_url)
    parser.feed(html)
    parser.close()
    return parser.result()


def parse_text(text: str) -> Page:
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return Page(
        kind="text",
        title=first_line[:200],
        text=_SPACES.sub(" ", text).strip(),
        links=[m.group(0).rstrip(".,;:!?") for m in _URL_IN_TEXT.finditer(text)],
    )


def parse_email(raw: str, base_url: str) -> Page:
    """An announcement e-mail as sent (RFC 5322): the subject is the title; text and HTML parts read."""
    message = email.message_from_string(raw, policy=email.policy.default)
    doc = Page(kind="email", title=str(message.get("subject", "")).strip())
    texts: list[str] = []
    for part in message.walk() if message.is_multipart() else [message]:
        if part.is_multipart() or part.get_content_maintype() != "text":
            continue
        try:
            body = part.get_content()
        except (LookupError, ValueError):
            continue
        sub = parse_html(body, base_url) if part.get_content_subtype() == "html" else parse_text(body)
        texts.append(sub.text)
        doc.links.extend(link for link in sub.links if link not in doc.links)
        doc.noindex = doc.noindex or sub.noindex
    doc.text = " ".join(texts)
    return doc


def read_document(text: str, *, url: str, content_type: str) -> Page:
    """Pick the reader by content type (and the `.eml` suffix, which servers often label text/plain)."""
    kind = content_type.split(";", 1)[0].strip().lower()
    path = urlsplit(url).path.lower()
    if kind == "message/rfc822" or path.endswith(".eml"):
        return parse_email(text, url)
    if kind in ("text/html", "application/xhtml+xml") or (not kind and "<html" in text[:2048].lower()):
        return parse_html(text, url)
    return parse_text(text)


# URLs -----------------------------------------------------------------------------------------


def comparable(url: str) -> str:
    """A URL reduced to what identifies a page: host without `www.`, path without trailing slash;
    scheme, query and fragment dropped."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    port = f":{parts.port}" if parts.port not in (None, 80, 443) else ""
    return f"{host}{port}{parts.path.rstrip('/') or ''}"


def on_domain(url: str, domain: str) -> bool:
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    domain = domain.lower().removeprefix("www.")
    return host == domain or host.endswith("." + domain)


def missing_query(url: str, expected_query: str) -> list[str]:
    """The `key=value` pairs of `expected_query` that `url` lacks or carries with another value."""
    have = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    return [f"{k}={v}" for k, v in parse_qsl(expected_query, keep_blank_values=True) if have.get(k) != v]
