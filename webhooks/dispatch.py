"""The dispatcher: starts a review run for every persisted delivery, retrying until it succeeds.

The dispatch outbox row is written in the same transaction as the delivery, so a delivery that
was answered 2xx is never lost: if the Prefect API is down the row stays pending and the next
pass (every `dispatch_interval_seconds`) tries again. The delivery id is the flow run's
idempotency key, so a retried dispatch cannot start a second run.

Modes (PARTNER_REVIEW_DISPATCH): `deployment` creates a run of the review deployment through the
Prefect API; `local` runs the review flow in this process (the demo, single-process setups);
`off` leaves dispatches pending for another process.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from partner_review.models.settings import Settings
from partner_review.models.store import Dispatch, Store

log = logging.getLogger("partner_review.dispatch")


class Dispatcher:
    def __init__(self, store: Store, settings: Settings):
        self.store, self.settings = store, settings
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
                log.exception("dispatch pass failed; retrying in %s s", self.settings.dispatch_interval_seconds)
            try:
                await asyncio.wait_for(self._wake.wait(), self.settings.dispatch_interval_seconds)
            except TimeoutError:
                pass
            self._wake.clear()

    async def dispatch_pending(self) -> int:
        """One pass over the outbox; returns how many dispatches succeeded."""
        if self.settings.dispatch == "local" and not self._recovered:
            # In-process reviews claimed by a process that is gone (a crash, a kill) run again;
            # their side effects are idempotent, so a rerun finishes what the first began.
            released = await asyncio.to_thread(self.store.release_claims)
            if released:
                log.warning("%d in-process review(s) left unfinished by an earlier process will run again", released)
            self._recovered = True
        pending = await asyncio.to_thread(self.store.pending_dispatches)
        done = 0
        for item in pending:
            if self.settings.dispatch == "deployment":
                done += await self._to_deployment(item)
            elif self.settings.dispatch == "local":
                done += await self._locally(item)
        return done

    async def _to_deployment(self, item: Dispatch) -> int:
        from prefect.client.orchestration import get_client
        from prefect.exceptions import ObjectNotFound

        try:
            async with get_client() as client:
                deployment = await client.read_deployment_by_name(self.settings.review_deployment)
                run = await client.create_flow_run_from_deployment(
                    deployment.id,
                    parameters={"submission_id": item.submission_id},
                    idempotency_key=item.delivery_id,
                )
        except ObjectNotFound:
            reason = (
                f"deployment '{self.settings.review_deployment}' is not on the Prefect API "
                "(is `partner-review serve` running?)"
            )
        except Exception as error:  # API down, timeouts...: the dispatch stays pending
            reason = f"Prefect API: {type(error).__name__}: {error}"
        else:
            await asyncio.to_thread(self.store.dispatch_done, item.id, str(run.id))
            return 1
        log.warning("dispatch of delivery %s failed (%s); will retry", item.delivery_id, reason)
        await asyncio.to_thread(self.store.dispatch_failed, item.id, reason)
        return 0

    async def _locally(self, item: Dispatch) -> int:
        """Claim the dispatch and start its review in a thread; reviews waiting for a reviewer
        do not hold up the next one."""
        if not await asyncio.to_thread(self.store.claim_dispatch, item.id):
            return 0

        async def review() -> None:
            try:
                state = await asyncio.to_thread(run_review_here, item.submission_id)
                flow_run_id = str(state.state_details.flow_run_id)
            except Exception as error:  # e.g. the Prefect API refused the run: try again next pass
                log.warning("in-process review of %s failed to run (%s); will retry", item.submission_id, error)
                await asyncio.to_thread(self.store.dispatch_failed, item.id, f"{type(error).__name__}: {error}")
                return
            await asyncio.to_thread(self.store.dispatch_done, item.id, flow_run_id)

        task = asyncio.create_task(review())
        self._local.add(task)
        task.add_done_callback(self._local.discard)
        return 1


def run_review_here(submission_id: str):
    """Run the review flow in this process (own event loop, own thread); returns its final state.
    Without PREFECT_API_URL, the server Prefect starts for it is partner-review's embedded one."""
    from partner_review.flows.prefect_server import embedded_server
    from partner_review.flows.review import review_submission

    embedded_server()

    async def run() -> Any:
        return await review_submission(submission_id, return_state=True)

    return asyncio.run(run())
