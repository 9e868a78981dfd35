"""The review of an update: replay measured and told to the partner, compat against the live version."""

import copy

import pytest

from tests.flows.support import report_of, review, submit

pytestmark = pytest.mark.prefect


async def test_an_update_of_a_live_app_is_gated_against_its_released_version(prefect_harness, store, example):
    from partner_review.tasks.lifecycle.messages import REPLAY_QUESTION

    first = submit(store, copy.deepcopy(example))
    assert (await review(first, "approve"))["state"] == "public_beta"
    _, first_results = store.latest_review(first)
    compat = [r for r in first_results if r.stage == "compat"]
    assert compat and all(r.outcome == "skip" and "no live version" in r.message for r in compat)
    assert "Replay compatible\\: yes" in await report_of("acme-analytics")
    approval = [n for n in store.notifications(first) if n.kind == "approve"][0]
    assert REPLAY_QUESTION in approval.body and "What the review measured: Replay compatible: yes" in approval.body

    example["version"] = 2
    example["components"].pop()  # the source is gone: customers using it would break
    second = submit(store, example, delivery="d-2")
    outcome = await review(second, "request_changes")
    assert outcome["verdict"] == "fail"
    _, results = store.latest_review(second)
    by_id = {r.check: r for r in results}
    assert by_id["UPD-003"].outcome == "fail" and by_id["UPD-003"].evidence["released_version"] == 1
    assert "source 'Acme Analytics Events'" in by_id["UPD-003"].message
    assert by_id["UPD-004"].outcome == "pass"
    assert "Update\\-compatibility \\(UPD\\) checks flipped since v1\\: none" in await report_of("acme-analytics")
    # The same traffic to the live v1 and to v2 (one sample partner behind both): the same answers.
    assert {by_id[c].outcome for c in ("CMP-001", "CMP-002", "CMP-003")} == {"pass"}
    assert "beside new v2" in await report_of("acme-analytics")
