"""What partner-review tells partners and reviewers: subject and body of every message."""

from __future__ import annotations

from collections.abc import Iterable

from partner_review.models.checks import REGISTRY, Result
from partner_review.models.store import StoredSubmission
from partner_review.tasks.e2e.replay import replay_sentence
from partner_review.tasks.lifecycle.report import evidence_summary

REPLAY_QUESTION = (
    "Replay compatibility: does your destination accept historical data sent again later, that is events "
    "with old timestamps, out of order, and repeated with the same messageIds?"
)


def _name(stored: StoredSubmission) -> str:
    return f"{stored.submission.app.name} v{stored.version}"


def acknowledgment(stored: StoredSubmission) -> tuple[str, str]:
    return (
        f"We received {_name(stored)} for review",
        (
            f"Hello,\n\n{_name(stored)} arrived on {stored.received_at:%Y-%m-%d %H:%M} UTC and is in the review queue.\n"
            f"Submission id: {stored.id}\n\n"
            "Next: automated checks run first (catalog fields, documentation, your endpoint), then a reviewer "
            "decides. You will hear from us when there is a decision or a change to make.\n"
        ),
    )


def _blocker_lines(results: list[Result]) -> str:
    lines = []
    for r in results:
        if not r.blocks:
            continue
        check = REGISTRY.get(r.check)
        lines.append(
            f"- {r.check} {check.title if check else ''}: {r.message}\n"
            f"  How to fix: {check.remedy if check else 'see the check reference'}\n"
            f"  Evidence: {evidence_summary(r.evidence)}"
        )
    return "\n".join(lines) or "- (no failing automated check; see the reviewer's comment)"


def replay_compatibility(results: Iterable[Result]) -> str:
    """The program's replay-compatibility question with the answer the review measured ("" when not measured)."""
    sentence = replay_sentence(results)
    if sentence is None:
        return ""
    return (
        f"\n{REPLAY_QUESTION}\nWhat the review measured: {sentence}.\n"
        "If your destination limits replays (how far back, in which order), say so in your documentation.\n"
    )


def changes_requested(stored: StoredSubmission, results: list[Result], comment: str) -> tuple[str, str]:
    return (
        f"Changes requested for {_name(stored)}",
        (
            f"Hello,\n\nThe review of {_name(stored)} needs changes before launch.\n\n"
            f"Reviewer's comment:\n{comment or '(none)'}\n\nWhat to fix:\n{_blocker_lines(results)}\n\n"
            f"Send the next version (version {stored.version + 1}) when it is ready; "
            "the review will show what changed.\n" + replay_compatibility(results)
        ),
    )


def approval(stored: StoredSubmission, comment: str, results: Iterable[Result] = ()) -> tuple[str, str]:
    return (
        f"{_name(stored)} is approved for Public Beta",
        (
            f"Hello,\n\n{_name(stored)} is approved and launches as Public Beta.\n\n"
            f"Reviewer's comment:\n{comment or '(none)'}\n\n"
            "It graduates to Public once the 'Enable with Segment' OAuth button is live and three customers "
            "actively use the integration.\n" + replay_compatibility(results)
        ),
    )


def rejection(stored: StoredSubmission, comment: str) -> tuple[str, str]:
    return (
        f"{_name(stored)} was not accepted",
        (
            f"Hello,\n\nAfter review, {_name(stored)} was not accepted for the catalog.\n\n"
            f"Reviewer's comment:\n{comment or '(none)'}\n"
        ),
    )


def decision_reminder(stored: StoredSubmission, waiting_days: int) -> tuple[str, str]:
    return (
        f"Reminder: {_name(stored)} waits for a decision",
        (
            f"{_name(stored)} (submission {stored.id}) has waited {waiting_days} business days for a reviewer.\n"
            f"Decide in the Prefect UI or with: partner-review decide {stored.id} --approve|--request-changes|--reject\n"
        ),
    )


def acknowledgment_overdue(stored: StoredSubmission, due_at) -> tuple[str, str]:
    return (
        f"Overdue: {_name(stored)} is not acknowledged",
        (
            f"{_name(stored)} (submission {stored.id}) arrived {stored.received_at:%Y-%m-%d %H:%M} UTC and was due "
            f"an acknowledgment by {due_at:%Y-%m-%d %H:%M} UTC. Check the review-submission runs in Prefect.\n"
        ),
    )


def graduated(stored: StoredSubmission) -> tuple[str, str]:
    return (
        f"{stored.submission.app.name} is now Public",
        (
            f"Hello,\n\n{stored.submission.app.name} graduated from Public Beta to Public: the 'Enable with Segment' "
            "OAuth button is live and enough customers actively use the integration. Thank you!\n"
        ),
    )


def oauth_request(stored: StoredSubmission, missing: list[str]) -> tuple[str, str]:
    return (
        f"Next step for {stored.submission.app.name}: the 'Enable with Segment' button",
        (
            f"Hello,\n\nTo graduate {stored.submission.app.name} from Public Beta to Public, implement the "
            "'Enable with Segment' OAuth button. What is missing now:\n" + "\n".join(f"- {m}" for m in missing) + "\n"
        ),
    )
