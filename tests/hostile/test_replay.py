"""Issue 18: a captured signed request cannot be replayed under a new delivery id (both engines)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from partner_review.models.db import SignatureRow
from partner_review.webhooks.signing import DELIVERY_HEADER
from tests.hostile.signed import activity, raw, signed

ENDPOINTS = ["/webhooks/submissions", "/webhooks/activity"]


@pytest.fixture
def seeded(client, example):
    body = raw({**example, "version": 99})
    assert client.post("/webhooks/submissions", content=body, headers=signed(body, "seed")).status_code == 202


def body_for(path: str, example: dict) -> bytes:
    return raw(example) if path.endswith("submissions") else raw([activity(delivered=3)])


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_replay_under_another_delivery_id_is_refused(client, engine_store, seeded, example, path):
    body = body_for(path, example)
    headers = signed(body, "first")
    first = client.post(path, content=body, headers=headers)
    assert first.status_code in (200, 202)
    before = sum(1 for _ in engine_store.rows())
    replay = client.post(path, content=body, headers={**headers, DELIVERY_HEADER: "fresh-id"})
    assert replay.status_code == 401 and "already used" in replay.json()["error"]
    after = sum(1 for _ in engine_store.rows())
    assert after == before


@pytest.mark.parametrize("path", ENDPOINTS)
def test_the_same_request_again_is_a_redelivery(client, engine_store, seeded, example, path):
    body = body_for(path, example)
    headers = signed(body, "first")
    first = client.post(path, content=body, headers=headers)
    again = client.post(path, content=body, headers=headers)
    assert again.status_code == 200 and again.json() == first.json()


def test_an_activity_replay_cannot_revert_a_correction(client, engine_store, seeded):
    from sqlalchemy import text

    old, new = raw([activity(delivered=3)]), raw([activity(delivered=8)])
    old_headers = signed(old, "a-1")
    client.post("/webhooks/activity", content=old, headers=old_headers)
    client.post("/webhooks/activity", content=new, headers=signed(new, "a-2"))
    replay = client.post("/webhooks/activity", content=old, headers={**old_headers, DELIVERY_HEADER: "a-3"})
    assert replay.status_code == 401
    with engine_store.engine.connect() as conn:
        assert conn.execute(text("SELECT events_delivered FROM activity")).scalar_one() == 8


def test_remembered_signatures_expire_with_the_window(engine_store):
    from partner_review.models.store import Receipt

    now = datetime.now(UTC)
    with engine_store.engine.begin() as conn:
        engine_store.claim_signature(conn, Receipt("activity", "old", "0" * 64, "a" * 64, now - timedelta(seconds=1)))
        engine_store.claim_signature(conn, Receipt("activity", "new", "0" * 64, "b" * 64, now + timedelta(seconds=300)))
    engine_store._purged_at = 0.0  # the next claim purges
    with engine_store.engine.begin() as conn:
        engine_store.claim_signature(
            conn, Receipt("activity", "later", "0" * 64, "c" * 64, now + timedelta(seconds=300))
        )
    with engine_store.engine.connect() as conn:
        kept = conn.execute(select(SignatureRow.sha256).order_by(SignatureRow.sha256)).scalars().all()
        assert kept == ["b" * 64, "c" * 64]
        assert conn.execute(select(func.count()).select_from(SignatureRow)).scalar_one() == 2


def test_standard_webhooks_de_duplicates_by_its_signed_id(client, engine_store, example):
    import base64

    from standardwebhooks.webhooks import Webhook

    from partner_review.models.settings import get_settings

    secret = "whsec_" + base64.b64encode(b"a standard webhooks key").decode()
    get_settings().webhook_secret = __import__("pydantic").SecretStr(secret)
    sender = Webhook(secret)
    body = raw(example)
    stamp = datetime.now(UTC)
    headers = {
        "content-type": "application/json",
        "webhook-id": "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
        "webhook-timestamp": str(int(stamp.timestamp())),
        "webhook-signature": sender.sign("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", stamp, body.decode()),
    }
    first = client.post("/webhooks/submissions", content=body, headers=headers)
    assert first.status_code == 202, first.text
    assert client.post("/webhooks/submissions", content=body, headers=headers).json() == first.json()
    moved = client.post("/webhooks/submissions", content=body, headers={**headers, "webhook-id": "msg_other"})
    assert moved.status_code == 401 and "does not match" in moved.json()["error"]
    assert engine_store.find_delivery("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W") is not None


def test_a_stripe_signed_request_is_accepted(client, engine_store, example):
    import stripe

    from partner_review.webhooks.signing import HEADER

    body = raw(example)
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), "test-webhook-secret")
    answer = client.post("/webhooks/submissions", content=body, headers={HEADER: header, DELIVERY_HEADER: "stripe-1"})
    assert answer.status_code == 202, answer.text
