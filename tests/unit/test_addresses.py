"""One e-mail validator: the catalog's support address and the docs' mailto links agree on every address."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from partner_review.models.addresses import email_domain, email_problem
from partner_review.tasks.links.linkcheck import Link, check_mailto

ADDRESSES = [
    "support@acme.example",
    "first.last+segment@eu.acme.io",
    "o'brien@acme.co.uk",
    "support",
    "support@acme",
    "sup port@acme.example",
    "a@b@acme.example",
    "support@acme..example",
    "support@acme.123",
    "x@localhost",
    "x@acme.test",
    "nul\x00@acme.example",
]


@pytest.mark.parametrize("address", ADDRESSES)
def test_catalog_and_mailto_agree(address):
    link = Link(url=f"mailto:{address}", check=None, places=["page:1"])
    assert (check_mailto(link).outcome == "pass") == (email_problem(address) is None)


def test_domain_is_normalized():
    assert email_domain("Dana@ACME.Example") == "acme.example"
    assert email_domain("not an address") is None


@given(st.text(max_size=300))
def test_any_text_gets_an_answer_never_an_exception(text):
    problem = email_problem(text)
    assert problem is None or problem.startswith("is not a valid address")
