"""A reviewer's decision: the form shown in the Prefect UI and the `decide` command's input."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DecisionKind = Literal["approve", "request_changes", "reject"]


class WaiverRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    check_id: str = Field(description="The failing check to accept, e.g. CAT-011 (see docs/checks.md)", max_length=32)
    reason: str = Field(min_length=3, max_length=1000, description="Why the failure is acceptable for this app")
    expires: date = Field(description="Last day the waiver applies")


class Decision(BaseModel):
    """Approve (Public Beta), request changes (the partner fixes and resubmits), or reject."""

    model_config = ConfigDict(extra="forbid")

    decision: DecisionKind = Field(description="approve, request_changes or reject")
    reviewer: str = Field(min_length=1, max_length=200, description="Who decides (name or e-mail)")
    comment: str = Field("", max_length=5000, description="Sent to the partner with the decision")
    waivers: list[WaiverRequest] = Field(
        default_factory=list, description="Failing checks to accept, each with reason and expiry"
    )
