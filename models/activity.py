"""Customer activity: how many events each workspace delivered through an app, per day."""

from __future__ import annotations

from datetime import date
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
