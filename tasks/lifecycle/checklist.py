"""The Public Beta checklist of one app: every launch requirement, met, unmet or unknown, with the
check ids and the run that decided it, the lifecycle state and the next promise due.

The requirements are Segment's Public Beta checklist (REVIEW_RULES sections 1 and 7). A
requirement's status comes only from what a run verified: `unmet` when one of its blocking
checks failed or errored (waivers in force turn a failure into an accepted warning), `unknown`
when no run has checked it (or every one of its checks was skipped), `met` otherwise.
`build_checklist` is pure; `checklist_of` gathers its facts from the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from partner_review.models.calendar import add_business_days
from partner_review.models.checks import Result
from partner_review.models.lifecycle import State
from partner_review.models.settings import Settings
from partner_review.models.store import Store, Waiver
from partner_review.tasks.lifecycle.waivers import apply_waivers
from partner_review.tasks.registry import feeding

Status = Literal["met", "unmet", "unknown"]
Phase = Literal["launch", "graduation"]


@dataclass(frozen=True)
class Requirement:
    """A launch requirement. The checks that decide it are not listed here: a stage declares the
    requirements all its checks feed (models/stages.py), a check the ones it feeds beside them."""

    id: str
    title: str
    phase: Phase  # launch: decided by the review run; graduation: by the graduation check

    @property
    def checks(self) -> frozenset[str]:
        return feeding(self.id)

    def covers(self, result: Result) -> bool:
        return result.check in self.checks


REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement("end-to-end", "Working integration tested end to end, all green or yellow", "launch"),
    Requirement("spec", "Adheres to the Segment Spec", "launch"),
    Requirement("volume", "Supports high data volumes", "launch"),
    Requirement("docs", "Docs on Segment and on the partner's own site", "launch"),
    Requirement("catalog", "Catalog details with screenshots", "launch"),
    Requirement("partner-page", "Partner page lists the integration", "launch"),
    Requirement("launch-post", "Launch post announces the integration", "launch"),
    Requirement("test-account", "Test account for the reviewers", "launch"),
    Requirement("security", "Follows Segment's security guidance (TLS 1.2+, credentials, HSTS...)", "launch"),
    Requirement("approval", "Reviewer's approval", "launch"),
    Requirement("oauth-button", "'Enable with Segment' OAuth button (after launch)", "graduation"),
    Requirement("active-customers", "Three customers actively use the integration (after launch)", "graduation"),
    Requirement("health", "Deliveries healthy over the window (after launch; `partner-review health`)", "graduation"),
)


@dataclass(frozen=True)
class Run:
    """A run that produced results: the store's review run id, its kind and Prefect flow run."""

    id: int
    kind: str
    flow_run_id: str | None
    finished_at: datetime | None
    results: list[Result]

    def as_json(self) -> dict[str, Any]:
        return {
            "review_run": self.id,
            "kind": self.kind,
            "flow_run_id": self.flow_run_id,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


@dataclass(frozen=True)
class Decided:
    decision: str
    reviewer: str
    decided_at: datetime


@dataclass(frozen=True)
class AppFacts:
    """Everything the checklist is computed from, for the app's latest submission."""

    slug: str
    name: str
    submission_id: str
    version: int
    state: State
    ack_due_at: datetime
    acknowledged_at: datetime | None
    review: Run | None
    decision: Decided | None
    graduation: Run | None
    waivers: list[Waiver] = field(default_factory=list)


@dataclass(frozen=True)
class Line:
    requirement: Requirement
    status: Status
    checks: list[str]
    run: Run | None
    note: str

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.requirement.id,
            "title": self.requirement.title,
            "status": self.status,
            "checks": self.checks,
            "phase": self.requirement.phase,
            "run": self.run.as_json() if self.run else None,
            "note": self.note,
        }


@dataclass(frozen=True)
class Checklist:
    facts: AppFacts
    lines: list[Line]
    next_due: dict[str, Any] | None

    def as_json(self) -> dict[str, Any]:
        """Contract section 8: {"app", "state", "requirements": [{"id", "title", "status", "checks"}], "next_due"}."""
        f = self.facts
        return {
            "app": f.slug,
            "state": str(f.state),
            "requirements": [line.as_json() for line in self.lines],
            "next_due": self.next_due,
            "submission": {"id": f.submission_id, "version": f.version, "name": f.name},
        }


def _judge(requirement: Requirement, run: Run | None, waivers: list[Waiver], now: datetime) -> Line:
    if run is None:
        what = "review" if requirement.phase == "launch" else "graduation check"
        return Line(requirement, "unknown", [], None, f"no {what} has run yet")
    shown, _ = apply_waivers(run.results, waivers, now=now)
    ids = requirement.checks
    mine = [r for r in shown if r.check in ids]
    blocking = [r.check for r in mine if r.blocks]
    if blocking:
        why = "; ".join(r.message for r in mine if r.blocks) if requirement.id == "health" else ""
        return Line(requirement, "unmet", sorted(set(blocking)), run, why or "blocking checks failed or could not run")
    ran = [r for r in mine if r.outcome != "skip"]
    if not ran:
        skipped = sorted({r.check for r in mine})
        return Line(
            requirement, "unknown", skipped, run, "its checks were skipped" if skipped else "no check covers it"
        )
    warned = sorted({r.check for r in ran if r.outcome == "warn"})
    note = f"met with warnings ({', '.join(warned)})" if warned else "every check passed"
    if requirement.id == "health":  # its figures, as `health` prints them
        note = "; ".join(r.message for r in ran)
    return Line(requirement, "met", sorted({r.check for r in ran}), run, note)


def _approval(requirement: Requirement, facts: AppFacts) -> Line:
    d, run = facts.decision, facts.review
    if d is None:
        waiting = run is not None and run.finished_at is not None
        return Line(requirement, "unknown", [], run, "waiting for the reviewer" if waiting else "not reviewed yet")
    status: Status = "met" if d.decision == "approve" else "unmet"
    return Line(requirement, status, [], run, f"{d.decision} by {d.reviewer} on {d.decided_at:%Y-%m-%d}")


def next_promise(facts: AppFacts, settings: Settings) -> dict[str, Any] | None:
    """The next promise the program owes this app: acknowledgment, decision, or graduation."""
    if facts.acknowledged_at is None and facts.state in (State.submitted, State.resubmitted):
        return {"promise": "acknowledgment", "due_at": facts.ack_due_at.isoformat()}
    if facts.state in (State.acknowledged, State.in_review):
        run = facts.review
        if run is None or run.finished_at is None:
            return {"promise": "decision", "due_at": None, "note": "after the automated checks finish"}
        due = add_business_days(
            run.finished_at,
            settings.decision_reminder_business_days,
            country=settings.holiday_country,
            tz=settings.timezone,
        )
        return {"promise": "decision", "due_at": due.isoformat()}
    if facts.state is State.public_beta:
        return {
            "promise": "graduation",
            "due_at": None,
            "note": "graduates to Public once the OAuth button works and "
            f"{settings.graduation_min_customers} customers are active with healthy deliveries (checked daily by graduation-check)",
        }
    return None


def build_checklist(facts: AppFacts, settings: Settings, *, now: datetime) -> Checklist:
    lines = []
    for requirement in REQUIREMENTS:
        if requirement.id == "approval":
            lines.append(_approval(requirement, facts))
        else:
            run = facts.review if requirement.phase == "launch" else facts.graduation
            lines.append(_judge(requirement, run, facts.waivers, now))
    return Checklist(facts, lines, next_promise(facts, settings))


# Views ----------------------------------------------------------------------------------------


def markdown(checklist: Checklist) -> str:
    """The checklist as a Prefect markdown artifact (partner text escaped)."""
    from partner_review.tasks.lifecycle.report import escape

    f = checklist.facts
    marks = {"met": "met", "unmet": "**unmet**", "unknown": "unknown"}
    lines = [
        f"# Public Beta checklist of {escape(f.name, 100)} v{f.version}",
        "",
        f"- State: {f.state}",
        f"- Next promise: {due_text(checklist.next_due)}",
        "",
        "| requirement | status | checks | run | note |",
        "|---|---|---|---|---|",
    ]
    for line in checklist.lines:
        run = f"{line.run.kind} {line.run.flow_run_id or line.run.id}" if line.run else ""
        lines.append(
            f"| {line.requirement.title} | {marks[line.status]} | {', '.join(line.checks) or '-'} | {run} | "
            f"{escape(line.note, 300)} |"
        )
    return "\n".join(lines) + "\n"


def due_text(due: dict[str, Any] | None) -> str:
    if not due:
        return "none open"
    return f"{due['promise']}" + (f" due {due['due_at']}" if due.get("due_at") else f" ({due.get('note', '')})")


# From the store -------------------------------------------------------------------------------


def _run(store: Store, submission_id: str, kind: str) -> Run | None:
    latest = store.latest_review(submission_id, kind=kind)
    if latest is None or latest[0].status != "completed":
        return None
    row, results = latest
    return Run(row.id, kind, row.flow_run_id, row.finished_at, results)


def facts_of(store: Store, slug: str) -> AppFacts:
    """The facts of the app's latest submission; NotFound for an unknown slug."""
    stored = store.get_submission(store.latest_submission_id(slug))
    review = _run(store, stored.id, "review")
    decided = None
    if review is not None and (row := store.decision_of(review.id)) is not None:
        decided = Decided(row.decision, row.reviewer, row.decided_at)
    return AppFacts(
        slug=stored.slug,
        name=stored.submission.app.name,
        submission_id=stored.id,
        version=stored.version,
        state=stored.state,
        ack_due_at=stored.ack_due_at,
        acknowledged_at=stored.acknowledged_at,
        review=review,
        decision=decided,
        graduation=_run(store, stored.id, "graduation"),
        waivers=store.waivers(slug),
    )


def checklist_of(store: Store, slug: str, *, now: datetime | None = None) -> Checklist:
    from datetime import UTC

    return build_checklist(facts_of(store, slug), store.settings, now=now or datetime.now(UTC))
