"""One load test at a time per worker host and per partner host: Prefect global concurrency limits.

A volume stage holds one slot of `volume-worker-<this host>` and one of `volume-partner-<partner
host>` (limits of one slot, created on first use: Prefect 3.9 creates none by itself). Two load
tests on one machine would skew each other's latency figures, and a partner should take one load
test at a time.

The slots are held under a lease of 60 s (Prefect's shortest), renewed every 15 s. A Prefect server
started with `prefect server start` runs the lease repossessor, so a holder that dies frees its
slots about a minute later. An ephemeral server (the embedded default, the test harness) runs no
repossessor, so a holder killed on this host is reclaimed here: each lease held is written to
`<data dir>/leases/<lease id>.json` with the holder's process id, and a waiter that finds that
process gone releases the lease. Waiting longer than `volume_slot_wait_seconds` gives up: the
stage's checks are then "not verified" (and so fail a review), naming the slots.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import socket
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from prefect.client.orchestration import PrefectClient, get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound, PrefectHTTPStatusError

from partner_review.models.settings import Settings, given_or_current
from partner_review.models.submission import Submission

LEASE_SECONDS = 60.0  # Prefect's shortest lease
RENEW_EVERY_SECONDS = 15.0
POLL_SECONDS = 1.0  # how often a waiter asks again (Prefect's 423 answer suggests its own Retry-After)


class SlotsBusy(Exception):
    """The slots stayed taken for longer than `volume_slot_wait_seconds`."""


@dataclass
class Held:
    """The slots a load test held, and when: the `concurrency` evidence of every VOL result."""

    slots: list[str]
    held_from: str
    held_until: str = ""
    waited_seconds: float = 0.0
    reclaimed: tuple[str, ...] = ()  # leases released here because their holder's process was gone

    def evidence(self) -> dict[str, Any]:
        out: dict[str, Any] = {"slots": self.slots, "held_from": self.held_from, "held_until": self.held_until}
        out["waited_seconds"] = round(self.waited_seconds, 3)
        if self.reclaimed:
            out["reclaimed_leases"] = list(self.reclaimed)
        return out


def volume_slots(submission: Submission) -> list[str]:
    """The limits a load test of `submission` holds: this worker host's, then each partner host's."""
    hosts = sorted({urlsplit(d.endpoint).hostname or "" for d in submission.destinations} - {""})
    names = [f"volume-worker-{socket.gethostname()}", *(f"volume-partner-{host}" for host in hosts)]
    return [re.sub(r"[^A-Za-z0-9._-]+", "-", name)[:100] for name in names]


_creating = threading.Lock()  # one creator per process (reviews run on several loops): the server logs each lost race
_existing: set[str] = set()  # limits this process has seen: no need to ask again


def _ensure_limits(names: list[str]) -> None:
    """Create each limit with one slot unless it exists (blocking: run in a thread)."""
    with _creating:
        missing = [name for name in names if name not in _existing]
        if not missing:
            return
        with get_client(sync_client=True) as client:
            for name in missing:
                try:
                    client.read_global_concurrency_limit_by_name(name)
                except ObjectNotFound:
                    with contextlib.suppress(ObjectAlreadyExists):  # another process created it meanwhile
                        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
                _existing.add(name)


def _lease_dir(settings: Settings) -> Path:
    return settings.data_dir / "leases"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def _record(path: Path) -> tuple[UUID, int, str, set[str]] | None:
    """A lease record as (lease id, pid, host, slots); None for one being written, or not ours."""
    try:
        record = json.loads(path.read_text())
        return UUID(record["lease_id"]), int(record["pid"]), str(record["host"]), set(record["slots"])
    except (OSError, ValueError, TypeError, KeyError, RecursionError):
        return None


async def _reclaim_dead_holders(client: PrefectClient, names: list[str], leases: Path) -> list[str]:
    """Release the leases on `names` whose holder ran on this host and whose process is gone."""
    reclaimed: list[str] = []
    host = socket.gethostname()
    for path in sorted(leases.glob("*.json")):
        found = _record(path)
        if found is None:
            continue
        lease_id, pid, holder_host, held = found
        if holder_host != host or not held & set(names) or pid <= 0 or _alive(pid):
            continue
        await client.release_concurrency_slots_with_lease(lease_id)
        path.unlink(missing_ok=True)
        reclaimed.append(str(lease_id))
    return reclaimed


async def _acquire(
    client: PrefectClient, names: list[str], wait_seconds: float, leases: Path
) -> tuple[UUID, float, list[str]]:
    started = time.monotonic()
    reclaimed: list[str] = []
    while True:
        try:
            answer = await client.increment_concurrency_slots_with_lease(
                names=names, slots=1, mode="concurrency", lease_duration=LEASE_SECONDS
            )
            lease_id = UUID(answer.json()["lease_id"])
            if {limit["name"] for limit in answer.json()["limits"]} == set(names):
                return lease_id, time.monotonic() - started, reclaimed
            # A limit was deleted since this process saw it: Prefect leased only the others.
            await client.release_concurrency_slots_with_lease(lease_id)
            _existing.difference_update(names)
            await asyncio.to_thread(_ensure_limits, names)
            continue
        except PrefectHTTPStatusError as exc:
            if exc.response.status_code != 423:  # 423 Locked: the slots are taken
                raise
        reclaimed += await _reclaim_dead_holders(client, names, leases)
        if time.monotonic() - started >= wait_seconds:
            raise SlotsBusy(
                f"the concurrency slots {', '.join(names)} stayed taken by another load test for "
                f"{wait_seconds:.0f} s (volume_slot_wait_seconds); rerun the volume stage when they are free"
            )
        await asyncio.sleep(POLL_SECONDS)


async def _renew(client: PrefectClient, lease_id: UUID) -> None:
    while True:
        await asyncio.sleep(RENEW_EVERY_SECONDS)
        with contextlib.suppress(PrefectHTTPStatusError):  # a missed renewal is retried; the lease has 60 s
            await client.renew_concurrency_lease(lease_id, lease_duration=LEASE_SECONDS)


@contextlib.asynccontextmanager
async def holding(names: list[str], settings: Settings | None = None) -> AsyncIterator[Held]:
    """Hold one slot of each limit in `names` for the body; the `Held` gets its end time on exit.

    Raises SlotsBusy when the slots stay taken for `volume_slot_wait_seconds`."""
    settings = given_or_current(settings)
    async with get_client() as client:
        await asyncio.to_thread(_ensure_limits, names)
        leases = _lease_dir(settings)
        lease_id, waited, reclaimed = await _acquire(client, names, settings.volume_slot_wait_seconds, leases)
        record = leases / f"{lease_id}.json"
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(
            json.dumps({"lease_id": str(lease_id), "slots": names, "pid": os.getpid(), "host": socket.gethostname()})
        )
        held = Held(names, datetime.now(UTC).isoformat(), waited_seconds=waited, reclaimed=tuple(reclaimed))
        renewing = asyncio.create_task(_renew(client, lease_id))
        try:
            yield held
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            await client.release_concurrency_slots_with_lease(lease_id)
            record.unlink(missing_ok=True)
            held.held_until = datetime.now(UTC).isoformat()
