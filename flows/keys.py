"""Prefect artifact keys for a review's subject, one subject never sharing a key with another.

Prefect allows lower-case letters, digits and hyphens in a key (at most 100 characters here).
A catalog slug (models.submission.SLUG: single hyphens only) is its own key, `review-<slug>`;
a suffixed key puts a double hyphen before its suffix (`review-<slug>--tile`), which no slug
holds, and any other subject (a slug stored before the receiver checked slugs) is named by its
hash after a double hyphen (`review--<sha256>`), which no slug key starts with. So a key reads
back to exactly one (subject, suffix)."""

from __future__ import annotations

import hashlib

from partner_review.models.submission import SLUG, SLUG_LENGTHS

SUFFIXES = ("results", "tile", "decision", "record")


def review_key(slug: str, suffix: str = "") -> str:
    """The artifact key of the review of `slug`, with one of SUFFIXES or none."""
    if suffix and suffix not in SUFFIXES:
        raise ValueError(f"unknown artifact suffix {suffix!r}")
    return f"review-{_subject(slug)}" + (f"--{suffix}" if suffix else "")


def checklist_key(slug: str) -> str:
    """The key of the app's Public Beta checklist artifact."""
    return f"checklist-{_subject(slug)}"


def _subject(slug: str) -> str:
    low, high = SLUG_LENGTHS
    if low <= len(slug) <= high and SLUG.match(slug):
        return slug
    return "-" + hashlib.sha256(slug.encode("utf-8", "surrogatepass")).hexdigest()[:40]
