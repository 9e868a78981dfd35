"""The receiver under uvicorn on loopback, answering every case of contract section 2."""

import json
import time

import httpx
import pytest

from partner_review.webhooks.server import running
from partner_review.webhooks.signing import DELIVERY_HEADER, HEADER, sign


@pytest.fixture
def receiver(store, monkeypatch):
    monkeypatch.setenv("PARTNER_REVIEW_DISPATCH", "off")
    monkeypatch.setenv("PARTNER_REVIEW_API_TOKEN", "reader-token")
    from partner_review.models.settings import get_settings

    get_settings.cache_clear()
    with running() as base:
        yield base


def post(base, body: bytes, *, delivery="d-1", secret="test-webhook-secret", timestamp=None, signature=None):
    headers = {"content-type": "application/json", DELIVERY_HEADER: delivery}
    headers[HEADER] = signature if signature is not None else sign(secret, body, timestamp=timestamp)
    return httpx.post(f"{base}/webhooks/submissions", content=body, headers=headers, timeout=30)


def rows(store) -> int:
    return sum(1 for _ in store.rows())


def test_valid_delivery_is_persisted_then_answered_202(receiver, store, example):
    answer = post(receiver, json.dumps(example).encode())
    assert answer.status_code == 202
    body = answer.json()
    assert body["status"] == "submitted"
    assert store.get_submission(body["submission_id"]).slug == "acme-analytics"
    assert [d.delivery_id for d in store.pending_dispatches()] == ["d-1"]


def test_redelivery_answers_200_with_the_original(receiver, store, example):
    raw = json.dumps(example).encode()
    first = post(receiver, raw).json()
    again = post(receiver, raw)
    assert again.status_code == 200 and again.json() == first
    assert len(store.dispatches()) == 1


def test_new_delivery_of_the_same_version_is_a_conflict(receiver, store, example):
    raw = json.dumps(example).encode()
    post(receiver, raw)
    answer = post(receiver, raw, delivery="d-2", timestamp=int(time.time()) - 10)  # signed afresh
    assert answer.status_code == 409 and "already submitted" in answer.json()["error"]


@pytest.mark.parametrize(
    "case,status,words",
    [
        ("bad signature", 401, "does not match"),
        ("missing signature", 401, "missing"),
        ("stale", 401, "300 s"),
        ("not json", 400, "not valid JSON"),
        ("schema", 422, "does not match the schema"),
        ("oversized", 413, "larger than"),
        ("no delivery id", 400, DELIVERY_HEADER),
    ],
)
def test_refusals_answer_clearly_and_persist_nothing(receiver, store, example, case, status, words):
    before = rows(store)
    raw = json.dumps(example).encode()
    if case == "bad signature":
        answer = post(receiver, raw, secret="wrong")
    elif case == "missing signature":
        answer = post(receiver, raw, signature="")
    elif case == "stale":
        answer = post(receiver, raw, timestamp=int(time.time()) - 301)
    elif case == "not json":
        answer = post(receiver, b"{not json")
    elif case == "schema":
        example["app"]["slugg"] = "typo"
        del example["components"]
        answer = post(receiver, json.dumps(example).encode())
    elif case == "oversized":
        answer = post(receiver, b" " * (1024 * 1024 + 1))
    else:
        answer = post(receiver, raw, delivery="")
    assert answer.status_code == status
    assert words in answer.text
    if case == "schema":
        assert set(answer.json()["fields"]) >= {
            "app.slugg: unknown field (check its spelling against the submission schema)",
            "components: required field is missing",
        }
    assert rows(store) == before


def test_store_down_answers_503(receiver, store, example, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk gone")

    monkeypatch.setattr(store, "record_delivery", broken)
    answer = post(receiver, json.dumps(example).encode())
    assert answer.status_code == 503 and "retry later" in answer.json()["error"]


def test_health_and_status_endpoints(receiver, store, example):
    assert httpx.get(f"{receiver}/healthz").json() == {"status": "ok", "store": "ok"}
    sid = post(receiver, json.dumps(example).encode()).json()["submission_id"]
    assert httpx.get(f"{receiver}/submissions/{sid}").status_code == 401
    assert httpx.get(f"{receiver}/submissions/{sid}", headers={"authorization": "Bearer nope"}).status_code == 401
    status = httpx.get(f"{receiver}/submissions/{sid}", headers={"authorization": "Bearer reader-token"}).json()
    assert status["status"] == "submitted" and status["review"] is None and status["app"] == "acme-analytics"
    missing = httpx.get(f"{receiver}/submissions/nope", headers={"authorization": "Bearer reader-token"})
    assert missing.status_code == 404


def test_openapi_describes_the_submission_body(receiver):
    spec = httpx.get(f"{receiver}/openapi.json").json()
    body = spec["paths"]["/webhooks/submissions"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Submission"}
    assert "App" in spec["components"]["schemas"]
