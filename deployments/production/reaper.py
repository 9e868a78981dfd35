"""Runs lost with their worker are marked Crashed and run again.

A review whose worker dies (its machine lost, `kill -9`) stays Running, or Pending when the worker
died while starting it, and nothing in Prefect moves it on. Prefect's documented answer, an
automation that crashes a run whose heartbeats stop, also crashes runs that sent one last
heartbeat after they finished or suspended (PrefectHQ/prefect#18653, #21932): a suspended review
crashed that way and scheduled again then fails, since Prefect takes the rerun for a resumed one.
So the reaper looks at state before it acts:

- a review run Running whose last sign of life (its newest heartbeat, or the moment it started
  running) is older than `lost_after` seconds, or Pending for longer than `pending_after`, is
  set Crashed (never forced: a run that moved on meanwhile refuses it), then Scheduled again;
- a review run that crashed on its own (its process died) is Scheduled again, at most
  `max_reruns` times.

A rerun repeats none of the review's side effects: the store keys each run by its flow run id and
each message by its subject and kind. Only Prefect's REST API is used (httpx), so the reaper is a
small process of its own; every API server behind the balancer serves it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

REVIEW_DEPLOYMENTS = ("review-submission", "review-access-request")


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


@dataclass
class Reaper:
    api_url: str
    lost_after: float = 75.0  # 2.5 heartbeats of 30 s
    pending_after: float = 120.0
    max_reruns: int = 3

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.api_url.rstrip("/"), timeout=30)

    def close(self) -> None:
        self.http.close()

    def _post(self, path: str, body: dict) -> list[dict]:
        answer = self.http.post(path, json=body)
        answer.raise_for_status()
        return answer.json()

    def _runs(self, *state_types: str) -> list[dict]:
        return self._post(
            "/flow_runs/filter",
            {
                "flow_runs": {"state": {"type": {"any_": list(state_types)}}},
                "deployments": {"name": {"any_": list(REVIEW_DEPLOYMENTS)}},
                "limit": 200,
            },
        )

    def _last_heartbeat(self, run_id: str, since: datetime) -> datetime | None:
        """The newest heartbeat of the run since `since` (the API lists events newest first)."""
        page = self.http.post(
            "/events/filter",
            json={
                "filter": {
                    "event": {"name": ["prefect.flow-run.heartbeat"]},
                    "resource": {"id": [f"prefect.flow-run.{run_id}"]},
                    "occurred": {"since": since.isoformat()},
                    "order": "DESC",
                },
                "limit": 1,
            },
        )
        page.raise_for_status()
        events = page.json().get("events", [])
        return _at(events[0]["occurred"]) if events else None

    def _set(self, run_id: str, state_type: str, name: str, message: str, *, force: bool) -> bool:
        answer = self.http.post(
            f"/flow_runs/{run_id}/set_state",
            json={"state": {"type": state_type, "name": name, "message": message}, "force": force},
        )
        answer.raise_for_status()
        return answer.json().get("status") == "ACCEPT"

    def _crashes(self, run_id: str) -> int:
        states = self.http.get("/flow_run_states/", params={"flow_run_id": run_id}).json()
        return sum(1 for state in states if state.get("type") == "CRASHED")

    def sweep(self, now: datetime | None = None) -> list[str]:
        """One pass; returns what it did, a line per run."""
        now = now or datetime.now(UTC)
        done: list[str] = []
        for run in self._runs("RUNNING", "PENDING"):
            since = _at(run["state"]["timestamp"])
            if run["state"]["type"] == "RUNNING":
                alive = max(since, self._last_heartbeat(run["id"], since - timedelta(minutes=5)) or since)
                lost = (now - alive).total_seconds() > self.lost_after
            else:
                lost = (now - since).total_seconds() > self.pending_after
            if lost and self._set(run["id"], "CRASHED", "Crashed", "No sign of life: its worker is gone", force=False):
                done.append(f"{run['id']}: {run['state']['name']} with no sign of life since {since:%H:%M:%S}, crashed")
        for run in self._runs("CRASHED"):
            if self._crashes(run["id"]) > self.max_reruns:
                continue
            if self._set(run["id"], "SCHEDULED", "Scheduled", "Crashed: run again by the reaper", force=True):
                done.append(f"{run['id']}: crashed, scheduled again")
        return done


def main(api_url: str, interval: float = 10.0) -> None:
    reaper = Reaper(api_url)
    try:
        while True:
            try:
                for line in reaper.sweep():
                    print(f"reaper: {line}", flush=True)
            except httpx.HTTPError as error:  # the API restarting: try again next round
                print(
                    f"reaper: Prefect's API did not answer ({type(error).__name__}); next pass in {interval:.0f} s",
                    flush=True,
                )
            time.sleep(interval)
    finally:
        reaper.close()
