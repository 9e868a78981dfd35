"""A partner's access request: exactly the fields of contract section 7.

The schema checks structure and types strictly (no coercion: `"true"` is not a boolean, a number
is not a name) and refuses unknown fields and control characters. Content rules (an https
website, a company e-mail, specific survey answers) are the ACC checks, so a partner sees every
problem at once instead of the first 422.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from partner_review.models.submission import field_problems, no_controls

_CONTROL_BUT_SPACING = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _no_controls_but_spacing(value: str) -> str:
    if _CONTROL_BUT_SPACING.search(value):
        raise ValueError("control characters other than line breaks and tabs are not allowed")
    return value


Line = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(no_controls)]
Url = Annotated[str, Field(min_length=1, max_length=2048), AfterValidator(no_controls)]
Email = Annotated[str, Field(min_length=3, max_length=320), AfterValidator(no_controls)]
Answer = Annotated[str, Field(max_length=5000), AfterValidator(_no_controls_but_spacing)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Company(Strict):
    name: Line
    website: Url


class Contact(Strict):
    name: Line
    email: Email
    role: Line | None = None


class Survey(Strict):
    """The partner survey; a missing answer is a finding of ACC-006, not a schema error."""

    how_customers_get_data_in: Answer | None = None
    where_data_goes: Answer | None = None
    use_case: Answer | None = None
    heard_from: Answer | None = None


SURVEY_QUESTIONS: dict[str, str] = {
    "how_customers_get_data_in": "How do customers get data into your tool?",
    "where_data_goes": "Where does data sent by Segment go, and how does it show up?",
    "use_case": "What do customers use your tool to do?",
    "heard_from": "How did you hear about Segment?",
}


class AccessRequest(Strict):
    company: Company
    contact: Contact
    survey: Survey = Survey()
    agreed_to_partner_terms: bool

    def answers(self) -> dict[str, str | None]:
        return {key: getattr(self.survey, key) for key in SURVEY_QUESTIONS}


class AccessState(StrEnum):
    requested = "requested"
    approved = "approved"
    rejected = "rejected"


class AccessDecided(ValueError):
    """The request is decided already (approved or rejected); a decision is taken once."""


def check_access_transition(current: AccessState | str, target: AccessState | str) -> None:
    """requested -> approved | rejected; nothing follows a decision."""
    current, target = AccessState(current), AccessState(target)
    if current is not AccessState.requested or target is AccessState.requested:
        raise AccessDecided(f"an access request in state '{current}' cannot move to '{target}'")


class AccessDecision(BaseModel):
    """The reviewer's decision on an access request: the form shown in the Prefect UI."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"] = Field(description="approve (the partner may build) or reject")
    reviewer: str = Field(min_length=1, max_length=200, description="Who decides (name or e-mail)")
    comment: str = Field(
        "",
        max_length=5000,
        description="Sent to the partner; required to reject, or to approve while an ACC blocker fails",
    )


class InvalidAccessRequest(ValueError):
    """A request file or body that does not match the schema, with readable field paths."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


def parse_access_request(data: Any) -> AccessRequest:
    """Validate decoded JSON as an access request; raises InvalidAccessRequest with field paths."""
    try:
        return AccessRequest.model_validate(data)
    except ValidationError as error:
        problems = [
            p.replace("check its spelling against the submission schema", "check its spelling against contract §7")
            for p in field_problems(error)
        ]
        raise InvalidAccessRequest(problems) from None
    except RecursionError:
        raise InvalidAccessRequest(["(body): nested too deeply"]) from None
