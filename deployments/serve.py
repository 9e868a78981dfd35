"""Serve every deployment from this process (no work pool needed) beside the webhook receiver.

`prefect.yaml` describes the same deployments for a process work pool; issue-level scheduling
(SLA watch, graduation, re-checks) joins this list as those flows are built.
"""

from __future__ import annotations

import os
import threading

REVIEW_DEPLOYMENT = "review-submission"


def deployments() -> list:
    from flows.review import review_submission

    return [review_submission.to_deployment(name=REVIEW_DEPLOYMENT, description="Started by the webhook receiver's dispatcher.")]


def serve_all(*, host: str, port: int) -> int:
    """Run the receiver (dispatching to the review deployment) and serve the deployments."""
    import uvicorn
    from prefect import serve

    os.environ.setdefault("PARTNER_REVIEW_DISPATCH", "deployment")
    server = uvicorn.Server(uvicorn.Config("webhooks.app:app", host=host, port=port, log_level="info"))
    threading.Thread(target=server.run, name="receiver", daemon=True).start()
    try:
        serve(*deployments(), pause_on_shutdown=False)
    finally:
        server.should_exit = True
    return 0
