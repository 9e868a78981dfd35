"""POST /webhooks/access-requests under uvicorn on loopback, answering as contract section 2 does;
GET /apps/{slug}/checklist behind the bearer token; the approved-partner gate on submissions."""

import json
import threading
import time

import httpx
import pytest

from partner_review.models.access import AccessState
from partner_review.webhooks.server import running
from partner_review.webhooks.signing import DELIVERY_HEADER, HEADER, sign


@pytest.fixture
def access_example(shared_dir) -> dict:
    return json.loads((shared_dir / "contract" / "access-request.example.json").read_text())


@pytest.fixture
def receiver(store, monkeypatch):
    monkeypatch.setenv("PARTNER_REVIEW_DISPATCH", "off")
    monkeypatch.setenv("PARTNER_REVIEW_API_TOKEN", "reader-token")
    from partner_review.models.settings import get_settings

    get_settings.cache_clear()
    with running() as base:
        yield base


def post(base, body: bytes, *, path="/webhooks/access-requests", delivery="a-1", secret="test-webhook-secret", **kw):
    headers = {"content-type": "application/json", DELIVERY_HEADER: delivery}
    headers[HEADER] = kw.get("signature") if "signature" in kw else sign(secret, body, timestamp=kw.get("timestamp"))
    return httpx.post(f"{base}{path}", content=body, headers=headers, timeout=30)


def rows(store) -> int:
    return sum(1 for _ in store.rows())


def repo(store):

    return store.access


def test_a_valid_request_is_persisted_then_answered_202_and_a_redelivery_200(receiver, store, access_example):
    raw = json.dumps(access_example).encode()
    answer = post(receiver, raw)
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["status"] == "requested"
    stored = repo(store).get(body["access_request_id"])
    assert stored.domain == "acme.example" and stored.decision_due_at > stored.received_at
    assert repo(store).pending_dispatches() == [stored.id]
    again = post(receiver, raw)
    assert again.status_code == 200 and again.json() == body
    assert len(repo(store).in_state(AccessState.requested)) == 1


@pytest.mark.parametrize(
    "case,status,words",
    [
        ("bad signature", 401, "does not match"),
        ("missing signature", 401, "missing"),
        ("stale", 401, "300 s"),
        ("not json", 400, "not valid JSON"),
        ("deep nesting", 400, "not valid JSON"),
        ("unknown field", 422, "does not match the schema"),
        ("string for a boolean", 422, "agreed_to_partner_terms"),
        ("huge number for a name", 422, "company.name"),
        ("unicode digits for a boolean", 422, "agreed_to_partner_terms"),
        ("control characters", 422, "company.name"),
        ("a list", 422, "does not match"),
        ("oversized", 413, "larger than"),
        ("no delivery id", 400, DELIVERY_HEADER),
    ],
)
def test_refusals_answer_clearly_and_persist_nothing(receiver, store, access_example, case, status, words):
    before = rows(store)
    data = access_example
    raw = None
    kw = {}
    if case == "bad signature":
        kw["secret"] = "wrong"
    elif case == "missing signature":
        kw["signature"] = ""
    elif case == "stale":
        kw["timestamp"] = int(time.time()) - 301
    elif case == "not json":
        raw = b"{not json"
    elif case == "deep nesting":
        raw = b"[" * 200_000 + b"]" * 200_000
    elif case == "unknown field":
        data["contact"]["phone"] = "+1 555"
    elif case == "string for a boolean":
        data["agreed_to_partner_terms"] = "true"
    elif case == "huge number for a name":
        raw = json.dumps(data).replace('"Acme Analytics Inc."', "1" + "0" * 4000).encode()
    elif case == "unicode digits for a boolean":
        data["agreed_to_partner_terms"] = "\u0661"
    elif case == "control characters":
        data["company"]["name"] = "Acme\u0000\u001b[31m"
    elif case == "a list":
        raw = b"[1, 2, 3]"
    elif case == "oversized":
        data["survey"]["use_case"] = "x" * (1024 * 1024 + 1)
    raw = raw if raw is not None else json.dumps(data).encode()
    if case == "no delivery id":
        answer = httpx.post(
            f"{receiver}/webhooks/access-requests", content=raw, headers={HEADER: sign("test-webhook-secret", raw)}
        )
    else:
        answer = post(receiver, raw, **kw)
    assert answer.status_code == status, answer.text
    assert words in json.dumps(answer.json())
    assert rows(store) == before


def test_the_same_delivery_sent_at_once_is_recorded_once(receiver, store, access_example):
    raw = json.dumps(access_example).encode()
    answers = []

    def send():
        answers.append(post(receiver, raw, delivery="a-race").status_code)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [200] * 7 + [202]
    assert len(repo(store).in_state(AccessState.requested)) == 1


def test_an_unreachable_store_answers_503(env, monkeypatch, access_example):
    from partner_review.models.settings import get_settings

    monkeypatch.setenv("PARTNER_REVIEW_DISPATCH", "off")
    monkeypatch.setenv(
        "PARTNER_REVIEW_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:9/none?connect_timeout=2"
    )
    get_settings.cache_clear()
    with running() as base:
        answer = post(base, json.dumps(access_example).encode())
    assert answer.status_code == 503 and "retry later" in answer.json()["error"]


# The checklist view and the gate ------------------------------------------------------------------


def test_the_checklist_needs_the_token_and_a_known_app(receiver, store, example):
    url = f"{receiver}/apps/acme-analytics/checklist"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"authorization": "Bearer wrong"}).status_code == 401
    good = {"authorization": "Bearer reader-token"}
    assert httpx.get(url, headers=good).status_code == 404
    assert post(receiver, json.dumps(example).encode(), path="/webhooks/submissions").status_code == 202
    answer = httpx.get(url, headers=good)
    assert answer.status_code == 200
    data = answer.json()
    assert data["app"] == "acme-analytics" and data["state"] == "submitted"
    from partner_review.tasks.lifecycle.checklist import REQUIREMENTS

    assert data["next_due"]["promise"] == "acknowledgment" and len(data["requirements"]) == len(REQUIREMENTS) == 13
    odd = httpx.get(f"{receiver}/apps/%E2%80%AE%00x/checklist", headers=good)
    assert odd.status_code == 404


def test_with_the_gate_on_a_submission_needs_an_approved_partner(store, monkeypatch, example, access_example):
    from partner_review.models.settings import get_settings

    monkeypatch.setenv("PARTNER_REVIEW_DISPATCH", "off")
    monkeypatch.setenv("PARTNER_REVIEW_REQUIRE_APPROVED_PARTNER", "1")
    get_settings.cache_clear()
    with running() as base:
        raw = json.dumps(example).encode()
        refused = post(base, raw, path="/webhooks/submissions", delivery="s-1")
        assert refused.status_code == 403 and "request access first" in refused.json()["error"]
        assert refused.json()["domains"] == ["acme.example"]
        rid = post(base, json.dumps(access_example).encode()).json()["access_request_id"]
        assert post(base, raw, path="/webhooks/submissions", delivery="s-2").status_code == 403  # requested only
        repo(store).decide(rid, AccessState.approved, actor="rita", reason="ok")
        assert post(base, raw, path="/webhooks/submissions", delivery="s-3").status_code == 202


def test_with_the_gate_off_the_submission_contract_is_unchanged(receiver, store, example):
    assert post(receiver, json.dumps(example).encode(), path="/webhooks/submissions", delivery="s-1").status_code == 202
