"""One stage or one check: only the selected stages are called, only the selected results reported."""

import asyncio
import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from partner_review.models.submission import parse_submission
from partner_review.tasks import pipeline
from partner_review.tasks.selection import PIPELINE_STAGES, Selection, UnknownName

STAGE_OF = {
    pipeline.verify_catalog: "catalog",
    pipeline.lint_documentation: "docs",
    pipeline.check_links: "links",
    pipeline.run_e2e_suite: "e2e",
    pipeline.check_replay: "replay",
    pipeline.check_sources: "spec",
    pipeline.load_test: "volume",
    pipeline.check_update: "compat",
    pipeline.check_security: "security",
}


def run(example, only, *, offline=True, released=None):
    """run_checks with a call hook that records which stages were called."""
    called: list[str] = []

    async def recording(stage, *args, **kwargs):
        called.append(STAGE_OF[stage])
        return await stage(*args, **kwargs)

    results = asyncio.run(
        pipeline.run_checks(parse_submission(example), offline=offline, call=recording, only=only, released=released)
    )
    return results, called


def test_every_pipeline_stage_has_its_function():
    assert set(STAGE_OF.values()) == set(PIPELINE_STAGES)


@pytest.mark.parametrize("stage", PIPELINE_STAGES)
def test_one_stage_calls_that_stage_alone_and_reports_all_of_it(example, stage):
    results, called = run(example, Selection.of(stages=[stage]))
    assert called == [stage]
    assert results and {r.stage for r in results} == {stage}
    everything, _ = run(example, None)
    assert [r.check for r in results] == [r.check for r in everything if r.stage == stage]


def test_one_check_runs_its_stage_and_reports_that_check(example):
    results, called = run(example, Selection.of(checks=["cat-002"]))
    assert called == ["catalog"] and [r.check for r in results] == ["CAT-002"]


def test_stages_and_checks_combine(example):
    results, called = run(example, Selection.of(stages=["compat"], checks=["DOC-001", "CAT-002"]))
    assert sorted(called) == ["catalog", "compat", "docs"]
    assert {r.check for r in results if r.stage != "compat"} == {"DOC-001", "CAT-002"}
    assert {r.stage for r in results} == {"catalog", "compat", "docs"}


def test_docs_alone_runs_without_e2e_and_says_it_did_not_compare(example):
    """Online too: e2e is not called (no traffic to the partner) and DOC-013 says why it could not compare."""
    example = copy.deepcopy(example)
    results, called = run(example, Selection.of(checks=["DOC-013"]), offline=False)
    assert called == ["docs"]
    (doc013,) = results
    assert doc013.outcome == "skip" and "end-to-end stage did not run" in doc013.message


def test_a_check_of_compat_with_a_released_version(example):
    released = copy.deepcopy(example)
    released["version"] = 1
    example = copy.deepcopy(example)
    example["version"] = 2
    example["components"].pop()  # the source is gone: UPD-003 fails
    results, called = run(example, Selection.of(checks=["UPD-003"]), released=parse_submission(released))
    assert called == ["compat"]
    assert [(r.check, r.outcome) for r in results] == [("UPD-003", "fail")]


@pytest.mark.parametrize(
    "stages,checks,words",
    [
        (["graduation"], [], "unknown stage 'graduation'"),  # a flow of its own, not part of `check`
        (["Ｄocs"], [], "unknown stage"),  # a fullwidth letter is not the stage
        ([], ["GRD-001"], "unknown check 'GRD-001'"),
        ([], ["CAT-００２"], "unknown check"),  # fullwidth digits are not an id
        ([], ["CAT-002\nCAT-003"], "unknown check 'CAT-002\\nCAT-003'"),
    ],
)
def test_unknown_names_are_refused_with_the_valid_ones(stages, checks, words):
    with pytest.raises(UnknownName) as refused:
        Selection.of(stages=stages, checks=checks)
    message = str(refused.value)
    assert words in message and "\n" not in message
    assert ("catalog, docs, links" in message) if stages else ("CAT-001, CAT-002" in message)
    assert "GRD-" not in message.split("one of:")[1] and "ACC-" not in message.split("one of:")[1]


@given(st.text(max_size=40))
def test_any_name_is_selected_or_refused_on_one_line(name):
    for kwargs in ({"stages": [name]}, {"checks": [name]}):
        try:
            chosen = Selection.of(**kwargs)
        except UnknownName as error:
            assert "\n" not in str(error)
        else:
            assert len(chosen.called) == 1
