"""The behaviours a sample partner can show: one conformant, the others each with one fault."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Behaviour:
    name: str
    description: str
    checks_auth: bool = True
    validates: bool = True
    delay: float = 0.0  # seconds before answering an event or batch
    fail_every: int = 0  # every n-th event or batch request fails with 500, then 503, ...
    rate: float = 0.0  # event and batch requests per second before 429 (0: unlimited)
    drops_fields: bool = False
    html: bool = False  # answers with an HTML page labelled text/html
    max_age: float = 0.0  # seconds: an event whose timestamp is older is refused with 400 (0: any age)
    reorders: bool = False  # read-back by userId in arrival order instead of timestamp order
    fails_batches: bool = False  # every batch request answers 500


BEHAVIOURS: dict[str, Behaviour] = {
    b.name: b
    for b in (
        Behaviour(
            "conformant",
            "Authenticates, validates each event against the Spec, stores it, answers 200/202, "
            "501 for unsupported call types, 401 on bad credentials, 400 on invalid events, "
            "honours delete.",
        ),
        Behaviour("slow", "Conformant, but answers events and batches only after 6 s.", delay=6.0),
        Behaviour("flaky", "Conformant, but every 3rd event or batch request fails with 500 or 503.", fail_every=3),
        Behaviour(
            "lenient",
            "Answers 200 to anything: invalid events, oversized events and bad credentials included.",
            checks_auth=False,
            validates=False,
        ),
        Behaviour("no-auth", "Conformant, but accepts any credential or none.", checks_auth=False),
        Behaviour(
            "rate-limited", "Conformant, but answers 429 with Retry-After above 5 requests per second.", rate=5.0
        ),
        Behaviour(
            "drops-fields",
            "Conformant, but stores only scalar properties and traits: nested objects and "
            "arrays (products, address) are lost.",
            drops_fields=True,
        ),
        Behaviour(
            "wrong-content-type", "Conformant, but answers with an HTML page (text/html) instead of JSON.", html=True
        ),
        Behaviour(
            "rejects-old-events",
            "Conformant, but answers 400 to an event whose timestamp is more than 24 hours old "
            "(a batch holding one is refused whole), so a replay of history fails.",
            max_age=24 * 3600.0,
        ),
        Behaviour(
            "fails-batches",
            "Conformant for single events, but answers 500 to every batch request.",
            fails_batches=True,
        ),
        Behaviour(
            "reorders",
            "Conformant, but its read-back returns a user's events sorted by arrival instead of by timestamp.",
            reorders=True,
        ),
    )
}
