"""Issue 29 item 2: two different review subjects never share an artifact key, over the slug
alphabet and beyond it (slugs stored before the receiver checked them), and every key is one
Prefect accepts."""

from __future__ import annotations

import itertools
import re

from hypothesis import given
from hypothesis import strategies as st

from partner_review.flows.keys import SUFFIXES, checklist_key, review_key

PREFECT_KEY = re.compile(r"^[a-z0-9-]{1,100}$")
KINDS = ("", *SUFFIXES)


def _every(alphabet: str, longest: int):
    for n in range(longest + 1):
        for letters in itertools.product(alphabet, repeat=n):
            yield "".join(letters)


def test_every_subject_and_suffix_has_its_own_key():
    # The slug alphabet's classes (letter, digit, hyphen) and what the receiver now refuses
    # (upper case, '_', '.', full-width and Cyrillic letters), every string up to five long.
    subjects = list(_every("az09-_.Aａа", 4)) + list(_every("a0-", 6))
    seen: dict[str, tuple[str, str]] = {}
    for subject in subjects:
        for kind in KINDS:
            key = review_key(subject, kind)
            assert PREFECT_KEY.match(key), key
            assert seen.setdefault(key, (subject, kind)) == (subject, kind), (key, seen[key], (subject, kind))
        key = checklist_key(subject)
        assert PREFECT_KEY.match(key) and seen.setdefault(key, (subject, "checklist")) == (subject, "checklist")


def test_the_cases_of_the_issue_get_different_keys():
    assert review_key("acme_X") != review_key("acme.X")
    assert review_key("acme-analytics", "tile") != review_key("acme-analytics-tile")
    assert review_key("acme-analytics") == "review-acme-analytics"  # a catalog slug is its own key


@given(st.text(max_size=200), st.text(max_size=200), st.sampled_from(KINDS), st.sampled_from(KINDS))
def test_random_subjects_never_collide(a, b, kind_a, kind_b):
    if (a, kind_a) != (b, kind_b):
        assert review_key(a, kind_a) != review_key(b, kind_b)
    assert PREFECT_KEY.match(review_key(a, kind_a))


def test_one_scheme_for_every_kind_of_subject():
    from partner_review.flows.keys import subject_key

    # An access request is named by its company: a company's requests share one key (the UI keeps
    # its history together), whatever the case and punctuation of its name.
    assert subject_key("access", "Acme Analytics, Inc.") == "access-acme-analytics-inc"
    assert subject_key("access", "ACME analytics inc") == subject_key("access", "Acme Analytics, Inc.")
    assert subject_key("access", "Acme Analytics, Inc.", "decision") == "access-acme-analytics-inc--decision"
    # A name with no Latin letter or digit is its hash; kinds never share a key.
    assert PREFECT_KEY.match(subject_key("access", "株式会社"))
    assert subject_key("access", "株式会社") != subject_key("access", "有限会社")
    for name in ("acme-analytics", "acme", "株式会社", ""):
        keys = {subject_key(kind, name) for kind in ("submission", "access", "checklist")}
        assert len(keys) == 3 and all(PREFECT_KEY.match(k) for k in keys), keys
