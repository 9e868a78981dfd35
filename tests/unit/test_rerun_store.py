"""A stage's results replaced in a review run: in place, re-judged, refused while running or once decided."""

import pytest

from partner_review.models.checks import verdict
from partner_review.models.store import AlreadyDecided, NotFinished
from tests.flows.support import submit


def _results():
    from partner_review.models.checks import REGISTRY
    from partner_review.tasks.registry import all_checks

    all_checks()
    cat, doc, upd = REGISTRY["CAT-002"], REGISTRY["DOC-001"], REGISTRY["UPD-001"]
    return cat, doc, upd


def test_a_stage_is_replaced_in_place_and_the_run_judged_again(store, example):
    cat, doc, upd = _results()
    sid = submit(store, example)
    run_id = store.start_review_run(sid, None)
    with pytest.raises(NotFinished):
        store.replace_stage_results(run_id, ["docs"], [doc.passed()], verdict)
    store.save_results(run_id, [cat.passed(), doc.failed("broken"), upd.passed()], "fail")

    merged = store.replace_stage_results(run_id, ["docs"], [doc.passed("fixed")], verdict)
    assert [(r.check, r.outcome) for r in merged] == [("CAT-002", "pass"), ("DOC-001", "pass"), ("UPD-001", "pass")]
    assert store.results_of(run_id) == merged and store.review_run(run_id).verdict == "pass"

    store.record_decision(run_id, sid, decision="approve", reviewer="rita", comment="")
    with pytest.raises(AlreadyDecided):
        store.replace_stage_results(run_id, ["docs"], [doc.failed("again")], verdict)
    assert store.results_of(run_id) == merged
