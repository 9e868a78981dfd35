"""Review runs and their check results."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select, update

from partner_review.models.checks import Result, Verdict
from partner_review.models.db import CheckResultRow, ReviewRunRow, utcnow
from partner_review.models.store.base import NotFound, StoreBase


class ReviewStore(StoreBase):
    def start_review_run(self, submission_id: str, flow_run_id: str | None, *, kind: str = "review") -> int:
        """The review run of a flow run; a retried flow run reuses its row. Scheduled checks
        (`graduation`, `recheck`) record their runs with kind set and no flow run id of their own."""
        with self.session() as session, session.begin():
            if flow_run_id:
                found = session.execute(
                    select(ReviewRunRow).where(ReviewRunRow.flow_run_id == flow_run_id)
                ).scalar_one_or_none()
                if found:
                    return found.id
            row = ReviewRunRow(submission_id=submission_id, flow_run_id=flow_run_id, kind=kind)
            session.add(row)
            session.flush()
            return row.id

    def save_results(self, review_run_id: int, results: Iterable[Result], verdict: Verdict) -> None:
        """Replace the run's results (a retry writes the same set again, not twice)."""
        with self.session() as session, session.begin():
            session.execute(delete(CheckResultRow).where(CheckResultRow.review_run_id == review_run_id))
            session.add_all(result_row(review_run_id, r) for r in results)
            session.execute(
                update(ReviewRunRow)
                .where(ReviewRunRow.id == review_run_id)
                .values(status="completed", verdict=verdict, finished_at=utcnow())
            )

    def latest_review(self, submission_id: str, *, kind: str = "review") -> tuple[ReviewRunRow, list[Result]] | None:
        with self.session() as session:
            run = session.execute(
                select(ReviewRunRow)
                .where(ReviewRunRow.submission_id == submission_id, ReviewRunRow.kind == kind)
                .order_by(ReviewRunRow.id.desc())
                .limit(1)
            ).scalar_one_or_none()
        return (run, self.results_of(run.id)) if run else None

    def results_of(self, review_run_id: int) -> list[Result]:
        with self.session() as session:
            rows = session.execute(
                select(CheckResultRow).where(CheckResultRow.review_run_id == review_run_id).order_by(CheckResultRow.id)
            ).scalars()
            return [stored_result(r) for r in rows]

    def review_run(self, review_run_id: int) -> ReviewRunRow:
        with self.session() as session:
            run = session.get(ReviewRunRow, review_run_id)
            if run is None:
                raise NotFound(f"no review run {review_run_id}")
            return run


def result_row(review_run_id: int, r: Result) -> CheckResultRow:
    """A check result as its row."""
    return CheckResultRow(
        review_run_id=review_run_id,
        check_id=r.check,
        stage=r.stage,
        severity=r.severity,
        outcome=r.outcome,
        message=r.message,
        evidence=r.evidence,
    )


def stored_result(row: CheckResultRow) -> Result:
    """A stored row as the check result it records."""
    return Result(
        check=row.check_id,
        stage=row.stage,
        severity=row.severity,
        outcome=row.outcome,
        message=row.message,
        evidence=row.evidence,
    )
