"""What the links stage measured, judged by its check objects (tasks/links/pages.py, linkcheck.py):
the partner page and launch post as fetched, and every link with its answer."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from partner_review.models.submission import Submission
from partner_review.tasks.links.documents import Page, read_document
from partner_review.tasks.net.fetcher import Fetched


@dataclass
class Link:
    """One distinct URL to check and every place it appears."""

    url: str
    check: Any  # the Check that reports it (LNK-009, LNK-010 or LNK-011; an anchor or mailto link has its own)
    places: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)


def document(fetched: Fetched) -> Page | None:
    """The page (or e-mail, or text) a fetch read, None when it read nothing."""
    if fetched.text is None:
        return None
    return read_document(fetched.text, url=fetched.final_url or fetched.url, content_type=fetched.content_type)


@dataclass(frozen=True)
class Linked:
    """The subject of the links checks. `answers[i]` is what `links[i]` answered (None: not fetched,
    e.g. an anchor, a mailto link, or offline)."""

    submission: Submission
    accepted: Container[int] = range(200, 300)  # the statuses a live link answers (link_accepted_status)
    partner_page: Fetched | None = None  # None: not fetched (no partner_page_url, or offline)
    launch_post: Fetched | None = None
    links: tuple[Link, ...] = ()
    answers: tuple[Fetched | None, ...] = ()
    anchors: frozenset[str] = frozenset()  # the headings' anchors of the inline doc page

    @cached_property
    def partner_doc(self) -> Page | None:
        return document(self.partner_page) if self.partner_page is not None else None

    @cached_property
    def launch_doc(self) -> Page | None:
        return document(self.launch_post) if self.launch_post is not None else None

    def answer(self, index: int) -> Fetched | None:
        return self.answers[index] if index < len(self.answers) else None
