"""The links checks as objects: each judges a hand-built Linked (pages and answers), nothing fetched."""

from __future__ import annotations

from partner_review.models.settings import Settings
from partner_review.models.submission import parse_submission
from partner_review.tasks.context import Context
from partner_review.tasks.links import linkcheck, pages
from partner_review.tasks.links.subject import Link, Linked
from partner_review.tasks.net.fetcher import Fetched

CTX = Context.of(Settings())


def html(url: str, body: str, *, status: int = 200) -> Fetched:
    return Fetched(url, "GET", status=status, final_url=url, content_type="text/html", text=body)


def test_a_partner_page_answering_404_fails_and_its_dependents_are_skipped(example):
    submission = parse_submission(example)
    url = submission.app.partner_page_url
    subject = Linked(submission, partner_page=html(url, "<h1>gone</h1>", status=404))
    live = pages.PARTNER_PAGE_LIVE.run(subject, CTX)
    assert live.outcome == "fail" and live.message == f"The partner page {url} answered 404"
    names = pages.PARTNER_PAGE_NAMES.run(subject, CTX)
    assert names.outcome == "skip" and "could not be read (see LNK-001)" in names.message


def test_a_partner_page_naming_the_app_passes_lnk_002(example):
    submission = parse_submission(example)
    url = submission.app.partner_page_url
    subject = Linked(submission, partner_page=html(url, f"<h1>{submission.app.name} for Segment</h1>"))
    result = pages.PARTNER_PAGE_NAMES.run(subject, CTX)
    assert result.outcome == "pass" and result.message == f"The partner page names {submission.app.name} and Segment"


def test_a_draft_launch_post_fails_lnk_008(example):
    submission = parse_submission(example)
    url = submission.app.launch_post_url
    subject = Linked(submission, launch_post=html(url, "<title>Draft</title><p>lorem ipsum</p>"))
    result = pages.LAUNCH_POST_PUBLISHED.run(subject, CTX)
    assert result.outcome == "fail" and "looks unpublished" in result.message
    assert "it contains placeholder text ('lorem ipsum')" in result.evidence["signs"]


def test_one_result_per_link_in_the_order_links_appear(example):
    submission = parse_submission(example)
    links = (
        Link("https://acme.example/gone", linkcheck.DOC_LINK, ["documentation line 3"], [3]),
        Link("#nowhere", linkcheck.DOC_LINK, ["documentation line 4"], [4]),
        Link("https://acme.example/ok", linkcheck.DOC_LINK, ["documentation line 5"], [5]),
    )
    answers = (Fetched(links[0].url, "HEAD", status=404), None, Fetched(links[2].url, "HEAD", status=200))
    subject = Linked(submission, links=links, answers=answers, anchors=frozenset({"intro"}))
    gone, ok = linkcheck.DOC_LINK.run(subject, CTX)
    assert gone.outcome == "warn" and gone.message == "https://acme.example/gone (documentation line 3) answered 404"
    assert ok.outcome == "pass" and ok.evidence["lines"] == [5]
    (anchor,) = linkcheck.DOC_ANCHOR.run(subject, CTX)
    assert anchor.outcome == "warn" and "points to no heading" in anchor.message
    results = linkcheck.DOC_LINK.run(subject, CTX) + linkcheck.DOC_ANCHOR.run(subject, CTX)
    ordered = linkcheck.in_link_order(results, list(links))
    assert [r.evidence["url"] for r in ordered] == [link.url for link in links]
