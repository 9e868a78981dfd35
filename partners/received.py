"""What a sample partner stored, so a test (or the review's read-back check) can compare."""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any, Literal


class Received:
    """Stored events by messageId, oldest evicted beyond `limit` (benchmarks send millions)."""

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self._events: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.deleted_users: list[str] = []

    def __len__(self) -> int:
        return len(self._events)

    def add(self, event: dict[str, Any]) -> None:
        key = str(event.get("messageId") or f"(no messageId) {len(self._events)}")
        self._events[key] = event
        self._events.move_to_end(key)
        while len(self._events) > self.limit:
            self._events.popitem(last=False)

    def by_message_id(self, message_id: str) -> list[dict[str, Any]]:
        event = self._events.get(message_id)
        return [event] if event is not None else []

    def by_user_id(self, user_id: str, *, order: Literal["timestamp", "arrival"] = "timestamp") -> list[dict[str, Any]]:
        """A user's events, oldest `timestamp` first (or as they arrived); untimed events last."""
        events = [e for e in self._events.values() if e.get("userId") == user_id]
        return events if order == "arrival" else sorted(events, key=_moment)

    def delete_user(self, user_id: str) -> int:
        """Erase every event of a user (a GDPR/CCPA `delete`); returns how many were erased."""
        doomed = [key for key, e in self._events.items() if e.get("userId") == user_id]
        for key in doomed:
            del self._events[key]
        self.deleted_users.append(user_id)
        return len(doomed)

    def all(self) -> list[dict[str, Any]]:
        return list(self._events.values())


_UNTIMED = datetime.max.replace(tzinfo=UTC)


def _moment(event: dict[str, Any]) -> datetime:
    """An event's `timestamp` as a moment (naive ones read as UTC); `_UNTIMED` when it has none."""
    return timestamp_of(event) or _UNTIMED


def timestamp_of(event: Any) -> datetime | None:
    value = event.get("timestamp") if isinstance(event, dict) else None
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
