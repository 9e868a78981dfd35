"""A stage's results replaced in a finished review run (the `rerun-stage` flow), through the store's sessions."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import delete, select

from partner_review.models.checks import Result, Verdict
from partner_review.models.db import CheckResultRow, DecisionRow, ReviewRunRow
from partner_review.models.store import AlreadyDecided, NotFound, Store
from partner_review.models.store.reviews import result_row, stored_result


class NotFinished(ValueError):
    """The review run's automated checks are still running: a re-run would race with them."""


def replace_stage_results(
    store: Store,
    review_run_id: int,
    stages: Sequence[str],
    results: Sequence[Result],
    judge: Callable[[list[Result]], Verdict],
) -> list[Result]:
    """The run's results with those of `stages` replaced by `results` where they stood, and the run's
    verdict set to `judge(all results)`; in one transaction that holds the run's row, so concurrent
    re-runs of two stages both land. NotFinished while the run's checks run, AlreadyDecided once decided."""
    replaced = set(stages)
    with store.session() as session, session.begin():
        run = session.execute(
            select(ReviewRunRow).where(ReviewRunRow.id == review_run_id).with_for_update()
        ).scalar_one_or_none()
        if run is None:
            raise NotFound(f"no review run {review_run_id}")
        if run.status != "completed":
            raise NotFinished(f"review run {review_run_id} is still running its checks; re-run a stage once it waits")
        if session.execute(select(DecisionRow.id).where(DecisionRow.review_run_id == review_run_id)).first():
            raise AlreadyDecided(f"review run {review_run_id} is already decided; its results stay as decided")
        before = [
            stored_result(row)
            for row in session.execute(
                select(CheckResultRow).where(CheckResultRow.review_run_id == review_run_id).order_by(CheckResultRow.id)
            ).scalars()
        ]
        at = next((i for i, r in enumerate(before) if r.stage in replaced), len(before))
        kept = [r for r in before if r.stage not in replaced]
        merged = kept[:at] + list(results) + kept[at:]
        session.execute(delete(CheckResultRow).where(CheckResultRow.review_run_id == review_run_id))
        session.add_all(result_row(review_run_id, r) for r in merged)
        run.verdict = judge(merged)
        return merged
