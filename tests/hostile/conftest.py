"""Hostile input: the receiver in process (ASGI), on a fresh SQLite store, dispatch off."""

from __future__ import annotations

import contextlib

import pytest

from tests.flows.conftest import sample_site, short_load_test, store  # noqa: F401  reused for test_secrets.py

SECRET = "hostile-webhook-secret"


@pytest.fixture
def receiver_client(tmp_path, monkeypatch):
    """A Starlette TestClient on `webhooks.app:app`, with its own data directory and secret."""
    from starlette.testclient import TestClient

    from partner_review.models.settings import get_settings
    from partner_review.models.store import _stores
    from partner_review.webhooks.app import app

    monkeypatch.setenv("PARTNER_REVIEW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PARTNER_REVIEW_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("PARTNER_REVIEW_DISPATCH", "off")
    monkeypatch.setenv("PARTNER_REVIEW_API_TOKEN", "hostile-reader-token")
    monkeypatch.delenv("PARTNER_REVIEW_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    url = get_settings().resolved_database_url
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    opened = _stores.pop(url, None)
    if opened:
        opened.close()
    get_settings.cache_clear()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine_store(request, env, monkeypatch):
    from tests.conftest import opened_store

    with opened_store(request, monkeypatch, request.param) as s:
        yield s


@contextlib.contextmanager
def client_for(monkeypatch):
    from starlette.testclient import TestClient

    from partner_review.models.settings import get_settings
    from partner_review.webhooks.app import app

    monkeypatch.setenv("PARTNER_REVIEW_DISPATCH", "off")
    monkeypatch.setenv("PARTNER_REVIEW_API_TOKEN", "reader-token")
    get_settings.cache_clear()
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def client(engine_store, monkeypatch):
    """The receiver in process on a fresh store of each engine (dispatch off)."""
    with client_for(monkeypatch) as c:
        yield c
