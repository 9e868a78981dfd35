"""(b) The store is unavailable: the receiver answers 503 and persists nothing; the sender's retry
of the same delivery succeeds once the store is back, exactly once.

The outage is real: the receiver's PostgreSQL database stops accepting connections
(`ALLOW_CONNECTIONS false` and its sessions terminated), then accepts them again. A database of
the test's own is created and dropped, so nothing else on the server is touched. (An SQLite
variant would need a file the receiver cannot write; these tests run as root, for whom file
modes do not block writes, so it is not faked here.)
"""

import json
import uuid

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from partner_review.webhooks.signing import DELIVERY_HEADER, HEADER, sign
from tests.conftest import require_postgres


@pytest.fixture
def own_database():
    """A fresh PostgreSQL database (not a schema: an outage is per database), dropped afterwards."""
    base = require_postgres()
    name = f"pr_fault_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def available(yes: bool) -> None:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"true" if yes else "false"}'))
            if not yes:
                conn.execute(
                    text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name}
                )

    yield make_url(base).set(database=name).render_as_string(hide_password=False), available
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def receiver(own_database, env, tmp_path, monkeypatch):
    from partner_review.models.settings import get_settings
    from partner_review.models.store import _stores
    from partner_review.webhooks.server import running

    url, available = own_database
    monkeypatch.setenv("PARTNER_REVIEW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PARTNER_REVIEW_DATABASE_URL", url)
    monkeypatch.setenv("PARTNER_REVIEW_DISPATCH", "off")
    get_settings.cache_clear()
    try:
        with running() as base:
            yield base, url, available, env
    finally:
        store = _stores.pop(url, None)
        if store:
            store.close()
        get_settings.cache_clear()


def post(base: str, body: bytes, delivery: str, secret: str) -> httpx.Response:
    return httpx.post(
        f"{base}/webhooks/submissions",
        content=body,
        timeout=60,
        headers={"content-type": "application/json", DELIVERY_HEADER: delivery, HEADER: sign(secret, body)},
    )


def counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            tables = {"deliveries": "deliveries", "submissions": "submissions", "dispatches": "outbox"}
            return {
                name: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                for name, t in {**tables, "transitions": "transitions"}.items()
            }
    finally:
        engine.dispose()


def test_store_outage_answers_503_and_the_retry_succeeds_once(receiver, example):
    base, url, available, secret = receiver
    first = json.dumps(example).encode()
    example["app"]["slug"] = "acme-analytics-two"
    second = json.dumps(example).encode()
    assert post(base, first, "before-outage", secret).status_code == 202
    before = counts(url)

    available(False)
    try:
        refused = post(base, second, "during-outage", secret)
        assert refused.status_code == 503, refused.text
        assert "retry" in refused.json()["error"]
        again = post(base, first, "before-outage", secret)  # even a redelivery cannot be looked up now
        assert again.status_code == 503
        assert httpx.get(f"{base}/healthz", timeout=60).status_code == 503
    finally:
        available(True)

    assert counts(url) == before  # the refused delivery left nothing behind
    retried = post(base, second, "during-outage", secret)
    assert retried.status_code == 202, retried.text  # the sender's retry is a first delivery, not a repeat
    assert post(base, second, "during-outage", secret).status_code == 200
    assert post(base, first, "before-outage", secret).status_code == 200
    assert counts(url) == {"deliveries": 2, "submissions": 2, "dispatches": 2, "transitions": 2}
    assert httpx.get(f"{base}/healthz", timeout=60).status_code == 200
