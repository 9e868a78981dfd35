"""The dispatcher: starts a run for every persisted delivery, retrying until it succeeds.

The outbox row is written in the same transaction as the delivery, so a delivery that was
answered 2xx is never lost: if the Prefect API is down the row stays pending and the next pass
(every `dispatch_interval_seconds`) tries again. The delivery id is the flow run's idempotency
key, so a retried dispatch cannot start a second run.

Two kinds of delivery have an outbox, each a `Kind`: submissions start `review-submission`
(`submissions`), access requests start `review-access-request` (`access_requests`). One
`Dispatcher` loop serves each.

Modes (PARTNER_REVIEW_DISPATCH): `deployment` creates a run of the kind's deployment through the
Prefect API; `local` runs the flow in this process (the demo, single-process setups); `off`
leaves dispatches pending for another process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from partner_review.models.settings import Settings
from partner_review.models.store import Store

log = logging.getLogger("partner_review.dispatch")


@dataclass(frozen=True)
class Job:
    """One pending outbox row: its key in the outbox, the flow's parameter, the idempotency key."""

    row: Any
    subject: str
    idempotency_key: str


@dataclass(frozen=True)
class Kind:
    """What the dispatcher needs to know of one kind of delivery (the outbox calls block: they
    run in a thread)."""

    subject: str  # the kind of subject: "submission", "access"
    what: str  # for the log: "review", "access review"
    deployment: Callable[[Settings], str]
    parameter: str
    pending: Callable[[], list[Job]]
    claim: Callable[[Any], bool]
    done: Callable[[Any, str | None], None]
    failed: Callable[[Any, str], None]
    release_claims: Callable[[], int]
    run_here: Callable[[str], Any]


def submissions(store: Store) -> Kind:
    return Kind(
        subject="submission",
        what="review",
        deployment=lambda settings: settings.review_deployment,
        parameter="submission_id",
        pending=lambda: [Job(d.id, d.submission_id, d.delivery_id) for d in store.pending_dispatches()],
        claim=store.claim_dispatch,
        done=store.dispatch_done,
        failed=store.dispatch_failed,
        release_claims=store.release_claims,
        run_here=lambda submission_id: run_review_here(submission_id),  # looked up when called
    )


def access_requests(store: Store) -> Kind:
    repo = store.access
    return Kind(
        subject="access",
        what="access review",
        deployment=lambda settings: settings.access_review_deployment,
        parameter="access_request_id",
        pending=lambda: [Job(r, r, f"access:{repo.delivery_of(r)}") for r in repo.pending_dispatches()],
        claim=repo.claim_dispatch,
        done=repo.dispatch_done,
        failed=repo.dispatch_failed,
        release_claims=repo.release_claims,
        run_here=lambda request_id: run_access_review_here(request_id),
    )


def kinds(store: Store) -> tuple[Kind, ...]:
    """Every kind of subject with an outbox: the receiver runs one dispatcher loop for each."""
    return submissions(store), access_requests(store)


def kick(request: Request, subject: str) -> None:
    """Ask the dispatcher of `subject` for a pass now (a new delivery is in the outbox)."""
    dispatcher = getattr(request.app.state, "dispatchers", {}).get(subject)
    if dispatcher is not None:
        dispatcher.kick()


class Dispatcher:
    def __init__(self, store: Store, settings: Settings, kind: Kind | None = None):
        self.settings = settings
        self.kind = kind or submissions(store)
        self._wake = asyncio.Event()
        self._local: set[asyncio.Task] = set()
        self._recovered = False

    def kick(self) -> None:
        """Ask for a pass now instead of at the next interval."""
        self._wake.set()

    async def run_forever(self) -> None:
        while True:
            try:
                await self.dispatch_pending()
            except Exception:  # the loop must survive anything one pass meets
                log.exception(
                    "%s dispatch pass failed; retrying in %s s", self.kind.what, self.settings.dispatch_interval_seconds
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.dispatch_interval_seconds)
            self._wake.clear()

    async def dispatch_pending(self) -> int:
        """One pass over the outbox; returns how many dispatches succeeded."""
        if self.settings.dispatch == "local" and not self._recovered:
            # In-process runs claimed by a process that is gone (a crash, a kill) run again;
            # their side effects are idempotent, so a rerun finishes what the first began.
            released = await asyncio.to_thread(self.kind.release_claims)
            if released:
                log.warning(
                    "%d in-process %s(s) left unfinished by an earlier process will run again", released, self.kind.what
                )
            self._recovered = True
        done = 0
        for job in await asyncio.to_thread(self.kind.pending):
            if self.settings.dispatch == "deployment":
                done += await self._to_deployment(job)
            elif self.settings.dispatch == "local":
                done += await self._locally(job)
        return done

    async def _to_deployment(self, job: Job) -> int:
        from prefect.client.orchestration import get_client
        from prefect.exceptions import ObjectNotFound

        name = self.kind.deployment(self.settings)
        try:
            async with get_client() as client:
                deployment = await client.read_deployment_by_name(name)
                run = await client.create_flow_run_from_deployment(
                    deployment.id, parameters={self.kind.parameter: job.subject}, idempotency_key=job.idempotency_key
                )
        except ObjectNotFound:
            reason = f"deployment '{name}' is not on the Prefect API (is `partner-review serve` running?)"
        except Exception as error:  # API down, timeouts...: the dispatch stays pending
            reason = f"Prefect API: {type(error).__name__}: {error}"
        else:
            await asyncio.to_thread(self.kind.done, job.row, str(run.id))
            return 1
        log.warning("dispatch of %s %s failed (%s); will retry", self.kind.what, job.idempotency_key, reason)
        await asyncio.to_thread(self.kind.failed, job.row, reason)
        return 0

    async def _locally(self, job: Job) -> int:
        """Claim the dispatch and start its run in a thread; runs waiting for a reviewer do not
        hold up the next one."""
        if not await asyncio.to_thread(self.kind.claim, job.row):
            return 0

        async def run() -> None:
            try:
                state = await asyncio.to_thread(self.kind.run_here, job.subject)
                flow_run_id = str(state.state_details.flow_run_id)
            except Exception as error:  # e.g. the Prefect API refused the run: try again next pass
                log.warning("in-process %s of %s failed to run (%s); will retry", self.kind.what, job.subject, error)
                await asyncio.to_thread(self.kind.failed, job.row, f"{type(error).__name__}: {error}")
                return
            await asyncio.to_thread(self.kind.done, job.row, flow_run_id)

        task = asyncio.create_task(run())
        self._local.add(task)
        task.add_done_callback(self._local.discard)
        return 1


def _run_here(flow: Callable[[], Awaitable[Any]]) -> Any:
    """Run a flow in this process (own event loop, own thread); returns its final state. Without
    PREFECT_API_URL, the server Prefect starts for it is partner-review's embedded one."""
    from partner_review.flows.prefect_server import embedded_server

    embedded_server()

    async def run() -> Any:
        return await flow()

    return asyncio.run(run())


def run_review_here(submission_id: str) -> Any:
    from partner_review.flows.review import review_submission

    return _run_here(lambda: review_submission(submission_id, return_state=True))


def run_access_review_here(request_id: str) -> Any:
    from partner_review.flows.access import review_access_request

    return _run_here(lambda: review_access_request(request_id, return_state=True))
