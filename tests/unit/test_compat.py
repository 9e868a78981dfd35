"""Stage `compat`: the update gate, as pure functions and with the released version from the store."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from partner_review.models.checks import verdict
from partner_review.models.lifecycle import State
from partner_review.models.submission import parse_submission
from partner_review.tasks.compat import gate
from partner_review.tasks.compat.released import released_version

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def version(example: dict, number: int = 2, edit=None):
    data = copy.deepcopy(example)
    data["version"] = number
    if edit:
        edit(data)
    return parse_submission(data)


def destination(data: dict) -> dict:
    return data["components"][0]


def outcomes(new, released) -> dict[str, str]:
    return {r.check: r.outcome for r in gate.check_compat(new, released)}


def test_an_unchanged_update_passes_every_check(example):
    results = gate.check_compat(version(example), version(example, 1))
    assert [r.check for r in results] == [c.id for c in gate.CHECKS]
    assert {r.outcome for r in results} == {"pass"}
    assert results[0].evidence["released_version"] == 1 and results[0].evidence["new_version"] == 2


@pytest.mark.parametrize(
    "edit, check, words",
    [
        (
            lambda d: destination(d)["settings"].append({"key": "region", "label": "Region", "required": True}),
            "UPD-001",
            "Acme Analytics.region (was absent)",
        ),
        (lambda d: destination(d)["supported_calls"].remove("alias"), "UPD-002", "Acme Analytics: alias"),
        (lambda d: d["components"].pop(1), "UPD-003", "source 'Acme Analytics Events'"),
        (lambda d: destination(d).update(name="Acme Analytics v2"), "UPD-003", "renamed component is a removed one"),
        (lambda d: d["app"].update(slug="acme-analytics-2"), "UPD-004", "from 'acme-analytics' to 'acme-analytics-2'"),
    ],
)
def test_breaking_changes_are_blockers(example, edit, check, words):
    results = gate.check_compat(version(example, edit=edit), version(example, 1))
    failed = {r.check: r for r in results if r.outcome == "fail"}
    assert set(failed) == {check} and words in failed[check].message
    assert verdict(results) == "fail"


def test_an_optional_setting_that_becomes_required_is_a_blocker(example):
    def optional(d):
        destination(d)["settings"].append({"key": "region", "label": "Region", "required": False})

    def required(d):
        destination(d)["settings"].append({"key": "region", "label": "Region", "required": True})

    result = gate.required_settings(version(example, 3, required), version(example, 2, optional))
    assert result.outcome == "fail" and "(was optional)" in result.message


@pytest.mark.parametrize(
    "edit, check, words",
    [
        (lambda d: d["app"].update(name="Acme Insights"), "UPD-005", "from 'Acme Analytics' to 'Acme Insights'"),
        (lambda d: destination(d)["settings"][0].update(label="Secret key"), "UPD-006", "'API Key' -> 'Secret key'"),
    ],
)
def test_renames_are_warnings(example, edit, check, words):
    results = gate.check_compat(version(example, edit=edit), version(example, 1))
    warned = {r.check: r for r in results if r.outcome == "warn"}
    assert set(warned) == {check} and words in warned[check].message
    assert verdict(results) == "pass"


def test_additions_pass_and_are_named(example):
    def grow(d):
        destination(d)["settings"].append({"key": "region", "label": "Region"})
        d["components"].append({**copy.deepcopy(destination(d)), "name": "Acme EU"})

    def shrink(d):
        destination(d)["supported_calls"] = ["identify", "track"]

    by_id = {r.check: r for r in gate.check_compat(version(example, edit=grow), version(example, 1, edit=shrink))}
    assert {r.outcome for r in by_id.values()} == {"pass"}
    assert "new optional settings: Acme Analytics.region" in by_id["UPD-001"].message
    assert "newly supported: Acme Analytics: alias, group, page, screen" in by_id["UPD-002"].message
    assert "new: destination 'Acme EU'" in by_id["UPD-003"].message


def test_without_a_released_version_every_check_is_skipped_with_the_reason(example):
    results = gate.check_compat(version(example), None, reason="pass --against RELEASED.json")
    assert {r.outcome for r in results} == {"skip"} and len(results) == len(gate.CHECKS)
    assert all(r.message == "pass --against RELEASED.json" for r in results)


keys = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=6
)  # the schema refuses control characters


@settings(max_examples=150, deadline=None)
@given(
    before=st.dictionaries(keys, st.tuples(st.booleans(), keys), max_size=5),
    after=st.dictionaries(keys, st.tuples(st.booleans(), keys), max_size=5),
)
def test_required_settings_fail_exactly_when_a_setting_became_required(before, after):
    def submission(number, found):
        data = {
            "version": number,
            "app": {"name": "A", "slug": "a"},
            "components": [
                {
                    "type": "destination",
                    "name": "D",
                    "endpoint": "https://d.example/v1/events",
                    "auth": {"scheme": "bearer", "secret": "s"},
                    "settings": [{"key": k, "label": lbl, "required": r} for k, (r, lbl) in found.items()],
                }
            ],
        }
        return parse_submission(data)

    result = gate.required_settings(submission(2, after), submission(1, before))
    newly = {k for k, (r, _) in after.items() if r and not before.get(k, (False, ""))[0]}
    assert (result.outcome == "fail") == bool(newly)
    assert {r["setting"] for r in result.evidence["newly_required"]} == newly


# The released version in the store ------------------------------------------------------------


def record(store, example, number: int, delivery: str, edit=None, state: State | None = None):
    submission = version(example, number, edit)
    intake = store.record_delivery(
        delivery, b"body", submission, received_at=NOW + timedelta(minutes=number), ack_due_at=NOW + timedelta(days=2)
    )
    path = {State.public_beta: [State.acknowledged, State.in_review, State.public_beta]}
    path[State.public] = [*path[State.public_beta], State.public]
    path[State.changes_requested] = [State.acknowledged, State.in_review, State.changes_requested]
    for target in path.get(state, []) if state else []:
        store.transition(intake.submission_id, target, actor="test")
    return store.get_submission(intake.submission_id)


def test_released_is_the_latest_live_version(store, example):
    first = record(store, example, 1, "d-1", state=State.public)
    assert released_version(store, first) is None  # itself is not its own release
    record(store, example, 2, "d-2", state=State.changes_requested)
    third = record(store, example, 3, "d-3")
    found = released_version(store, third)
    assert found is not None and found.id == first.id and found.version == 1


def test_an_app_not_live_has_no_released_version(store, example):
    record(store, example, 1, "d-1", state=State.changes_requested)
    second = record(store, example, 2, "d-2")
    assert released_version(store, second) is None
    assert {r.outcome for r in gate.check_compat(second.submission, None)} == {"skip"}


def test_a_changed_slug_finds_the_release_by_name(store, example):
    live = record(store, example, 1, "d-1", state=State.public_beta)
    moved = record(store, example, 2, "d-2", edit=lambda d: d["app"].update(slug="acme-analytics-next"))
    found = released_version(store, moved)
    assert found is not None and found.id == live.id
    by_id = {r.check: r for r in gate.check_compat(moved.submission, found.submission)}
    assert by_id["UPD-004"].outcome == "fail"


def test_the_resubmission_diff_names_the_upd_checks_that_flipped(example):
    from partner_review.tasks.lifecycle.diff import compare

    released = version(example, 1)
    broken = version(example, 2, lambda d: d["components"].pop())
    fixed = version(example, 3, lambda d: d["app"].update(name="Acme Insights"))
    before, after = gate.check_compat(broken, released), gate.check_compat(fixed, released)
    diff = compare(broken.public_dict(), before, fixed.public_dict(), after, previous_id="s-2", previous_version=2)
    assert diff.compat_flipped == ["UPD-003 fail -> pass", "UPD-005 pass -> warn"]
    assert (
        "Update-compatibility (UPD) checks flipped since v2: UPD-003 fail -> pass, UPD-005 pass -> warn" in diff.lines()
    )
    assert "UPD-003" in diff.now_passing
    first = compare({}, [], fixed.public_dict(), gate.check_compat(fixed, None), previous_id="s-1", previous_version=1)
    assert not any("UPD" in line for line in first.lines())  # no gate ran: no line about it


# The behaviour checks (CMP-*) as objects, on hand-built answers: nothing sent -------------------


def _said(verdict: str, status: int | None, shape: str = "empty") -> dict:
    klass = f"{status // 100}xx" if status else "none"
    return {"answer": verdict, "status": status, "class": klass, "shape": shape, "detail": ""}


def _compared(live: list[dict], new: list[dict]):
    from partner_review.tasks.compat.behaviour import Compared, Probe

    probes = (Probe("track", {}), Probe("no credential", {}, credential="none"))
    return Compared(probes, tuple(live), tuple(new), versions={"live_version": 1, "new_version": 2})


def test_cmp_a_request_the_new_version_refuses_blocks_and_names_it():
    from partner_review.tasks.compat import behaviour

    subject = _compared([_said("accepted", 200), _said("refused", 401)], [_said("refused", 400), _said("refused", 401)])
    kept = behaviour.KEPT.run(subject)
    assert kept.outcome == "fail"
    assert kept.message == (
        "requests the live version accepts are refused by the new one: track: the live version accepts it (200), "
        "the new one refused it (400)"
    )
    assert kept.evidence["requests"][0]["finding"] == "CMP-001" and kept.evidence["live_version"] == 1
    assert behaviour.AUTH_KEPT.run(subject).outcome == "pass"


def test_cmp_credentials_no_longer_required_and_an_unanswered_live_side():
    from partner_review.tasks.compat import behaviour

    open_door = _compared(
        [_said("accepted", 200), _said("refused", 401)], [_said("accepted", 200), _said("accepted", 200)]
    )
    assert behaviour.AUTH_KEPT.run(open_door).message.startswith("credentials are no longer required: no credential")
    silent = {**_said("no answer", None), "detail": "timed out"}
    unmade = _compared([silent, _said("refused", 401)], [_said("accepted", 200), _said("refused", 401)])
    result = behaviour.KEPT.run(unmade)
    assert result.outcome == "error" and result.message == "no comparison, not a pass: track: timed out"
