"""The end-to-end checks: one per call type, the semantic events, the negative probes, batch,
read-back and delete."""

from __future__ import annotations

from partner_review.models.checks import Check, register
from partner_review.models.spec import CALL_TYPES

READ_BACK_PATH = "received"
WRONG_SECRET = "partner-review-wrong-credential"

_CALL_REMEDY = (
    "Answer 200 or 202 within 5 s to every valid {call} call, or 501 if {call} is not supported "
    "(and leave it out of supported_calls)."
)
CALL_CHECKS: dict[str, Check] = {
    call: register(
        f"E2E-00{i}",
        f"{call.capitalize()} calls are accepted, or declined with 501 when not supported",
        stage="e2e",
        requirement="spec",
        severity="blocker",
        remedy=_CALL_REMEDY.format(call=call),
        network=True,
    )
    for i, call in enumerate(CALL_TYPES, 1)
}
SEMANTIC_EVENTS = register(
    "E2E-007",
    "E-commerce semantic events are accepted (Order Completed, Product Viewed, Product Added, Checkout Started)",
    stage="e2e",
    requirement="spec",
    severity="blocker",
    network=True,
    remedy="Accept track calls carrying E-commerce v2 events, products arrays included, with 200/202.",
)
ANY_ACCEPTED = register(
    "E2E-008",
    "The endpoint accepts at least one call type",
    stage="e2e",
    severity="blocker",
    network=True,
    remedy="Make the endpoint accept the call types your integration supports with 200/202.",
)
BAD_CREDENTIAL = register(
    "E2E-009",
    "A wrong credential is refused with 401 or 403",
    stage="e2e",
    severity="blocker",
    network=True,
    remedy="Check the API key on every request and answer 401 (or 403) when it is missing or wrong.",
)
INVALID_EVENT = register(
    "E2E-010",
    "An invalid event is refused with 400",
    stage="e2e",
    severity="blocker",
    network=True,
    remedy="Validate incoming events and answer 400 with a reason when one breaks the Spec "
    "(here: no userId and no anonymousId).",
)
OVERSIZED_EVENT = register(
    "E2E-011",
    "An event over 32 KB is refused, not accepted silently",
    stage="e2e",
    severity="blocker",
    network=True,
    remedy="Refuse events over 32 KB with 400 or 413 instead of accepting and truncating them.",
)
REPEATED_MESSAGE = register(
    "E2E-012",
    "A repeated messageId is answered without error",
    stage="e2e",
    severity="blocker",
    network=True,
    remedy="Segment retries deliveries with the same messageId: de-duplicate on messageId and answer 200 again.",
)
BATCH = register(
    "E2E-013",
    "The batch endpoint accepts a batch of events",
    stage="e2e",
    severity="blocker",
    network=True,
    remedy='Accept `{"batch": [...]}` bodies of up to 2,500 events and 500 KB on batch_endpoint with 200/202.',
)
READ_BACK = register(
    "E2E-014",
    "Events read back with every field sent",
    stage="e2e",
    requirement="spec",
    severity="blocker",
    network=True,
    remedy="Store every field of an event as sent (nested properties and traits included); "
    "see docs/e2e.md for the optional read-back endpoint.",
)
DELETE = register(
    "E2E-015",
    "A delete request for a userId is honoured",
    stage="e2e",
    severity="blocker",
    network=True,
    remedy='Accept `{"type": "delete", "userId": ...}` on the endpoint with 200 and erase that user\'s data.',
)
CHECKS: tuple[Check, ...] = (
    *CALL_CHECKS.values(),
    SEMANTIC_EVENTS,
    ANY_ACCEPTED,
    BAD_CREDENTIAL,
    INVALID_EVENT,
    OVERSIZED_EVENT,
    REPEATED_MESSAGE,
    BATCH,
    READ_BACK,
    DELETE,
)
