"""The Spec checks (SPEC-*) as objects, each run on a hand-built `SourceEvents` subject."""

from __future__ import annotations

from partner_review.tasks.spec import sources as spec


def tally(checked: int, **offending: int) -> spec.Tally:
    found = spec.Tally(checked=checked)
    for rule, count in offending.items():
        rule = rule.replace("_", "-")
        found.offending[rule] = count
        found.found[rule] = [{"origin": "sample_events[2]", "message": "type is missing"}]
    return found


def test_a_rule_counts_the_events_that_break_it():
    subject = spec.SourceEvents("Acme Events", tally(4, SPEC_002=2), not_checked=3)
    broken = spec.RULE_CHECKS["SPEC-002"].run(subject)
    assert broken.outcome == "fail" and broken.check == "SPEC-002"
    assert broken.message == "Acme Events: 2 of 4 events break this rule; first, sample_events[2]: type is missing"
    assert broken.evidence["offending_events"] == 2 and broken.evidence["events_not_checked"] == 3
    kept = spec.RULE_CHECKS["SPEC-003"].run(subject)
    assert kept.outcome == "pass" and kept.message == "Acme Events: all 4 events follow this rule"


def test_without_events_every_rule_is_skipped_with_what_events_url_gave():
    offline = spec.SourceEvents("Acme Events", spec.Tally(), no_events=True, url="https://a.example/e", offline=True)
    rule = spec.RULE_CHECKS["SPEC-001"].run(offline)
    assert rule.not_run == "offline" and rule.message.startswith(
        "Acme Events: no events to check (Acme Events: offline"
    )
    gone = spec.EventsFetched(
        "events_url answered 404; it must answer 200 with the events", {"url": "u", "status": 404}
    )
    failed = spec.SourceEvents("Acme Events", spec.Tally(), no_events=True, url="u", fetched=gone)
    assert spec.RULE_CHECKS["SPEC-001"].run(failed).not_run == "not-verified"
    url = spec.EVENTS_URL.run(failed)
    assert (
        url.outcome == "fail"
        and url.message == "Acme Events: events_url answered 404; it must answer 200 with the events"
    )
    assert url.evidence == {"component": "Acme Events", "url": "u", "status": 404}


def test_events_url_object_judges_what_was_served():
    served = spec.EventsFetched(None, text="[]", size=120)
    subject = spec.SourceEvents("Acme Events", tally(5), url="u", fetched=served, served=5)
    found = spec.EVENTS_URL.run(subject)
    assert found.outcome == "pass" and found.message == "Acme Events: events_url served 5 events"
    assert found.evidence == {"component": "Acme Events", "url": "u", "bytes": 120, "events": 5}
    empty = spec.EVENTS_URL.run(spec.SourceEvents("Acme Events", tally(0), url="u", fetched=served))
    assert empty.outcome == "fail" and empty.message == "Acme Events: events_url serves no events"
    assert spec.EVENTS_URL.run(spec.SourceEvents("Acme Events", tally(1))).not_run == "not-applicable"
