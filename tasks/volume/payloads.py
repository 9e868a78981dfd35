"""Request bodies for a load test: Spec-valid events, pre-encoded, each with a unique messageId."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from partner_review.models.settings import Settings
from partner_review.models.submission import Destination
from partner_review.tasks.volume.plan import VolumeRefused

BODY_VARIANTS = 64  # distinct single-event bodies cycled through (batch mode: 4 distinct batches)


def _encode(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()


def build_bodies(
    events: list[dict[str, Any]], *, batch_size: int | None, max_seq: int, settings: Settings
) -> tuple[tuple[tuple[bytes, ...], ...], tuple[int, ...]]:
    """Request bodies, pre-encoded once and split where each request's sequence number goes.

    Every event's messageId becomes `pr-<run>-<seq>` (batch: `pr-<run>-<seq>-<position>`), so each
    event sent is unique (partners de-duplicate by messageId) at the cost of one bytes.join per
    request. Batches stay within the Spec limits (events, bytes per event, bytes per batch),
    counted with the longest sequence number this run will use.
    """
    if not events:
        raise VolumeRefused("no events to send")
    token = f"~{uuid.uuid4().hex}~"
    run = uuid.uuid4().hex[:8]
    grow = len(str(max_seq)) - len(token)  # bytes a token gains (or loses) once replaced
    bodies: list[tuple[bytes, ...]] = []
    counts: list[int] = []
    if batch_size is None:
        for event in events[:BODY_VARIANTS]:
            encoded = _encode({**event, "messageId": f"pr-{run}-{token}"})
            if len(encoded) + grow > settings.volume_event_max_bytes:
                continue
            bodies.append(tuple(encoded.split(token.encode())))
            counts.append(1)
        if not bodies:
            raise VolumeRefused(f"every generated event is over {settings.volume_event_max_bytes} bytes")
        return tuple(bodies), tuple(counts)
    head, tail = b'{"batch":[', b'],"sentAt":"' + _now().encode() + b'"}'
    cursor = 0
    for _ in range(4):
        parts: list[bytes] = []
        size = len(head) + len(tail)
        while len(parts) < batch_size:
            event = events[cursor % len(events)]
            cursor += 1
            encoded = _encode({**event, "messageId": f"pr-{run}-{token}-{len(parts)}"})
            if len(encoded) + grow > settings.volume_event_max_bytes:
                if cursor > len(events) and not parts:
                    raise VolumeRefused(f"every generated event is over {settings.volume_event_max_bytes} bytes")
                continue
            if size + len(encoded) + grow + 1 > settings.volume_batch_max_bytes:
                break
            parts.append(encoded)
            size += len(encoded) + grow + 1
        body = head + b",".join(parts) + tail
        bodies.append(tuple(body.split(token.encode())))
        counts.append(len(parts))
    return tuple(bodies), tuple(counts)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sample_events(destination: Destination, count: int) -> list[dict[str, Any]]:
    """`count` Spec-valid events of the call types the destination supports, dated now (a destination
    may refuse old events; stage replay measures that, the load must not trip over it)."""
    from partner_review.models import events

    now = _now()
    return [
        {**e, "timestamp": now, "sentAt": now}
        for e in events.generate(count, types=destination.supported_calls or None)
    ]
