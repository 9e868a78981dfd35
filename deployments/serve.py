"""Serve every deployment from this process (no work pool needed) beside the webhook receiver."""

from __future__ import annotations

import os
import threading

from partner_review.deployments.definitions import DEFINITIONS, TIMEZONE


def deployments() -> list:
    """Runner deployments for DEFINITIONS, built the way `prefect.yaml` declares them."""
    from prefect.schedules import Cron

    return [
        d.flow().to_deployment(
            name=d.name,
            description=d.description,
            parameters=d.parameters,
            schedules=[Cron(d.cron, timezone=TIMEZONE)] if d.cron else None,
        )
        for d in DEFINITIONS
    ]


def serve_all(*, host: str, port: int) -> int:
    """Run the receiver (dispatching to the review deployment) and serve the deployments."""
    import uvicorn
    from prefect import serve

    os.environ.setdefault("PARTNER_REVIEW_DISPATCH", "deployment")
    # The receiver's protocol: uvicorn's h11 with a head timeout and a chunk bound (webhooks/protocol.py).
    protocol = "partner_review.webhooks.protocol:GuardedH11Protocol"
    config = uvicorn.Config("partner_review.webhooks.app:app", host=host, port=port, log_level="info", http=protocol)
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, name="receiver", daemon=True).start()
    try:
        serve(*deployments(), pause_on_shutdown=False)
    finally:
        server.should_exit = True
    return 0
