"""The production layout under faults (issue 28): a burst of submissions and access requests sent
through the balancer by a sender that retries as a webhook provider does, and during the burst,
one at a time, kill -9 of an API server, of a worker mid-stage (with its flow-run process), of a
receiver and of the services process, then a restart of Redis and of PostgreSQL.

After every fault: each delivery persisted once, each review completed once (a run whose worker
died is marked Crashed through its heartbeats and scheduled again by the layout's automations),
no notification twice, and no answer 5xx but the 503 the contract allows while the store is down.
Counts come from the app's store and Prefect's API. Figures (reviews per minute, recovery time
per fault) are printed at the end.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import httpx
import pytest

from tests.conftest import EXAMPLES
from tests.ha.conftest import WEBHOOK_SECRET

pytestmark = pytest.mark.ha

PER_PHASE = 5  # submissions per phase; 7 phases: 35 submissions
ACCESS_PER_PHASE = 2  # access requests per phase: 14
PHASE_SECONDS = 420  # a crashed run needs its missed heartbeats (75 s), the automation and a new worker process
SENDER_GIVES_UP_SECONDS = 300


@dataclass
class Delivery:
    endpoint: str  # submissions | access-requests
    id: str
    body: dict
    answers: list[tuple[float, int | str]] = field(default_factory=list)  # (time, status or error name)
    subject_id: str | None = None


class Sender:
    """Signs and posts each delivery until it is accepted, retrying 5xx and lost connections with
    backoff under the same delivery id (a fresh signature each time), as webhook providers do."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.pool = ThreadPoolExecutor(6)

    def send(self, delivery: Delivery) -> None:
        from partner_review.webhooks.signing import DELIVERY_HEADER, HEADER, sign

        body = json.dumps(delivery.body).encode()
        deadline, pause = time.monotonic() + SENDER_GIVES_UP_SECONDS, 0.5
        while time.monotonic() < deadline:
            headers = {
                "content-type": "application/json",
                DELIVERY_HEADER: delivery.id,
                HEADER: sign(WEBHOOK_SECRET, body),
            }
            try:
                answer = httpx.post(
                    f"{self.base_url}/webhooks/{delivery.endpoint}", content=body, headers=headers, timeout=60
                )
            except httpx.HTTPError as error:
                delivery.answers.append((time.time(), type(error).__name__))
            else:
                delivery.answers.append((time.time(), answer.status_code))
                if answer.status_code in (200, 202):
                    data = answer.json()
                    delivery.subject_id = data.get("submission_id") or data.get("access_request_id")
                    return
                if answer.status_code < 500:
                    return  # the sender's own mistake: not retried (and the test fails on it)
            time.sleep(pause)
            pause = min(pause * 2, 8)

    def burst(self, deliveries: list[Delivery]):
        return [self.pool.submit(self.send, d) for d in deliveries]


def make_deliveries(phase: str, partner) -> list[Delivery]:
    from partner_review.cli.demo import on_site, pointed_at

    partner_url, site = partner
    out = []
    for n in range(PER_PHASE):
        slug = f"ha-{phase}-{n}"
        text = (EXAMPLES / "submission.json").read_text().replace("acme-analytics", slug)
        out.append(
            Delivery("submissions", f"{slug}-{uuid.uuid4().hex[:6]}", pointed_at(json.loads(text), partner_url, site))
        )
    for n in range(ACCESS_PER_PHASE):
        request = on_site(json.loads((EXAMPLES / "access-request.json").read_text()), site)
        request["company"]["name"] = f"HA {phase} {n} Inc."
        out.append(Delivery("access-requests", f"ha-access-{phase}-{n}-{uuid.uuid4().hex[:6]}", request))
    return out


class Watch:
    """What the store says about the reviews of the deliveries sent."""

    def __init__(self, layout):
        from partner_review.models.settings import Settings
        from partner_review.models.store import Store

        self.store = Store(
            Settings(
                database_url=layout.database_url("app"), data_dir=layout.dir / "data", secret_key=layout.secret_key
            ),
            migrate=False,
        )

    def finished_at(self, delivery: Delivery) -> datetime | None:
        """When the delivery's review run completed, or None while it has not (or the store is down)."""
        if delivery.subject_id is None:
            return None
        try:
            if delivery.endpoint == "submissions":
                latest = self.store.latest_review(delivery.subject_id)
                run = latest[0] if latest else None
            else:
                run = self.store.access.latest_review(delivery.subject_id)
        except Exception:  # the store restarting: not finished as far as we can tell
            return None
        return run.finished_at if run is not None and run.status == "completed" else None


def wait_for(condition, timeout: float, what: str, layout) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout:.0f} s\n{layout.report()}")
        time.sleep(1)


def test_the_layout_survives_each_fault(layout, partner):
    sender, watch = Sender(layout.hooks_url), Watch(layout)
    sent: list[Delivery] = []
    figures: dict[str, str] = {}
    store_down: list[tuple[float, float]] = []  # when PostgreSQL was down (503 allowed then)
    killed_runs: list[str] = []  # flow runs whose process died with worker-a

    def run_phase(name: str, fault=None) -> None:
        batch = make_deliveries(name, partner)
        sent.extend(batch)
        started = time.time()
        futures = sender.burst(batch)
        fault_at = None
        if fault is not None:
            fault_at = fault()
        for future in futures:
            future.result(timeout=SENDER_GIVES_UP_SECONDS + 60)
        refused = [(d.id, d.answers) for d in batch if d.subject_id is None]
        assert not refused, f"deliveries never accepted in phase {name}: {refused}"
        wait_for(
            lambda: all(watch.finished_at(d) for d in batch), PHASE_SECONDS, f"phase {name}: every review done", layout
        )
        finished = [watch.finished_at(d) for d in batch]
        last = max(f.timestamp() for f in finished if f)
        if fault_at is None:
            figures["reviews per minute (no fault)"] = f"{len(batch) / ((last - started) / 60):.1f}"
        else:
            after = [f.timestamp() - fault_at for f in finished if f and f.timestamp() > fault_at]
            figures[f"recovery after {name}"] = (
                f"{min(after):.1f} s to the next review, {last - fault_at:.1f} s to the phase's last"
            )
        print(
            f"phase {name}: {len(batch)} deliveries, reviews done {last - started:.1f} s after the burst began",
            flush=True,
        )

    def kill_then_restart(name: str, pause: float = 5):
        def fault() -> float:
            time.sleep(2)  # mid-burst
            at = time.time()
            layout.kill(name)
            time.sleep(pause)
            layout.restart(name)
            return at

        return fault

    def kill_worker_mid_stage() -> float:
        """Wait until a worker runs a submission's review of this phase (reviews take tens of
        seconds, access requests two), then kill that worker and its flow-run processes while
        the review still runs."""
        phase_keys = {d.id for d in sent[-(PER_PHASE + ACCESS_PER_PHASE) :] if d.endpoint == "submissions"}
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            for name in ("worker-a", "worker-b"):
                running = [
                    r
                    for r in _runs_on(layout, name)
                    if r["idempotency_key"] in phase_keys and r["state"]["type"] == "RUNNING"
                ]
                if running:
                    at = time.time()
                    killed_runs.extend(r["id"] for r in running)
                    layout.kill(name)
                    layout.restart(name)
                    return at
            time.sleep(0.5)
        raise AssertionError(f"no worker ran a review of this phase within 180 s\n{layout.report()}")

    def restart_redis() -> float:
        time.sleep(2)
        at = time.time()
        layout.services["redis"].stop()
        time.sleep(2)
        layout.restart("redis")
        return at

    def restart_postgres() -> float:
        time.sleep(2)
        at = time.time()
        layout.services["postgres"].stop()
        time.sleep(5)
        layout.restart("postgres")
        store_down.append((at, time.time() + 5))
        return at

    run_phase("baseline")
    run_phase("api-server", kill_then_restart("api-a"))
    run_phase("worker", kill_worker_mid_stage)
    run_phase("receiver", kill_then_restart("receiver-a"))
    run_phase("services", kill_then_restart("services"))
    run_phase("redis", restart_redis)
    run_phase("postgres", restart_postgres)
    print("\nfigures of the production layout under faults:")
    for name, value in figures.items():
        print(f"  {name}: {value}")

    # Every answer was one the contract names: 5xx only as the 503 of a store that is down.
    allowed_503 = lambda t: any(start <= t <= end + 10 for start, end in store_down)  # noqa: E731
    bad = [
        (d.id, t, s)
        for d in sent
        for t, s in d.answers
        if isinstance(s, int) and s >= 500 and not (s == 503 and allowed_503(t))
    ]
    assert not bad, f"answers outside the contract: {bad}"
    lost = [(d.id, t, s) for d in sent for t, s in d.answers if isinstance(s, str)]
    assert not lost, f"requests the balancer dropped: {lost}"

    # Each delivery persisted once; each subject one review; no notification twice.
    submissions = [d for d in sent if d.endpoint == "submissions"]
    requests = [d for d in sent if d.endpoint == "access-requests"]
    assert len({d.subject_id for d in submissions}) == len(submissions)
    assert len({d.subject_id for d in requests}) == len(requests)
    _assert_store_counts(watch.store, submissions, requests)

    # Prefect agrees: one flow run per delivery (its id the idempotency key), each waiting for its
    # reviewer; a run that crashed was run again (the killed worker's run at least once).
    from tests.server.support import PrefectAPI

    api = PrefectAPI(layout.api_url)
    try:
        for deployment, batch in (("review-submission/review-submission", submissions),
                                  ("review-access-request/review-access-request", requests)):  # fmt: skip
            deployment_id = api.deployment(deployment)["id"]
            runs = api.flow_runs(deployment_id)
            assert sorted(r["idempotency_key"].removeprefix("access:") for r in runs) == sorted(d.id for d in batch)

            def settled() -> bool:
                return all(r["state"]["type"] == "PAUSED" for r in api.flow_runs(deployment_id))

            wait_for(
                settled,
                240,
                f"{deployment}: not every run waiting for its reviewer ({_history(api, deployment_id)})",
                layout,
            )
        for run_id in killed_runs:
            states = api.get(f"/flow_run_states/?flow_run_id={run_id}")
            names = [s["name"] for s in states]
            print("the run killed with worker-a:", " > ".join(f"{s['name']}@{s['timestamp'][11:19]}" for s in states))
            assert "Crashed" in names and names[-1] == "Suspended", f"killed run {run_id}: {names}"
    finally:
        api.close()


def _runs_on(layout, worker: str) -> list[dict]:
    """The flow runs whose processes belong to `worker` now, as Prefect's API sees them."""
    from partner_review.deployments.production.layout import MARK, SERVICE
    from partner_review.deployments.production.services import environ_of, marked

    ids = set()
    for pid in marked(MARK, layout.mark):
        environ = environ_of(pid)
        if environ.get(SERVICE) == worker and environ.get("PREFECT__FLOW_RUN_ID"):
            ids.add(environ["PREFECT__FLOW_RUN_ID"])
    if not ids:
        return []
    answer = httpx.post(
        f"{layout.api_url}/flow_runs/filter", json={"flow_runs": {"id": {"any_": sorted(ids)}}}, timeout=30
    )
    return answer.json() if answer.status_code == 200 else []


def _history(api, deployment_id: str) -> str:
    """Each run not yet waiting for its reviewer, with its states in order (for the failure message)."""
    lines = []
    for run in api.flow_runs(deployment_id):
        if run["state"]["type"] != "PAUSED":
            states = api.get(f"/flow_run_states/?flow_run_id={run['id']}")
            lines.append(f"{run['id']}: " + " > ".join(f"{s['name']}@{s['timestamp'][11:19]}" for s in states))
    return "; ".join(lines)


def _assert_store_counts(store, submissions, requests) -> None:
    """From the one schema: one delivery row per delivery id, one run per subject, one message of
    each kind per subject."""
    from sqlalchemy import select

    from partner_review.models.db import DeliveryRow, RunRow

    with store.session() as session:
        deliveries = {
            (endpoint, delivery): subject
            for endpoint, delivery, subject in session.execute(
                select(DeliveryRow.endpoint, DeliveryRow.id, DeliveryRow.subject_id).where(
                    DeliveryRow.endpoint.in_(["submissions", "access-requests"])
                )
            )
        }
        runs = Counter(
            session.execute(select(RunRow.subject_id).where(RunRow.kind.in_(["review", "access"]))).scalars()
        )
    assert deliveries == {(d.endpoint, d.id): d.subject_id for d in submissions + requests}
    assert runs == {d.subject_id: 1 for d in submissions + requests}, "a subject reviewed more than once"
    notifications = Counter((n.submission_id, n.kind) for n in store.notifications())
    assert all(count == 1 for count in notifications.values()), f"a notification sent twice: {notifications}"
    assert all(notifications[(d.subject_id, "acknowledgment")] == 1 for d in submissions)
    assert all(store.access.latest_review(d.subject_id).status == "completed" for d in requests)
    assert all(s.state == "in_review" for s in (store.get_submission(d.subject_id) for d in submissions))
