"""Flows review the bundled submission against a real sample partner and the partner's sample
website (HTTPS, a private CA the outbound client is told to trust) on loopback."""

import json
import os

import pytest

from tests.conftest import EXAMPLES


@pytest.fixture(scope="session")
def conformant_partner():
    from partner_review.partners import running

    with running("conformant") as base_url:
        yield base_url


@pytest.fixture(scope="session")
def sample_site():
    """The partner's sample website for the session, its CA trusted through PARTNER_REVIEW_CA_FILE
    (the variable is restored and settings re-read when the session ends)."""
    from partner_review.models.settings import get_settings
    from partner_review.partners import site_running

    with site_running() as site:
        before = os.environ.get("PARTNER_REVIEW_CA_FILE")
        os.environ["PARTNER_REVIEW_CA_FILE"] = str(site.ca_file)
        get_settings.cache_clear()
        try:
            yield site
        finally:
            if before is None:
                os.environ.pop("PARTNER_REVIEW_CA_FILE", None)
            else:
                os.environ["PARTNER_REVIEW_CA_FILE"] = before
            get_settings.cache_clear()


@pytest.fixture(autouse=True)
def short_load_test(monkeypatch):
    """The volume stage at a test's pace; its thresholds stay the defaults."""
    monkeypatch.setenv("PARTNER_REVIEW_VOLUME_RATE", "20")
    monkeypatch.setenv("PARTNER_REVIEW_VOLUME_DURATION_SECONDS", "1")


@pytest.fixture
def example(conformant_partner, sample_site, env) -> dict:
    """The bundled submission: its destination on the conformant partner, its web pages on the site."""
    from partner_review.cli.demo import pointed_at

    return pointed_at(json.loads((EXAMPLES / "submission.json").read_text()), conformant_partner, sample_site)


@pytest.fixture(params=["sqlite"])
def store(request, env, monkeypatch):
    """Flows run on SQLite (the store itself is tested on both engines in tests/unit/test_store.py);
    `pg_store` gives a flow test PostgreSQL."""
    from tests.conftest import opened_store

    with opened_store(request, monkeypatch, request.param) as s:
        yield s


@pytest.fixture
def pg_store(request, env, monkeypatch):
    from tests.conftest import opened_store

    with opened_store(request, monkeypatch, "postgresql") as s:
        yield s
