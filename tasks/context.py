"""What a run works with, built once at its entry point (a CLI command, the receiver app, a flow
run) and passed down: the settings, the store, the one way to make an outbound HTTP client, the
clock. Checks and stages take what they need of it as parameters and never fetch a global.

    ctx = Context.of(settings, store)  # at the entry point, once: the settings and store it opened
    results = await run_checks(submission, settings=ctx.settings)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from partner_review.models.settings import Settings

if TYPE_CHECKING:  # a worker process judging checks with a Context imports neither the store nor httpx
    import httpx

    from partner_review.models.store import Store


def utc_now() -> datetime:
    return datetime.now(UTC)


class NoStore(RuntimeError):
    """A run built without a store (e.g. `partner-review check`) asked for one."""


@dataclass(frozen=True)
class Context:
    settings: Settings
    store_or_none: Store | None = None
    clock: Callable[[], datetime] = field(default=utc_now)
    opener: Callable[[], Store] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(
        cls,
        settings: Settings,
        store: Store | None = None,
        *,
        clock: Callable[[], datetime] = utc_now,
        opener: Callable[[], Store] | None = None,
    ) -> Context:
        """`store`, or `opener` to open it on first use (a command that fails before it needs the
        store never opens, nor migrates, the database)."""
        return cls(settings, store, clock, opener)

    @property
    def store(self) -> Store:
        if self.store_or_none is None and self.opener is not None:
            object.__setattr__(self, "store_or_none", self.opener())
        if self.store_or_none is None:
            raise NoStore("this run has no store (it was built for a command that needs none)")
        return self.store_or_none

    def http(self, **options: Any) -> httpx.AsyncClient:
        """The guarded outbound client (tasks/net/client.py) under this run's settings."""
        from partner_review.tasks.net.client import client

        return client(settings=self.settings, **options)

    def now(self) -> datetime:
        return self.clock()
