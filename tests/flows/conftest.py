"""Flows review the bundled submission against a real sample partner on loopback."""

import json

import pytest

from tests.conftest import EXAMPLES


@pytest.fixture(scope="session")
def conformant_partner():
    from partners import running

    with running("conformant") as base_url:
        yield base_url


@pytest.fixture(autouse=True)
def short_load_test(monkeypatch):
    """The volume stage at a test's pace; its thresholds stay the defaults."""
    monkeypatch.setenv("PARTNER_REVIEW_VOLUME_RATE", "20")
    monkeypatch.setenv("PARTNER_REVIEW_VOLUME_DURATION_SECONDS", "1")


@pytest.fixture
def example(conformant_partner, env) -> dict:
    from cli.demo import pointed_at

    return pointed_at(json.loads((EXAMPLES / "submission.json").read_text()), conformant_partner)


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
