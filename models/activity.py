"""Customer activity: how many events each workspace delivered through an app, per day."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class Activity(BaseModel):
    """One workspace's day of deliveries through an app (the activity webhook's and import's record)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    app: Annotated[str, Field(min_length=1, max_length=100, description="The app's slug")]
    workspace_id: Annotated[str, Field(min_length=1, max_length=200)]
    day: date
    events_delivered: Annotated[int, Field(ge=0, le=10**12)]
    events_failed: Annotated[int, Field(ge=0, le=10**12)] = 0


class UnknownApp(ValueError):
    """Activity for an app the catalog does not have."""
