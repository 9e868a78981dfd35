"""GET /apps/{slug}/record under uvicorn on loopback: the signed record behind the bearer token,
verifiable with the public key alone."""

import json

import httpx
import pytest

from partner_review.tasks.records.keys import signing_key
from partner_review.tasks.records.record import check
from partner_review.webhooks.server import running
from tests.unit.test_records import decided


@pytest.fixture
def receiver(store, monkeypatch):
    monkeypatch.setenv("PARTNER_REVIEW_DISPATCH", "off")
    monkeypatch.setenv("PARTNER_REVIEW_API_TOKEN", "reader-token")
    from partner_review.models.settings import get_settings

    get_settings.cache_clear()
    with running() as base:
        yield base


def test_the_record_needs_the_token_a_known_app_and_a_decision(receiver, store, example):
    from partner_review.models.settings import get_settings

    url = f"{receiver}/apps/acme-analytics/record"
    good = {"authorization": "Bearer reader-token"}
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"authorization": "Bearer wrong"}).status_code == 401
    missing = httpx.get(url, headers=good)
    assert missing.status_code == 404 and missing.json() == {"error": "no app 'acme-analytics'"}
    decided(store, example, get_settings())
    answer = httpx.get(url, headers=good, params={"version": 1})
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    assert "acme-analytics-v1.dsse.json" in answer.headers["content-disposition"]
    verified = check(json.loads(answer.content), signing_key(get_settings()).public_key())
    assert verified.statement["subject"][0]["name"] == "acme-analytics@1"
    assert httpx.get(url, headers=good, params={"version": 2}).status_code == 404
    assert httpx.get(url, headers=good, params={"version": "x"}).status_code == 422
    assert httpx.get(f"{receiver}/apps/%E2%80%AE%00x/record", headers=good).status_code == 404
