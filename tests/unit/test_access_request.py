"""The access request model (contract section 7) and its store, on SQLite and PostgreSQL."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partner_review.models.access import (
    AccessDecided,
    AccessState,
    InvalidAccessRequest,
    parse_access_request,
)
from partner_review.models.checks import Result
from partner_review.models.store import NotFound
from tests.conftest import EXAMPLES

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def request_data(shared_dir) -> dict:
    return json.loads((shared_dir / "contract" / "access-request.example.json").read_text())


def test_the_contract_example_is_valid(request_data):
    parsed = parse_access_request(request_data)
    assert parsed.company.name == "Acme Analytics Inc." and parsed.agreed_to_partner_terms is True
    assert parsed.model_dump(mode="json") == request_data


def test_the_bundled_example_is_the_contract_example(request_data):
    """examples/access-request.json (the demo's, where ../shared is absent) is the contract's."""
    assert json.loads((EXAMPLES / "access-request.json").read_text()) == request_data


@pytest.mark.parametrize(
    "change,path",
    [
        (lambda d: d["company"].update(webiste="x"), "company.webiste: unknown field"),
        (lambda d: d.update(extra=1), "extra: unknown field"),
        (lambda d: d.update(agreed_to_partner_terms="true"), "agreed_to_partner_terms"),
        (lambda d: d.update(agreed_to_partner_terms=1), "agreed_to_partner_terms"),
        (lambda d: d["company"].update(name=10**400), "company.name"),
        (lambda d: d["company"].update(name="Acme\x00Inc"), "company.name: Value error, control characters"),
        (lambda d: d["contact"].update(email="dana@acme.example\r\nBcc: x@y.z"), "contact.email"),
        (lambda d: d["contact"].pop("email"), "contact.email: required field is missing"),
        (lambda d: d["survey"].update(use_case={"a": [1]}), "survey.use_case"),
        (lambda d: d["company"].update(name="x" * 201), "company.name"),
        (lambda d: d.update(company=[]), "company"),
    ],
)
def test_bad_requests_are_refused_with_the_field_path(request_data, change, path):
    change(request_data)
    with pytest.raises(InvalidAccessRequest) as caught:
        parse_access_request(request_data)
    assert any(p.startswith(path) for p in caught.value.problems), caught.value.problems


def test_survey_answers_may_hold_line_breaks_and_missing_ones_are_for_the_checks(request_data):
    request_data["survey"]["use_case"] = "Line one.\nLine two,\tindented."
    del request_data["survey"]["heard_from"]
    parsed = parse_access_request(request_data)
    assert parsed.answers()["heard_from"] is None


def test_deep_nesting_is_a_problem_not_a_crash():
    deep: object = "x"
    for _ in range(5000):
        deep = {"a": deep}
    with pytest.raises(InvalidAccessRequest):
        parse_access_request({"company": deep, "contact": {}, "agreed_to_partner_terms": True})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=30,
    )
)
def test_any_json_either_parses_or_is_refused_with_problems(data):
    try:
        parse_access_request(data)
    except InvalidAccessRequest as error:
        assert error.problems


# The store --------------------------------------------------------------------------------------


def record(store, data, delivery="a-1", domain="acme.example"):

    return store.access.record_delivery(
        delivery,
        b"body",
        parse_access_request(data),
        domain=domain,
        received_at=NOW,
        decision_due_at=NOW + timedelta(days=1),
    )


def test_intake_records_the_request_its_first_transition_and_a_pending_dispatch(store, request_data):

    intake = record(store, request_data)
    assert intake.created and intake.status == "requested"
    repo = store.access
    stored = repo.get(intake.access_request_id)
    assert stored.state == AccessState.requested and stored.domain == "acme.example" and stored.received_at == NOW
    assert stored.request.contact.email == "dana.reyes@acme.example"
    assert [(t.from_state, t.to_state, t.actor) for t in repo.transitions(stored.id)] == [
        (None, "requested", "partner")
    ]
    assert repo.pending_dispatches() == [stored.id]
    assert repo.delivery_of(stored.id) == "a-1"


def test_redelivery_returns_the_original_and_records_nothing(store, request_data):

    first = record(store, request_data)
    again = record(store, request_data)
    assert again == type(first)(first.access_request_id, "requested", False)
    assert len(store.access.pending_dispatches()) == 1


def test_a_decision_is_a_transition_taken_once(store, request_data):

    repo = store.access
    rid = record(store, request_data).access_request_id
    decided = repo.decide(rid, AccessState.approved, actor="rita", reason="Known company.")
    assert decided.state == AccessState.approved and decided.decided_at is not None
    with pytest.raises(AccessDecided):
        repo.decide(rid, AccessState.rejected, actor="sam")
    assert [(t.to_state, t.actor, t.reason) for t in repo.transitions(rid)][1:] == [
        ("approved", "rita", "Known company.")
    ]
    assert [r.id for r in repo.approved_for(["acme.example"])] == [rid]
    assert repo.approved_for(["acme.example"], other_than=rid) == []
    assert repo.approved_for(["other.example"]) == []
    with pytest.raises(NotFound):
        repo.decide("nope", AccessState.approved, actor="x")


def test_check_runs_are_reused_by_a_retried_flow_run(store, request_data):

    repo = store.access
    rid = record(store, request_data).access_request_id
    run = repo.start_review(rid, "flow-1")
    assert repo.start_review(rid, "flow-1") == run
    result = Result(
        check="ACC-001", stage="access", severity="blocker", outcome="pass", message="ok", evidence={"url": "x"}
    )
    repo.save_review(run, [result], "pass")
    repo.save_review(run, [result], "pass")
    latest = repo.latest_review(rid)
    assert latest.results == [result] and latest.verdict == "pass" and latest.status == "completed"


def test_dispatch_is_claimed_once(store, request_data):

    repo = store.access
    rid = record(store, request_data).access_request_id
    assert repo.claim_dispatch(rid) and not repo.claim_dispatch(rid)
    repo.dispatch_failed(rid, "api down")
    assert repo.pending_dispatches() == [rid]
    repo.dispatch_done(rid, "run-1")
    assert repo.pending_dispatches() == [] and repo.get(rid).flow_run_id == "run-1"
