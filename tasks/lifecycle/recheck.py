"""Re-checks of live apps: the stages declared `recheck=True` (models/stages.py: what a partner can
change after launch, its pages and docs), compared with what passed before. A check that passed and
now fails is a regression, sent to the reviewers once."""

from __future__ import annotations

import asyncio
import hashlib

from partner_review.models.checks import Result, verdict
from partner_review.models.settings import Settings
from partner_review.models.stages import declared
from partner_review.models.store import Store, StoredSubmission
from partner_review.tasks.context import Context
from partner_review.tasks.lifecycle.diff import worst_outcomes
from partner_review.tasks.lifecycle.notify import Notifier
from partner_review.tasks.selection import Selection


async def recheck(ctx: Context, submission_id: str) -> tuple[str, list[str]]:
    """Run the re-checked stages on one live app, record the run, report new regressions once.
    Returns the app's slug and the ids of the checks that regressed since its approval."""
    from partner_review.tasks.pipeline import run_checks

    store = ctx.store
    stored = await asyncio.to_thread(store.get_submission, submission_id)
    only = Selection.of(stages=[s.name for s in declared() if s.recheck])
    results = await run_checks(stored.submission, only=only, settings=ctx.settings)
    launched = await asyncio.to_thread(store.latest_review, submission_id)  # the approved review is the baseline
    found = regressions(launched[1] if launched else [], results)

    def record() -> None:
        run_id = store.start_review_run(submission_id, None, kind="recheck")
        store.save_results(run_id, results, verdict(results))
        report_regressions(store, ctx.settings, stored, found)

    await asyncio.to_thread(record)
    return stored.slug, sorted({r.check for r in found})


def regressions(before: list[Result], now: list[Result]) -> list[Result]:
    """Results of `now` whose check passed in `before` and fails (or errors) now."""
    passed = {check for check, outcome in worst_outcomes(before).items() if outcome == "pass"}
    return [r for r in now if r.check in passed and r.outcome in ("fail", "error", "warn")]


def report_regressions(store: Store, settings: Settings, stored: StoredSubmission, found: list[Result]) -> bool:
    """Tell the reviewers about this set of regressions once; True when a message went out now."""
    if not found:
        return False
    ids = sorted({r.check for r in found})
    key = f"recheck:{stored.id}:{hashlib.sha256(','.join(ids).encode()).hexdigest()[:16]}"
    before = {n.key for n in store.notifications(stored.id)}
    lines = "\n".join(f"- {r.check}: {r.message}" for r in found)
    Notifier(store, settings).send(
        key,
        submission_id=stored.id,
        kind="regression",
        recipient=settings.reviewers_email,
        subject=f"Regression in live app {stored.submission.app.name}: {', '.join(ids)}",
        body=f"The weekly re-check of {stored.submission.app.name} (state {stored.state}) found checks that "
        f"passed before and fail now:\n{lines}\n",
    )
    return key not in before
