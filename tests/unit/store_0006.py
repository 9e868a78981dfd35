"""Runs under either release's code (whichever `partner_review` comes first on sys.path).

`populate EXAMPLES`: fill the configured store through that release's own code paths (the receiver's
persist functions, the store's methods) the way the receiver, the flows and a reviewer do.
`view`: print what the store shows as JSON: submissions, transitions, runs and results, decisions,
waivers, notifications, the outbox, access requests, activity, stored answers, the `status`
checklist and the review report. The same function runs before (old code) and after (new code).
Prints one JSON line; `where` says which tree the package came from.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import partner_review.models.db as db
from partner_review.models.access import AccessDecision, parse_access_request
from partner_review.models.activity import Activity
from partner_review.models.checks import Result, verdict
from partner_review.models.lifecycle import State
from partner_review.models.settings import get_settings
from partner_review.models.store import Receipt, Store
from partner_review.models.store.access import AccessRequests
from partner_review.models.store.decisions import Waiver
from partner_review.models.submission import parse_submission

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SLUGS = ("acme-analytics", "beta-metrics")


def receipt(endpoint: str, delivery_id: str, body: bytes) -> Receipt:
    """A signed delivery's receipt as the receiver builds it (signature remembered until expiry)."""
    import hashlib

    return Receipt(
        endpoint=endpoint,
        delivery_id=delivery_id,
        body_sha256=hashlib.sha256(body).hexdigest(),
        signature_sha256=hashlib.sha256(b"sig-" + body).hexdigest(),
        expires_at=datetime.now(UTC) + timedelta(days=1),
    )


def result(check: str, stage: str, outcome: str, severity: str = "blocker", **evidence: Any) -> Result:
    return Result(
        check=check, stage=stage, severity=severity, outcome=outcome, message=f"{check} {outcome}", evidence=evidence
    )


def access_body(examples: Path, company: str) -> tuple[dict[str, Any], bytes]:
    data = json.loads((examples / "access-request.json").read_text())
    data = {**data, "company": {**data["company"], "name": company}}
    return data, json.dumps(data).encode()


def populate(examples: Path) -> None:
    from partner_review.webhooks.access import _store_access_request
    from partner_review.webhooks.app import _store_activity, _store_submission

    store = Store(get_settings())
    example = json.loads((examples / "submission.json").read_text())
    request_data = json.loads((examples / "access-request.json").read_text())

    # Two apps: acme with versions 1 and 2 (the first reviewed, approved and graduated), beta pending.
    sids = {}
    for n, (slug, version) in enumerate([(SLUGS[0], 1), (SLUGS[0], 2), (SLUGS[1], 1)]):
        data = {**example, "version": version, "app": {**example["app"], "slug": slug, "name": slug.title()}}
        body = json.dumps(data).encode()
        answer = _store_submission(store, receipt("submissions", f"sub-{n}", body), parse_submission(data))
        sids[(slug, version)] = answer.body["submission_id"]
    # An unsigned delivery (an import) and a redelivery that records nothing.
    store.record_delivery(
        "sub-import",
        b"imported",
        parse_submission({**example, "version": 7, "app": {**example["app"], "slug": "gamma", "name": "Gamma"}}),
        received_at=NOW,
        ack_due_at=NOW + timedelta(days=2),
    )
    first = sids[(SLUGS[0], 2)]  # the app's latest version: the one `status` shows
    store.acknowledge(first, NOW + timedelta(hours=1))
    for target in (State.acknowledged, State.in_review):
        store.transition(first, target, actor="partner-review", reason="flow")
    run = store.start_review_run(first, "11111111-1111-4111-8111-111111111111")
    reviewed = [
        result("CAT-001", "catalog", "pass", url="https://acme.example"),
        result("DOC-001", "docs", "fail", line=12),
        result("E2E-001", "e2e", "skip", severity="warning", not_run="offline"),
        result("LNK-001", "links", "warn", severity="warning"),
    ]
    store.save_results(run, reviewed, verdict(reviewed))
    store.add_waiver(
        SLUGS[0],
        Waiver("DOC-001", "fixed in the next docs release", "rita", NOW + timedelta(days=30)),
        submission_id=first,
    )
    store.record_decision(run, first, decision="approve", reviewer="rita", comment="waived DOC-001")
    store.transition(first, State.public_beta, actor="rita", reason="approved")
    store.enqueue_notification(
        f"ack:{first}", submission_id=first, kind="acknowledgment", recipient="a@acme.example",
        subject="Received", body="We got it", channel="outbox",
    )  # fmt: skip
    store.mark_sent(f"ack:{first}")
    store.enqueue_notification(
        f"decision:{first}", submission_id=first, kind="decision", recipient="a@acme.example",
        subject="Approved", body="Welcome", channel="smtp",
    )  # fmt: skip
    store.notification_failed(f"decision:{first}", "SMTP refused")
    graduation = store.start_review_run(first, None, kind="graduation")
    graduated = [result("GRD-001", "graduation", "pass", workspaces=3), result("GRD-002", "graduation", "fail")]
    store.save_results(graduation, graduated, verdict(graduated))
    store.start_review_run(sids[(SLUGS[1], 1)], "22222222-2222-4222-8222-222222222222")  # still running

    pending = {d.submission_id: d for d in store.pending_dispatches()}
    store.dispatch_done(pending[first].id, "11111111-1111-4111-8111-111111111111")
    store.dispatch_failed(pending[sids[(SLUGS[0], 1)]].id, "Prefect API unreachable")
    store.claim_dispatch(pending[sids[(SLUGS[1], 1)]].id)

    # Activity, signed (the answer is kept) and unsigned.
    days = [NOW.date() - timedelta(days=d) for d in range(5)]
    records = [
        Activity(app=SLUGS[0], workspace_id=f"ws-{w}", day=day, events_delivered=10 * w + i, events_failed=i)
        for w in range(3)
        for i, day in enumerate(days)
    ]
    _store_activity(store, receipt("activity", "act-1", b"batch-1"), records)
    store.record_activity([Activity(app=SLUGS[1], workspace_id="ws-9", day=date(2026, 11, 30), events_delivered=5)])

    # Access requests: two through the receiver (one approved after its checks), one imported.
    repo = AccessRequests(store)
    rids = []
    for n, company in enumerate(["Acme", "Beta"]):
        data, body = access_body(examples, company)
        answer = _store_access_request(store, receipt("access-requests", f"acc-{n}", body), parse_access_request(data))
        rids.append(answer.body["access_request_id"])
    imported = repo.record_delivery(
        "acc-import",
        b"imported",
        parse_access_request({**request_data, "company": {**request_data["company"], "name": "Gamma"}}),
        domain="gamma.example",
        received_at=NOW,
        decision_due_at=NOW + timedelta(days=2),
    )
    review = repo.start_review(rids[0], "33333333-3333-4333-8333-333333333333")
    checked = [result(f"ACC-00{n}", "access", "pass", n=n) for n in range(1, 4)] + [
        result("ACC-004", "access", "warn", severity="warning", domain="acme.example")
    ]
    repo.save_review(review, checked, verdict(checked))
    repo.claim_dispatch(rids[0])
    repo.dispatch_done(rids[0], "33333333-3333-4333-8333-333333333333")
    repo.dispatch_failed(rids[1], "Prefect API unreachable")
    from partner_review.tasks.access.review import apply_decision

    apply_decision(store, store.settings, rids[0], AccessDecision(decision="approve", reviewer="rita", comment="ok"))
    empty = repo.start_review(imported.access_request_id, None)
    repo.save_review(empty, [], "pass")
    repo.start_review(rids[1], "44444444-4444-4444-8444-444444444444")  # still running
    store.close()


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime | date) else value


def _run(store: Store, row: Any, results: list[Result]) -> dict[str, Any]:
    decided = store.decision_of(row.id)
    return {
        "kind": getattr(row, "kind", "access"),
        "flow_run_id": row.flow_run_id,
        "status": row.status,
        "verdict": row.verdict,
        "finished": row.finished_at is not None,
        "results": [r.model_dump(mode="json") for r in results],
        "decision": None
        if decided is None
        else [decided.decision, decided.reviewer, decided.comment, _iso(decided.decided_at)],
    }


def view(examples: Path) -> dict[str, Any]:
    from sqlalchemy import select

    from partner_review.tasks.lifecycle import report
    from partner_review.tasks.lifecycle.checklist import checklist_of

    store = Store(get_settings())
    out: dict[str, Any] = {"where": str(Path(db.__file__).resolve().parent.parent)}
    with store.session() as session:
        sids = list(session.execute(select(db.SubmissionRow.id).order_by(db.SubmissionRow.received_at)).scalars())
        rids = list(
            session.execute(select(db.AccessRequestRow.id).order_by(db.AccessRequestRow.company_name)).scalars()
        )
    subjects = {}
    for sid in sids:
        stored = store.get_submission(sid)
        runs = {}
        for kind in ("review", "graduation"):
            latest = store.latest_review(sid, kind=kind)
            runs[kind] = _run(store, latest[0], latest[1]) if latest else None
            if latest:
                runs[kind]["same_by_id"] = store.results_of(latest[0].id) == latest[1]
                runs[kind]["report"] = report.as_json(latest[1])
        subjects[f"{stored.slug} v{stored.version}"] = {
            "state": str(stored.state),
            "payload": stored.submission.model_dump(mode="json"),
            "secret": stored.submission.destinations[0].auth.secret.get_secret_value(),
            "previous": stored.previous_id,
            "ack": [
                _iso(stored.received_at),
                _iso(stored.ack_due_at),
                _iso(stored.acknowledged_at),
                stored.ack_on_time,
            ],
            "transitions": [[t.from_state, t.to_state, t.actor, t.reason, _iso(t.at)] for t in store.transitions(sid)],
            "runs": runs,
            "notifications": [[n.key, n.kind, n.status, n.attempts, n.last_error] for n in store.notifications(sid)],
        }
    out["submissions"] = subjects
    out["dispatches"] = sorted(
        [d.delivery_id, d.status, d.attempts, d.last_error, d.flow_run_id, d.dispatched_at is not None]
        for d in store.dispatches()
    )
    out["pending"] = sorted(d.delivery_id for d in store.pending_dispatches())
    out["seen"] = {
        d: (lambda i: i and [i.status, i.created])(store.find_delivery(d)) for d in ("sub-0", "sub-1", "sub-import")
    }
    with store.engine.connect() as conn:
        out["answers"] = {
            f"{endpoint}/{d}": (lambda a: a and a.body)(store.seen_answer(conn, receipt(endpoint, d, body)))
            for endpoint, d, body in [
                ("activity", "act-1", b"batch-1"),
                ("access-requests", "acc-0", access_body(examples, "Acme")[1]),
                ("access-requests", "acc-1", access_body(examples, "Beta")[1]),
            ]
        }
    repo = AccessRequests(store)
    access = {}
    for rid in rids:
        got = repo.get(rid)
        latest = repo.latest_review(rid)
        access[got.request.company.name] = {
            "state": str(got.state),
            "domain": got.domain,
            "request": got.request.model_dump(mode="json"),
            "times": [_iso(got.received_at), _iso(got.decision_due_at), got.decided_at is not None],
            "flow_run_id": got.flow_run_id,
            "delivery": repo.delivery_of(rid),
            "transitions": [[t.from_state, t.to_state, t.actor, t.reason, _iso(t.at)] for t in repo.transitions(rid)],
            "review": None
            if latest is None
            else {
                "flow_run_id": latest.flow_run_id,
                "status": latest.status,
                "verdict": latest.verdict,
                "results": [r.model_dump(mode="json") for r in latest.results],
                "same_by_id": repo.review(latest.id).results == latest.results,
            },
        }
    out["access"] = access
    out["access_pending"] = sorted(repo.get(r).request.company.name for r in repo.pending_dispatches())
    out["access_seen"] = {
        d: (lambda i: i and [i.status, i.created])(repo.find_delivery(d)) for d in ("acc-0", "acc-import")
    }
    out["approved"] = [a.request.company.name for a in repo.approved_for(["acme.example"])]
    out["notifications"] = [[n.key, n.kind, n.status, n.submission_id is None] for n in store.notifications()]
    out["waivers"] = {
        slug: [[w.check_id, w.reason, w.owner, _iso(w.expires_at)] for w in store.waivers(slug)] for slug in SLUGS
    }
    out["active_days"] = {slug: store.active_days(slug, until=NOW.date(), window_days=30) for slug in SLUGS}
    out["status"] = {slug: checklist_of(store, slug, now=NOW + timedelta(days=1)).as_json() for slug in SLUGS}
    out["counts"] = counts(store)
    store.close()
    return out


def counts(store: Store) -> dict[str, int]:
    """Rows per kind of record, read from whichever tables this release has."""
    from sqlalchemy import inspect, text

    tables = set(inspect(store.engine).get_table_names())
    found: dict[str, int] = {}

    def n(sql: str) -> int:
        with store.engine.connect() as conn:
            return conn.execute(text(sql)).scalar_one()

    if "review_runs" in tables:  # 0006
        found["delivery/submissions"] = n("SELECT COUNT(*) FROM deliveries")
        for endpoint in ("activity", "access-requests"):
            found[f"delivery/{endpoint}"] = n(
                f"SELECT COUNT(*) FROM webhook_deliveries WHERE endpoint = '{endpoint}'"
            ) + (
                n("SELECT COUNT(*) FROM access_deliveries WHERE id NOT IN (SELECT id FROM webhook_deliveries)")
                if endpoint == "access-requests"
                else 0
            )
        found["outbox/submission"] = n("SELECT COUNT(*) FROM dispatches")
        found["outbox/access_request"] = n("SELECT COUNT(*) FROM access_requests")
        found["run/submission"] = n("SELECT COUNT(*) FROM review_runs")
        found["run/access_request"] = n("SELECT COUNT(*) FROM access_reviews")
        found["result/submission"] = n("SELECT COUNT(*) FROM check_results")
        with store.engine.connect() as conn:
            found["result/access_request"] = sum(
                len(json.loads(r) if isinstance(r, str) else r)
                for r in conn.execute(text("SELECT results FROM access_reviews")).scalars()
            )
        found["transition/submission"] = n("SELECT COUNT(*) FROM transitions")
        found["transition/access_request"] = n("SELECT COUNT(*) FROM access_transitions")
    else:  # 0007
        for endpoint in ("submissions", "activity", "access-requests"):
            found[f"delivery/{endpoint}"] = n(f"SELECT COUNT(*) FROM deliveries WHERE endpoint = '{endpoint}'")
        for kind in ("submission", "access_request"):
            found[f"outbox/{kind}"] = n(f"SELECT COUNT(*) FROM outbox WHERE subject_kind = '{kind}'")
            found[f"run/{kind}"] = n(f"SELECT COUNT(*) FROM runs WHERE subject_kind = '{kind}'")
            found[f"result/{kind}"] = n(
                f"SELECT COUNT(*) FROM results JOIN runs ON runs.id = results.run_id WHERE runs.subject_kind = '{kind}'"
            )
            found[f"transition/{kind}"] = n(f"SELECT COUNT(*) FROM transitions WHERE subject_kind = '{kind}'")
    for table in (
        "apps",
        "submissions",
        "access_requests",
        "decisions",
        "waivers",
        "notifications",
        "activity",
        "signatures",
    ):
        found[table] = n(f"SELECT COUNT(*) FROM {table}")
    return found


if __name__ == "__main__":
    if sys.argv[1] == "populate":
        populate(Path(sys.argv[2]))
    print(json.dumps(view(Path(sys.argv[2])), sort_keys=True, default=str))
