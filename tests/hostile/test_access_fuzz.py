"""Hostile bodies at POST /webhooks/access-requests: every answer a 4xx or a 2xx, never a 500."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partner_review.webhooks.signing import DELIVERY_HEADER, HEADER, sign
from tests.hostile.conftest import SECRET

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False)
    | st.text(alphabet=st.characters(codec="utf-8")),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=20), inner, max_size=5),
    max_leaves=25,
)
FIELDS = {
    "company": st.fixed_dictionaries({"name": st.text(max_size=50), "website": st.text(max_size=50)}),
    "contact": st.fixed_dictionaries({"name": st.text(max_size=50), "email": st.text(max_size=50)}),
    "survey": st.dictionaries(st.sampled_from(["use_case", "heard_from", "where_data_goes", "x"]), json_values),
    "agreed_to_partner_terms": json_values,
}
near_valid = st.fixed_dictionaries({}, optional=FIELDS)
counter = iter(range(10**9))


def deliver(client, body: bytes):
    headers = {"content-type": "application/json", DELIVERY_HEADER: f"fuzz-{next(counter)}", HEADER: sign(SECRET, body)}
    return client.post("/webhooks/access-requests", content=body, headers=headers)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(json_values, near_valid))
def test_any_json_body_gets_a_named_answer(receiver_client, data):
    answer = deliver(receiver_client, json.dumps(data).encode())
    assert answer.status_code in (200, 202, 400, 422), answer.text
    if answer.status_code == 422:
        assert answer.json()["fields"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300))
def test_any_bytes_get_a_named_answer(receiver_client, body):
    assert deliver(receiver_client, body).status_code in (200, 202, 400, 422)


def test_the_checklist_path_takes_any_slug(receiver_client):
    auth = {"authorization": "Bearer hostile-reader-token"}
    for slug in ["%00", "a" * 5000, "%F0%9F%92%A9", "..%2F..", "x%0d%0aSet-Cookie:%20a"]:
        assert receiver_client.get(f"/apps/{slug}/checklist", headers=auth).status_code == 404
