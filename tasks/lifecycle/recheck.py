"""Re-checks of live apps: the stages declared `recheck=True` (models/stages.py: what a partner can
change after launch, its pages and docs), compared with what passed before. A check that passed and
now fails is a regression, sent to the reviewers once."""

from __future__ import annotations

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
    stored = await store.call(store.get_submission, submission_id)
    only = Selection.of(stages=[s.name for s in declared() if s.recheck])
    results = await run_checks(stored.submission, only=only, settings=ctx.settings)
    noticed = {s.name for s in declared() if s.notify_changes}  # their changes go to the partner too
    launched = await store.call(store.latest_review, submission_id)  # the approved review is the baseline
    found = regressions(launched[1] if launched else [], [r for r in results if r.stage not in noticed])
    last = await store.call(store.latest_review, submission_id, kind="recheck") or launched  # last week's
    new, fixed = finding_changes(last[1] if last else [], [r for r in results if r.stage in noticed])

    def record() -> None:
        run_id = store.start_review_run(submission_id, None, kind="recheck")
        store.save_results(run_id, results, verdict(results))
        report_regressions(store, ctx.settings, stored, found)
        report_finding_changes(store, ctx.settings, stored, run_id, new, fixed)

    await store.call(record)
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


FINDING = ("fail", "warn")  # a security result that asks the partner to act (an error is not a finding)


def finding_changes(before: list[Result], now: list[Result]) -> tuple[list[Result], list[Result]]:
    """Findings of `now` that `before` did not have, and the results of `now` that fixed one
    `before` had (a check flagged then that passes now)."""
    checks = {r.check for r in now}
    flagged = {r.check for r in before if r.check in checks and r.outcome in FINDING}
    new = [r for r in now if r.outcome in FINDING and r.check not in flagged]
    fixed = [r for r in now if r.outcome == "pass" and r.check in flagged]
    return new, fixed


def report_finding_changes(
    store: Store, settings: Settings, stored: StoredSubmission, run_id: int, new: list[Result], fixed: list[Result]
) -> list[str]:
    """Tell the partner and the reviewers of new security findings once, and of their fixes once
    (keys carry this run: the weeks in between compare equal and send nothing). The keys sent."""
    app = stored.submission.app.name
    partner = stored.submission.app.support_email or settings.reviewers_email
    messages = []
    if new:
        ids = ", ".join(sorted({r.check for r in new}))
        lines = "\n".join(f"- {r.check} ({r.severity}): {r.message}\n  Remedy: {_remedy(r.check)}" for r in new)
        messages.append(
            (
                "security-finding",
                f"Security finding in {app}: {ids}",
                f"The weekly security re-scan of {app} found:\n{lines}\n",
            )
        )
    if fixed:
        ids = ", ".join(sorted({r.check for r in fixed}))
        messages.append(
            (
                "security-fixed",
                f"Security finding fixed in {app}: {ids}",
                f"The weekly security re-scan of {app} found fixed: {ids}. Thank you.\n",
            )
        )
    sent = []
    notifier = Notifier(store, settings)
    for kind, subject, body in messages:
        for who, recipient in (("partner", partner), ("reviewers", settings.reviewers_email)):
            key = f"{kind}:{stored.id}:{run_id}:{who}"
            notifier.send(key, submission_id=stored.id, kind=kind, recipient=recipient, subject=subject, body=body)
            sent.append(key)
    return sent


def _remedy(check: str) -> str:
    from partner_review.models.checks import REGISTRY

    found = REGISTRY.get(check)
    return found.remedy if found else ""
