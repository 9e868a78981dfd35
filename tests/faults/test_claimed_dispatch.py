"""A local dispatch claimed by a process that then died runs again when the receiver restarts.

(This test was written against the bug it describes below, and fixed with it.)

`Store.claim_dispatch` moves the row from `pending` to `claimed`; `pending_dispatches` only
returns `pending` rows, and nothing returns a `claimed` row to `pending` or treats an old claim as
abandoned. So after a crash (test_killed_review.py kills one) the review is not resumed by a
restarted receiver: someone must rerun it by hand. The same happens without a crash when the
local review raises before it finishes (webhooks/dispatch.py `_locally.review` has no except:
bench/review.py saw a Prefect 503 on flow-run creation leave a dispatch `claimed` for good). Expected to fail until the store reclaims
stale claims (e.g. `claimed_at` plus a lease, or `flow_run_id` checked against Prefect).
"""

import asyncio
import json
from datetime import UTC, datetime, timedelta

from partner_review.models.submission import parse_submission
from tests.conftest import EXAMPLES


def test_a_dispatch_claimed_by_a_dead_process_is_dispatched_again(store, env, monkeypatch):
    import partner_review.webhooks.dispatch as dispatch
    from partner_review.models.settings import get_settings

    now = datetime.now(UTC)
    submission = parse_submission(json.loads((EXAMPLES / "submission.json").read_text()))
    store.record_delivery("claimed-1", b"{}", submission, received_at=now, ack_due_at=now + timedelta(days=2))
    (pending,) = store.pending_dispatches()
    assert store.claim_dispatch(pending.id)  # the first process claims it, then is SIGKILLed

    started = []
    monkeypatch.setattr(dispatch, "run_review_here", lambda sid: started.append(sid))
    monkeypatch.setenv("PARTNER_REVIEW_DISPATCH", "local")
    get_settings.cache_clear()

    async def restarted_receiver_pass():
        d = dispatch.Dispatcher(store, get_settings())
        await d.dispatch_pending()
        await asyncio.gather(*d._local)

    asyncio.run(restarted_receiver_pass())
    assert started == [pending.submission_id]
