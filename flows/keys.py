"""Prefect artifact keys for a review's subject, one subject never sharing a key with another.

Prefect allows lower-case letters, digits and hyphens in a key (at most 100 characters here).
Each kind of subject has its prefix (`review-` for a submission's app, `access-` for an access
request's company, `checklist-` for an app's checklist), then the subject's name:
- a catalog slug (models.submission.SLUG: single hyphens only) is its own name, `review-<slug>`;
- an access request is named by its company, lower-cased with every run of other characters
  turned into one hyphen (`Acme Analytics, Inc.` is `access-acme-analytics-inc`): a company's
  requests share one key, so the UI keeps its history together;
- any other name (a slug stored before the receiver checked slugs, a company name with no Latin
  letter or digit) is its hash after a double hyphen (`review--<sha256>`), which no slug starts with.
A suffixed key puts a double hyphen before its suffix (`review-<slug>--tile`), which no slug holds.
So a key reads back to exactly one (kind, subject, suffix)."""

from __future__ import annotations

import hashlib
import re

from partner_review.models.submission import SLUG, SLUG_LENGTHS

SUFFIXES = ("results", "tile", "decision", "record")
PREFIXES = {"submission": "review", "access": "access", "checklist": "checklist"}


def subject_key(kind: str, name: str, suffix: str = "") -> str:
    """The artifact key of the review of subject `name` of `kind` (see PREFIXES), with one of
    SUFFIXES or none."""
    if suffix and suffix not in SUFFIXES:
        raise ValueError(f"unknown artifact suffix {suffix!r}")
    if kind == "access":
        name = company_name(name)
    return f"{PREFIXES[kind]}-{_subject(name)}" + (f"--{suffix}" if suffix else "")


def review_key(slug: str, suffix: str = "") -> str:
    """The artifact key of the review of the app `slug`."""
    return subject_key("submission", slug, suffix)


def checklist_key(slug: str) -> str:
    """The key of the app's Public Beta checklist artifact."""
    return subject_key("checklist", slug)


def company_name(company: str) -> str:
    """A company's name as a key names it (see the module docstring); the name itself when it has
    no Latin letter or digit (then hashed)."""
    return re.sub(r"[^a-z0-9]+", "-", company.lower()).strip("-") or company


def _subject(name: str) -> str:
    low, high = SLUG_LENGTHS
    if low <= len(name) <= high and SLUG.match(name):
        return name
    return "-" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:40]
