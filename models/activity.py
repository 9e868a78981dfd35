"""Customer activity: how many events each workspace delivered through an app, per day."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"


class Activity(BaseModel):
    """One workspace's day of deliveries through an app (the activity webhook's and import's record)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    app: Annotated[str, Field(min_length=1, max_length=100, pattern=NO_CONTROL, description="The app's slug")]
    workspace_id: Annotated[str, Field(min_length=1, max_length=200, pattern=NO_CONTROL)]
    day: date
    events_delivered: Annotated[int, Field(ge=0, le=10**12)]
    events_failed: Annotated[int, Field(ge=0, le=10**12)] = 0
    measured_at: Annotated[
        AwareDatetime | None,
        Field(
            description="When the counts were taken (with a UTC offset). A record never replaces one measured "
            "later; without it, the last delivery wins."
        ),
    ] = None


class UnknownApp(ValueError):
    """Activity for an app the catalog does not have."""


def batch_problems(items: Iterable[tuple[str, Activity]], *, today: date) -> list[str]:
    """What is wrong with one file's records taken together, each named by where it is: a day after
    tomorrow (no counts exist yet; tomorrow is allowed for senders ahead of UTC) and an app, workspace
    and day given twice (which one was meant is unknowable)."""
    problems: list[str] = []
    first: dict[tuple[str, str, date], str] = {}
    for where, r in items:
        if r.day > today + timedelta(days=1):
            problems.append(f"{where}: day {r.day} is in the future (today is {today})")
        key = (r.app, r.workspace_id, r.day)
        if key in first:
            problems.append(
                f"{where}: repeats {first[key]} (app {r.app}, workspace {r.workspace_id[:50]}, day {r.day}); "
                "give each app, workspace and day once"
            )
        else:
            first[key] = where
    return problems
