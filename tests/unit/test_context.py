"""Context passed in: a run's settings reach every stage (and the worker processes) as a parameter,
not through the environment, so two runs with different settings can sit side by side."""

from __future__ import annotations

import asyncio

import pytest

from partner_review.models.settings import Settings, get_settings
from partner_review.models.submission import parse_submission
from partner_review.tasks.context import Context, NoStore
from partner_review.tasks.pipeline import run_checks
from partner_review.tasks.selection import Selection


def test_the_settings_passed_in_decide_not_the_process_ones(example):
    submission = parse_submission(example)
    strict = Settings(description_max_chars=10)
    assert get_settings().description_max_chars > 10
    only = Selection.of(checks=["CAT-003"])

    async def both():
        return await asyncio.gather(
            run_checks(submission, offline=True, only=only, settings=strict),
            run_checks(submission, offline=True, only=only, settings=get_settings()),
        )

    (judged_strictly,), (judged_by_default,) = asyncio.run(both())  # the catalog runs in a worker process
    assert judged_strictly.outcome == "fail" and "more than 10" in judged_strictly.message
    assert judged_by_default.outcome == "pass"


def test_a_context_without_a_store_says_so():
    with pytest.raises(NoStore):
        _ = Context.of(get_settings()).store


async def test_the_context_client_follows_its_settings():
    ctx = Context.of(Settings(http_max_redirects=2))
    async with ctx.http() as http:
        assert http.max_redirects == 2
    assert ctx.now().tzinfo is not None
