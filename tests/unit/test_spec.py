"""The Segment Spec models, the validator and the event generator (no server)."""

from __future__ import annotations

import json

import pytest

from partner_review.models import events as event_models
from partner_review.models.events import SEMANTIC, EventFactory, Stream
from partner_review.models.spec import (
    CALL_TYPES,
    RULES,
    Limits,
    encoded_size,
    is_event_name,
    semantic_name,
    validate,
    validate_batch,
)

SLUG = "acme-analytics"


def rules(event, **kwargs) -> set[str]:
    return {v.rule for v in validate(event, **kwargs)}


def good(call: str = "track", **fields):
    base = {
        "type": call,
        "userId": "u-1",
        "messageId": "m-1",
        "timestamp": "2026-11-20T10:00:00Z",
        "context": {"integration": {"name": SLUG, "version": "1.0.0"}},
    }
    if call == "track":
        base["event"] = "Report Viewed"
    if call == "group":
        base["groupId"] = "g-1"
    if call == "alias":
        base["previousId"] = "anon-1"
    base.update(fields)
    return base


# The generator ---------------------------------------------------------------------------------


def test_every_generated_call_and_semantic_event_is_valid():
    made = EventFactory(seed=3).one_of_each()
    assert [e["type"] for e in made[:6]] == list(CALL_TYPES)
    assert [e["event"] for e in made[6:]] == list(SEMANTIC)
    for event in made:
        assert validate(event) == [], event


def test_source_events_follow_the_source_rules_too():
    factory = EventFactory(seed=4, source=(SLUG, "1.0.0"))
    for event in factory.one_of_each() + factory.events(200):
        assert validate(event, source=True, slug=SLUG) == [], event
        assert event["userId"]
        assert event["context"]["integration"] == {"name": SLUG, "version": "1.0.0"}


def test_generation_is_deterministic_for_a_seed():
    assert EventFactory(seed=9).events(50) == EventFactory(seed=9).events(50)
    assert EventFactory(seed=9).events(50) != EventFactory(seed=10).events(50)
    assert event_models.generate(20, types=["page"]) == event_models.generate(20, types=["page"])


def test_events_carry_common_fields_and_unique_message_ids():
    made = EventFactory(seed=1).events(500)
    assert len({e["messageId"] for e in made}) == 500
    for event in made[:20]:
        assert event["context"]["library"] == {"name": "partner-review", "version": "0.1.0"}
        assert event["timestamp"].endswith("Z")


def test_generate_limits_call_types_and_adds_semantic_events_with_track():
    assert {e["type"] for e in event_models.generate(100, types=["page", "screen"])} == {"page", "screen"}
    names = {e.get("event") for e in event_models.generate(300, types=["track"])}
    assert {"Order Completed", "Product Added"} <= names


def test_batch_is_a_tracking_api_body_within_limits():
    body = EventFactory(seed=2).batch(100)
    assert validate_batch(body) == []
    assert all(validate(e) == [] for e in body["batch"])


def test_stream_varies_events_cheaply_and_stays_valid():
    stream = EventFactory(seed=5).stream(pool=8, prefix="run1")
    seen = set()
    for _ in range(40):
        event = stream.next()
        seen.add(event["messageId"])
        assert validate(event) == []
    encoded = [json.loads(stream.next_bytes()) for _ in range(40)]
    assert all(validate(e) == [] for e in encoded)
    seen |= {e["messageId"] for e in encoded}
    assert len(seen) == 80
    batch = json.loads(stream.batch_bytes(10))
    assert len(batch["batch"]) == 10 and validate_batch(batch) == []
    with pytest.raises(ValueError):
        Stream([])


# The validator: each rule --------------------------------------------------------------------


@pytest.mark.parametrize(
    "event, rule",
    [
        ([1, 2], "SPEC-001"),
        ("track", "SPEC-001"),
        ({"userId": "u"}, "SPEC-002"),
        ({"type": "Track", "userId": "u"}, "SPEC-002"),
        ({"type": "track", "event": "Report Viewed"}, "SPEC-003"),
        ({"type": "track", "event": "Report Viewed", "userId": "", "anonymousId": None}, "SPEC-003"),
        ({"type": "track", "userId": "u"}, "SPEC-005"),
        ({"type": "group", "userId": "u"}, "SPEC-005"),
        ({"type": "alias", "userId": "u"}, "SPEC-005"),
        ({"type": "track", "event": "Report Viewed", "userId": 42}, "SPEC-006"),
        ({"type": "track", "event": "Report Viewed", "userId": "u", "properties": []}, "SPEC-006"),
        ({"type": "identify", "userId": "u", "context": "web"}, "SPEC-006"),
        ({"type": "track", "event": "Report Viewed", "userId": "u", "messageId": "m" * 101}, "SPEC-007"),
        ({"type": "page", "userId": "u", "timestamp": "20/11/2026"}, "SPEC-008"),
        ({"type": "page", "userId": "u", "sentAt": "2026-11-20T10:00:00"}, "SPEC-008"),
        ({"type": "page", "userId": "u", "originalTimestamp": 1700000000}, "SPEC-008"),
        ({"type": "page", "userId": "u", "context": {"ip": 127}}, "SPEC-009"),
        ({"type": "page", "userId": "u", "context": {"library": {"name": ["x"]}}}, "SPEC-009"),
        ({"type": "page", "userId": "u", "context": {"active": "yes"}}, "SPEC-009"),
        ({"type": "identify", "userId": "u", "traits": {"email": 5}}, "SPEC-010"),
        ({"type": "identify", "userId": "u", "traits": {"age": "31"}}, "SPEC-010"),
        ({"type": "identify", "userId": "u", "traits": {"address": "1 Main St"}}, "SPEC-010"),
        ({"type": "identify", "userId": "u", "traits": {"birthday": "April 1st"}}, "SPEC-010"),
        ({"type": "group", "userId": "u", "groupId": "g", "traits": {"plan": 3}}, "SPEC-010"),
        ({"type": "track", "event": "Order Completed", "userId": "u", "properties": {"revenue": "9.99"}}, "SPEC-011"),
        (
            {"type": "track", "event": "Order Completed", "userId": "u", "properties": {"currency": "dollars"}},
            "SPEC-011",
        ),
        ({"type": "track", "event": "Order Completed", "userId": "u", "properties": {"value": True}}, "SPEC-011"),
        ({"type": "page", "userId": "u", "properties": {"url": 7}}, "SPEC-011"),
        ({"type": "page", "userId": "u", "properties": {"keywords": "a,b"}}, "SPEC-011"),
        ({"type": "screen", "userId": "u", "properties": {"name": {"x": 1}}}, "SPEC-011"),
        ({"type": "track", "event": "Report Viewed", "userId": "u", "properties": {"blob": "x" * 33_000}}, "SPEC-012"),
    ],
)
def test_each_rule_is_reported(event, rule):
    assert rule in rules(event)


def test_valid_events_of_every_call_have_no_violation():
    for call in CALL_TYPES:
        assert validate(good(call), source=True, slug=SLUG) == [], call


def test_violations_name_the_path_and_say_what_is_wrong():
    [violation] = validate({"type": "identify", "userId": "u", "traits": {"age": "31"}})
    assert violation.rule == "SPEC-010"
    assert violation.path == "traits.age"
    assert "number" in violation.message and "string" in violation.message


def test_timestamps_accept_iso_8601_with_time_zone():
    for value in (
        "2026-11-20T10:00:00Z",
        "2026-11-20T10:00:00.123Z",
        "2026-11-20T12:00:00+02:00",
        "2026-11-20T10:00:00.123456-05:00",
    ):
        assert validate(good(timestamp=value)) == [], value
    for value in ("2026-11-20", "2026-13-40T10:00:00Z", "yesterday", ""):
        assert "SPEC-008" in rules(good(timestamp=value)), value


def test_size_limit_follows_the_configured_limits():
    event = good(properties={"note": "x" * 2000})
    assert "SPEC-012" not in rules(event)
    assert "SPEC-012" in rules(event, limits=Limits(event_bytes=1024))
    assert encoded_size(event) > 2000


def test_malformed_input_never_raises():
    deep: dict = {}
    node = deep
    for _ in range(5000):
        node["x"] = {}
        node = node["x"]
    weird = [
        None,
        3,
        2.5,
        "str",
        [],
        {},
        {"type": None},
        {"type": ["track"]},
        {"type": "track", "event": 5},
        {"type": "track", "userId": "u", "event": "A", "properties": deep},
        {"type": "identify", "userId": "u", "traits": {"company": [1, 2]}},
        {"type": "track", "userId": "u", "event": "x" * 1_000_000},
    ]
    for event in weird:
        found = validate(event, source=True, slug=SLUG)
        assert isinstance(found, list)
    assert validate({}) and validate({"type": "track", "userId": "u", "event": "A", "properties": deep})


# Source-only rules -----------------------------------------------------------------------------


def test_source_rules_only_apply_to_sources():
    event = {"type": "track", "event": "purchase", "anonymousId": "a-1", "properties": {"orderID": "1"}}
    assert rules(event) == set()
    assert rules(event, source=True, slug=SLUG) == {"SPEC-004", "SPEC-013", "SPEC-015", "SPEC-016"}


def test_context_integration_must_name_the_app_slug_and_a_version():
    assert "SPEC-013" in rules(
        good(context={"integration": {"name": "acme", "version": "1.0.0"}}), source=True, slug=SLUG
    )
    assert "SPEC-013" in rules(good(context={"integration": {"name": SLUG, "version": "one"}}), source=True, slug=SLUG)
    assert "SPEC-013" in rules(good(context={}), source=True, slug=SLUG)
    assert "SPEC-013" not in rules(good(), source=True, slug=SLUG)


@pytest.mark.parametrize(
    "name, spec_name",
    [
        ("Purchase", "Order Completed"),
        ("Purchased", "Order Completed"),
        ("Checkout Complete", "Order Completed"),
        ("order_completed", "Order Completed"),
        ("OrderCompleted", "Order Completed"),
        ("Transaction", "Order Completed"),
        ("Add to Cart", "Product Added"),
        ("Viewed Product", "Product Viewed"),
        ("Begin Checkout", "Checkout Started"),
        ("product viewed", "Product Viewed"),
    ],
)
def test_semantic_synonyms_are_flagged_with_the_spec_name(name, spec_name):
    assert semantic_name(name) == spec_name
    [violation] = [v for v in validate(good(event=name), source=True, slug=SLUG) if v.rule == "SPEC-016"]
    assert f'"{spec_name}"' in violation.message


def test_spec_names_and_unrelated_names_are_not_synonyms():
    for name in ("Order Completed", "Product Added to Wishlist", "Report Viewed", "Invoice Paid"):
        assert semantic_name(name) is None, name


@pytest.mark.parametrize(
    "name, ok",
    [
        ("Report Viewed", True),
        ("Song Played", True),
        ("Invoice Sent", True),
        ("Product Added to Wishlist", True),
        ("report viewed", False),
        ("ReportViewed", False),
        ("Viewed", False),
        ("Report View", False),
        ("report_viewed", False),
        ("Report  Viewed", False),
    ],
)
def test_event_names_are_object_plus_past_tense_action_in_proper_case(name, ok):
    assert is_event_name(name) is ok
    assert ("SPEC-014" in rules(good(event=name), source=True, slug=SLUG)) is (not ok)


def test_property_names_are_snake_case_products_included():
    event = good(
        event="Order Completed",
        properties={"order_id": "o1", "orderTotal": 3, "products": [{"product_id": "p", "ImageURL": "x"}]},
    )
    paths = {v.path for v in validate(event, source=True, slug=SLUG) if v.rule == "SPEC-015"}
    assert paths == {"properties.orderTotal", "properties.products.0.ImageURL"}


def test_semantic_event_properties_have_spec_types():
    event = good(
        event="Order Completed",
        properties={"order_id": 12, "total": "30", "products": [{"product_id": "p-1", "price": "9", "quantity": 1.5}]},
    )
    paths = {v.path for v in validate(event, source=True, slug=SLUG) if v.rule == "SPEC-017"}
    assert paths == {
        "properties.order_id",
        "properties.total",
        "properties.products.0.price",
        "properties.products.0.quantity",
    }
    fine = EventFactory(seed=1, source=(SLUG, "1.0.0")).order_completed()
    assert validate(fine, source=True, slug=SLUG) == []


# Batches and rule metadata -------------------------------------------------------------------


def test_batch_limits():
    assert validate_batch([]) and validate_batch({"events": []})
    small = Limits(batch_events=3, batch_bytes=10_000)
    assert validate_batch({"batch": [good()] * 3}, limits=small) == []
    assert "4 events" in validate_batch({"batch": [good()] * 4}, limits=small)[0].message
    assert validate_batch({"batch": [good()] * 2}, size=20_000, limits=small)[0].rule == "batch"


def test_every_rule_reported_has_metadata():
    produced = set()
    samples = [
        [1],
        {"userId": "u"},
        {"type": "track"},
        {
            "type": "track",
            "userId": 3,
            "event": "x",
            "messageId": "m" * 200,
            "timestamp": "x",
            "context": {"ip": 1, "integration": {}},
            "properties": {"revenue": "1", "Bad Key": 1, "blob": "x" * 40_000},
        },
        {"type": "identify", "userId": "u", "traits": {"age": "1"}},
        {"type": "track", "userId": "u", "event": "Purchase"},
        {"type": "track", "userId": "u", "event": "Order Completed", "properties": {"total": "1"}},
    ]
    for event in samples:
        produced |= rules(event, source=True, slug=SLUG)
    assert produced <= set(RULES)
    assert produced == set(RULES)  # the samples exercise every rule
    for rule in RULES.values():
        assert rule.title and rule.remedy and rule.severity in ("blocker", "warning", "info")
