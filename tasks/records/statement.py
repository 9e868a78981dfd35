"""What a review record says: an in-toto Statement v1 about one submission, its predicate the
decided review run (every check's outcome and evidence digest, the verdict, the decision, the
waivers in force, the times, the software).

The store is read through its methods, except the one query it has no method for: the newest
decided run of an app (and version), with the waivers granted before that decision.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from typing import Any

from sqlalchemy import select

from partner_review.models.db import AppRow, DecisionRow, RunRow, SubmissionRow, WaiverRow
from partner_review.models.store import Store

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://partner-review.dev/review-record/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"


def canonical(value: Any) -> bytes:
    """Canonical JSON: keys sorted, no spaces, UTF-8 (the digests in a record are over this)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha256(value: Any) -> str:
    return hashlib.sha256(canonical(value)).hexdigest()


class NoRecord(Exception):
    """No record can be made: unknown app, or no decided review; one line says which."""


@dataclass(frozen=True)
class DecidedRun:
    slug: str
    version: int
    submission_id: str
    payload: dict[str, Any]  # the submission as stored, every secret masked
    received_at: datetime
    run_id: int
    flow_run_id: str | None
    verdict: str | None
    started_at: datetime
    finished_at: datetime | None
    decision: str
    reviewer: str
    comment: str
    decided_at: datetime
    waivers: tuple[dict[str, str], ...]


def decided_run(store: Store, slug: str, version: int | None = None) -> DecidedRun:
    """The newest decided review run of app `slug` (of its version `version` when given); NoRecord otherwise."""
    if not slug or len(slug) > 100 or "\x00" in slug:
        raise NoRecord(f"no app {slug[:100]!r}")
    with store.session() as session:
        app_id = session.execute(select(AppRow.id).where(AppRow.slug == slug)).scalar_one_or_none()
        if app_id is None:
            raise NoRecord(f"no app {slug!r}")
        query = (
            select(DecisionRow, RunRow, SubmissionRow)
            .join(RunRow, RunRow.id == DecisionRow.run_id)
            .join(SubmissionRow, SubmissionRow.id == DecisionRow.submission_id)
            .where(SubmissionRow.app_id == app_id, RunRow.kind == "review")
        )
        if version is not None:
            query = query.where(SubmissionRow.version == version)
        found = session.execute(query.order_by(DecisionRow.decided_at.desc(), DecisionRow.id.desc()).limit(1)).first()
        if found is None:
            which = f"version {version} of '{slug}'" if version is not None else f"'{slug}'"
            raise NoRecord(f"{which} has no decided review yet")
        decision, run, submission = found
        waivers = session.execute(
            select(WaiverRow)
            .where(
                WaiverRow.app_id == app_id,
                WaiverRow.created_at <= decision.decided_at,
                WaiverRow.expires_at > decision.decided_at,
            )
            .order_by(WaiverRow.id)
        ).scalars()
        return DecidedRun(
            slug=slug,
            version=submission.version,
            submission_id=submission.id,
            payload=submission.payload,
            received_at=submission.received_at,
            run_id=run.id,
            flow_run_id=run.flow_run_id,
            verdict=run.verdict,
            started_at=run.started_at,
            finished_at=run.finished_at,
            decision=decision.decision,
            reviewer=decision.reviewer,
            comment=decision.comment,
            decided_at=decision.decided_at,
            waivers=tuple(
                {
                    "check_id": w.check_id,
                    "reason": w.reason,
                    "owner": w.owner,
                    "granted_at": w.created_at.isoformat(),
                    "expires_at": w.expires_at.isoformat(),
                }
                for w in waivers
            ),
        )


def software_version() -> str:
    try:
        return metadata.version("partner-review")
    except metadata.PackageNotFoundError:
        return "unknown"


def statement(store: Store, run: DecidedRun) -> dict[str, Any]:
    """The in-toto Statement of a decided run (the same run gives the same statement)."""
    results = store.results_of(run.run_id)
    waived = {w["check_id"] for w in run.waivers}
    checks = [
        {
            "id": r.check,
            "stage": r.stage,
            "severity": r.severity,
            "outcome": r.outcome,
            "waived": r.check in waived and r.outcome in ("fail", "error"),
            "evidence_sha256": sha256(r.evidence),
        }
        for r in results
    ]
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": f"{run.slug}@{run.version}", "digest": {"sha256": sha256(run.payload)}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "app": {"slug": run.slug, "version": run.version, "submission_id": run.submission_id},
            "run": {"id": run.run_id, "flow_run_id": run.flow_run_id},
            "checks": checks,
            "verdict": run.verdict,
            "decision": {"decision": run.decision, "reviewer": run.reviewer, "comment": run.comment},
            "waivers": list(run.waivers),
            "timestamps": {
                "received_at": run.received_at.isoformat(),
                "checks_started_at": run.started_at.isoformat(),
                "checks_finished_at": run.finished_at.isoformat() if run.finished_at else None,
                "decided_at": run.decided_at.isoformat(),
            },
            "software": {"name": "partner-review", "version": software_version()},
        },
    }
