"""Scale-out, for real (issue 8, item 6): Prefect on PostgreSQL, the deployments of `prefect.yaml` in
a process work pool, two workers, two receivers sharing the app's store on PostgreSQL, and 20
submissions. Each is reviewed exactly once whatever process picks it up; both workers work.

The deployments are created the way an operator does it: `prefect work-pool create` and
`prefect deploy --all` from the project root with PARTNER_REVIEW_HOME set (the pull step's
working directory). Two receivers dispatch from the same outbox, so both may create the run of
the same delivery; the delivery id as idempotency key must leave one flow run per delivery.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest

from partner_review.deployments.definitions import DEFINITIONS
from tests.conftest import EXAMPLES
from tests.server.support import Phases, signed_delivery, wait_until

pytestmark = pytest.mark.scaleout

SUBMISSIONS = 20
POOL = "partner-review"
REVIEW_DEPLOYMENT = "review-submission/review-submission"
WORKERS = ("worker-a", "worker-b")


def submission(number: int, partner_url: str, site) -> dict:
    """The bundled example as its own app (a distinct slug everywhere the slug appears), aimed at
    the sample partner and the sample website."""
    from partner_review.cli.demo import pointed_at

    text = (EXAMPLES / "submission.json").read_text().replace("acme-analytics", f"acme-analytics-{number:02d}")
    return pointed_at(json.loads(text), partner_url, site)


def test_twenty_submissions_each_reviewed_once_across_two_workers(stack, sample_partner):
    phase = Phases()
    partner_url, site = sample_partner
    stack.partner(partner_url, site)
    prefect_db, _ = stack.postgres_database("prefect")
    _, app_db = stack.postgres_database("app")
    stack.database_url = app_db
    stack.prefect_server(database_url=prefect_db, ui=False)
    phase("Prefect server on PostgreSQL answers /api/health")

    stack.cli("work-pool", "prefect", "work-pool", "create", POOL, "--type", "process")
    stack.cli("deploy", "prefect", "--no-prompt", "deploy", "--all")
    deployment = stack.api.deployment(REVIEW_DEPLOYMENT)
    assert deployment and deployment["work_pool_name"] == POOL
    assert {d["name"] for d in stack.api.post("/deployments/filter", {})} == {d.name for d in DEFINITIONS}
    phase("work pool and the deployments of prefect.yaml created")

    stack.cli("db-upgrade", "partner-review", "db", "upgrade")  # once, before any process uses the store
    for name in WORKERS:
        stack.worker(name, limit=4, wait=False)
    receivers = [stack.receiver("receiver-a", wait=False), stack.receiver("receiver-b", wait=False)]
    for name in WORKERS:
        stack.wait_for_worker(name)
    for base in receivers:
        stack.wait_for_receiver(base)
    phase("two workers and two receivers ready")

    deliveries = {
        f"scale-{number:02d}-{uuid.uuid4().hex[:6]}": submission(number, partner_url, site)
        for number in range(SUBMISSIONS)
    }

    def deliver(item: tuple[int, tuple[str, dict]]) -> tuple[str, str]:
        index, (delivery_id, body) = item
        first = signed_delivery(receivers[index % 2], stack.secret, body, delivery_id)
        assert first.status_code == 202, first.text
        again = signed_delivery(receivers[(index + 1) % 2], stack.secret, body, delivery_id)  # a redelivery
        assert again.status_code == 200 and again.json() == first.json(), again.text
        return delivery_id, first.json()["submission_id"]

    with ThreadPoolExecutor(4) as pool:
        submission_of = dict(pool.map(deliver, enumerate(deliveries.items())))
    assert len(set(submission_of.values())) == SUBMISSIONS
    phase(f"{SUBMISSIONS} submissions delivered (and redelivered)")

    def runs_by_state() -> Counter:
        return Counter(f"{r['state']['type']}/{r['state']['name']}" for r in stack.api.flow_runs(deployment["id"]))

    def all_waiting() -> bool:
        states = runs_by_state()
        broken = {s: n for s, n in states.items() if s.split("/")[0] in ("FAILED", "CRASHED", "CANCELLED")}
        if broken:
            raise AssertionError(f"review runs failed: {dict(states)}\n{stack.procs.report()}")
        return states.get("PAUSED/Suspended", 0) >= SUBMISSIONS

    wait_until(
        all_waiting,
        timeout=420,
        interval=2,
        processes=stack.procs,
        what=f"{SUBMISSIONS} review runs did not all reach Suspended (now {dict(runs_by_state())})",
    )
    phase(f"{SUBMISSIONS} review runs reviewed and suspended, waiting for a decision")

    # One flow run per delivery, keyed by the delivery id, whatever receiver dispatched it.
    runs = stack.api.flow_runs(deployment["id"])
    assert len(runs) == SUBMISSIONS
    assert sorted(r["idempotency_key"] for r in runs) == sorted(deliveries)
    assert sorted(r["parameters"]["submission_id"] for r in runs) == sorted(submission_of.values())
    store = stack.store()
    dispatches = store.dispatches()
    assert len(dispatches) == SUBMISSIONS and {d.status for d in dispatches} == {"dispatched"}
    assert {d.flow_run_id for d in dispatches} == {r["id"] for r in runs}

    # Each submission reviewed exactly once: one completed automated review run, one acknowledgment.
    from sqlalchemy import func, select

    from partner_review.models.db import RunRow

    with store.session() as session:
        review_runs = dict(
            session.execute(
                select(RunRow.subject_id, func.count())
                .where(RunRow.subject_kind == "submission")
                .group_by(RunRow.subject_id)
            ).all()
        )
    assert review_runs == {sid: 1 for sid in submission_of.values()}
    for sid in submission_of.values():
        run, results = store.latest_review(sid)
        assert run.status == "completed" and results and run.flow_run_id in {r["id"] for r in runs}
        assert store.get_submission(sid).state == "in_review"
    acknowledgments = Counter(n.submission_id for n in store.notifications() if n.kind == "acknowledgment")
    assert acknowledgments == {sid: 1 for sid in submission_of.values()}

    # Both workers ran reviews: the worker's `submitted-flow-run` events name the worker and the run.
    def submitted_by_worker() -> dict[str, str]:
        found = {}
        for event in stack.api.events("prefect.worker.submitted-flow-run"):
            for related in event.get("related", []):
                if related.get("prefect.resource.role") == "flow-run":
                    found[related["prefect.resource.id"].removeprefix("prefect.flow-run.")] = event["resource"][
                        "prefect.resource.name"
                    ]
        return found if {r["id"] for r in runs} <= found.keys() else {}

    submitted = wait_until(
        submitted_by_worker,
        timeout=60,
        interval=2,
        processes=stack.procs,
        what="the workers' submitted-flow-run events did not cover every review run",
    )
    per_worker = Counter(submitted[r["id"]] for r in runs)
    assert set(per_worker) == set(WORKERS), f"both workers must run reviews: {dict(per_worker)}"
    phase(f"review runs per worker: {dict(sorted(per_worker.items()))}")
    for name in WORKERS:  # the workers' own logs agree
        log = next(p for p in stack.procs.started if p.name == name).output(tail=10**7)
        assert all(run_id in log for run_id, worker in submitted.items() if worker == name)

    # Two reviewers decide; the suspended runs are resumed and rerun by a worker to their end.
    decided = {}
    for (delivery_id, sid), choice in zip(list(submission_of.items())[:2], ("approve", "reject")):
        args = [f"--{choice}", "--comment", "decided in the scale-out test", "--reviewer", "sam@reviewers.example"]
        if choice == "approve":
            blockers = sorted({r.check for r in store.latest_review(sid)[1] if r.blocks})
            for check in blockers:
                args += [
                    "--waive",
                    check,
                    "--reason",
                    "accepted by the scale-out test",
                    "--expires",
                    str(date.today() + timedelta(days=30)),
                ]
        assert "resumed flow run" in stack.cli(f"decide-{choice}", "partner-review", "decide", sid, *args).stdout
        decided[sid] = {"approve": "public_beta", "reject": "rejected"}[choice]

    run_of = {r["parameters"]["submission_id"]: r["id"] for r in runs}

    def decisions_applied() -> bool:
        states = {sid: stack.api.flow_run(run_of[sid])["state"]["type"] for sid in decided}
        if {"FAILED", "CRASHED", "CANCELLED"} & set(states.values()):
            raise AssertionError(f"a resumed run did not complete: {states}\n{stack.procs.report()}")
        return set(states.values()) == {"COMPLETED"}

    wait_until(
        decisions_applied,
        timeout=240,
        interval=2,
        processes=stack.procs,
        what="the decided runs were not resumed to completion",
    )
    phase("two decided runs resumed and completed on the workers")
    for sid, state in decided.items():
        assert store.get_submission(sid).state == state
        assert [n.kind for n in store.notifications(sid)].count("acknowledgment") == 1
    assert len(stack.api.flow_runs(deployment["id"])) == SUBMISSIONS, "resuming reran the same runs"
    assert runs_by_state()["PAUSED/Suspended"] == SUBMISSIONS - len(decided)
