"""Runs of checks over a subject and their results, one row per check (submissions here; the
access repository shares `finish_run` and `results_in`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from partner_review.models.checks import Result, Verdict
from partner_review.models.db import DecisionRow, ResultRow, RunRow, utcnow
from partner_review.models.store.base import AlreadyDecided, NotFound, StoreBase


class NotFinished(ValueError):
    """The review run's automated checks are still running: a re-run would race with them."""


class ReviewStore(StoreBase):
    def start_review_run(self, submission_id: str, flow_run_id: str | None, *, kind: str = "review") -> int:
        """The review run of a flow run; a retried flow run reuses its row. Scheduled checks
        (`graduation`, `recheck`) record their runs with kind set and no flow run id of their own."""
        with self.session() as session, session.begin():
            if flow_run_id:
                found = session.execute(select(RunRow).where(RunRow.flow_run_id == flow_run_id)).scalar_one_or_none()
                if found:
                    return found.id
            row = RunRow(subject_kind="submission", subject_id=submission_id, flow_run_id=flow_run_id, kind=kind)
            session.add(row)
            session.flush()
            return row.id

    def save_results(self, review_run_id: int, results: Iterable[Result], verdict: Verdict) -> None:
        """Replace the run's results (a retry writes the same set again, not twice)."""
        with self.session() as session, session.begin():
            finish_run(session, review_run_id, results, verdict)

    def latest_review(self, submission_id: str, *, kind: str = "review") -> tuple[RunRow, list[Result]] | None:
        with self.session() as session:
            run = session.execute(
                select(RunRow)
                .where(
                    RunRow.subject_kind == "submission",
                    RunRow.subject_id == submission_id,
                    RunRow.kind == kind,
                )
                .order_by(RunRow.id.desc())
                .limit(1)
            ).scalar_one_or_none()
        return (run, self.results_of(run.id)) if run else None

    def results_of(self, review_run_id: int) -> list[Result]:
        with self.session() as session:
            return results_in(session, review_run_id)

    def review_run(self, review_run_id: int) -> RunRow:
        with self.session() as session:
            run = session.get(RunRow, review_run_id)
            if run is None:
                raise NotFound(f"no review run {review_run_id}")
            return run

    def replace_stage_results(
        self,
        review_run_id: int,
        stages: Sequence[str],
        results: Sequence[Result],
        judge: Callable[[list[Result]], Verdict],
    ) -> list[Result]:
        """The run's results with those of `stages` replaced by `results` where they stood, and the run's
        verdict set to `judge(all results)`; in one transaction that holds the run's row, so concurrent
        re-runs of two stages both land. NotFinished while the run's checks run, AlreadyDecided once decided."""
        replaced = set(stages)
        with self.session() as session, session.begin():
            run = session.execute(
                select(RunRow).where(RunRow.id == review_run_id).with_for_update()
            ).scalar_one_or_none()
            if run is None:
                raise NotFound(f"no review run {review_run_id}")
            if run.status != "completed":
                raise NotFinished(
                    f"review run {review_run_id} is still running its checks; re-run a stage once it waits"
                )
            if session.execute(select(DecisionRow.id).where(DecisionRow.run_id == review_run_id)).first():
                raise AlreadyDecided(f"review run {review_run_id} is already decided; its results stay as decided")
            before = results_in(session, review_run_id)
            at = next((i for i, r in enumerate(before) if r.stage in replaced), len(before))
            kept = [r for r in before if r.stage not in replaced]
            merged = kept[:at] + list(results) + kept[at:]
            session.execute(delete(ResultRow).where(ResultRow.run_id == review_run_id))
            session.add_all(result_row(review_run_id, r) for r in merged)
            run.verdict = judge(merged)
            return merged


def finish_run(session: Session, run_id: int, results: Iterable[Result], verdict: Verdict) -> None:
    """Replace a run's results and mark it completed with `verdict`, in the caller's transaction."""
    session.execute(delete(ResultRow).where(ResultRow.run_id == run_id))
    session.add_all(result_row(run_id, r) for r in results)
    session.execute(
        update(RunRow).where(RunRow.id == run_id).values(status="completed", verdict=verdict, finished_at=utcnow())
    )


def results_in(session: Session, run_id: int) -> list[Result]:
    """A run's results in the order they were recorded."""
    rows = session.execute(select(ResultRow).where(ResultRow.run_id == run_id).order_by(ResultRow.id)).scalars()
    return [stored_result(r) for r in rows]


def result_row(run_id: int, r: Result) -> ResultRow:
    """A check result as its row."""
    return ResultRow(
        run_id=run_id,
        check_id=r.check,
        stage=r.stage,
        severity=r.severity,
        outcome=r.outcome,
        message=r.message,
        evidence=r.evidence,
    )


def stored_result(row: ResultRow) -> Result:
    """A stored row as the check result it records."""
    return Result(
        check=row.check_id,
        stage=row.stage,
        severity=row.severity,
        outcome=row.outcome,
        message=row.message,
        evidence=row.evidence,
    )
