"""The six calls as pydantic models: the types of their fields (rules on the whole event are in
`validation.py`)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter
from pydantic_core import PydanticCustomError

from partner_review.models.spec.rules import CURRENCIES

_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})\Z")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")


def is_iso_datetime(value: str) -> bool:
    if not _ISO_DATETIME.match(value):
        return False
    try:
        datetime.fromisoformat(value.replace(" ", "T", 1))
    except ValueError:
        return False
    return True


def _timestamp(value: str) -> str:
    if not is_iso_datetime(value):
        raise PydanticCustomError(
            "spec_timestamp", "must be an ISO-8601 date-time with a time zone, e.g. 2026-11-20T10:00:00Z"
        )
    return value


# Segment's own libraries send datetime traits (createdAt) as naive ISO-8601: valid, so accepted.
_NAIVE_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?\Z")


def _naive_datetime(value: str) -> bool:
    if not _NAIVE_DATETIME.match(value):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _date_or_timestamp(value: str) -> str:
    if _ISO_DATE.match(value) or is_iso_datetime(value) or _naive_datetime(value):
        return value
    raise PydanticCustomError("spec_timestamp", "must be an ISO-8601 date or date-time, e.g. 1990-04-01")


def _currency(value: str) -> str:
    if value not in CURRENCIES:
        raise PydanticCustomError("spec_currency", "must be an ISO 4217 currency code such as USD or EUR")
    return value


Timestamp = Annotated[str, AfterValidator(_timestamp)]
DateOrTimestamp = Annotated[str, AfterValidator(_date_or_timestamp)]
Currency = Annotated[str, AfterValidator(_currency)]
Number = float  # strict: ints accepted, strings and booleans refused
Object = dict[str, Any]


class SpecModel(BaseModel):
    """Spec objects: reserved fields typed, any other field allowed."""

    model_config = ConfigDict(extra="allow", strict=True)


class Library(SpecModel):
    name: str | None = None
    version: str | None = None


class Integration(SpecModel):
    name: str | None = None
    version: str | None = None


class Context(SpecModel):
    active: bool | None = None
    app: Object | None = None
    campaign: Object | None = None
    device: Object | None = None
    ip: str | None = None
    library: Library | None = None
    locale: str | None = None
    network: Object | None = None
    os: Object | None = None
    page: Object | None = None
    referrer: Object | None = None
    screen: Object | None = None
    timezone: str | None = None
    groupId: str | None = None
    traits: Object | None = None
    userAgent: str | None = None
    userAgentData: Object | None = None
    channel: str | None = None
    integration: Integration | None = None


class Address(SpecModel):
    city: str | None = None
    country: str | None = None
    postalCode: str | None = None
    state: str | None = None
    street: str | None = None


class Company(SpecModel):
    name: str | None = None
    id: str | None = None
    industry: str | None = None
    employee_count: Number | None = None
    plan: str | None = None


class Traits(SpecModel):
    address: Address | None = None
    age: Number | None = None
    avatar: str | None = None
    birthday: DateOrTimestamp | None = None
    company: Company | None = None
    createdAt: DateOrTimestamp | None = None
    description: str | None = None
    email: str | None = None
    firstName: str | None = None
    gender: str | None = None
    id: str | None = None
    lastName: str | None = None
    name: str | None = None
    phone: str | None = None
    title: str | None = None
    username: str | None = None
    website: str | None = None


class GroupTraits(SpecModel):
    address: Address | None = None
    avatar: str | None = None
    createdAt: DateOrTimestamp | None = None
    description: str | None = None
    email: str | None = None
    employees: str | Number | None = None
    id: str | None = None
    industry: str | None = None
    name: str | None = None
    phone: str | None = None
    website: str | None = None
    plan: str | None = None


class TrackProperties(SpecModel):
    revenue: Number | None = None
    currency: Currency | None = None
    value: Number | None = None


class PageProperties(SpecModel):
    name: str | None = None
    path: str | None = None
    referrer: str | None = None
    search: str | None = None
    title: str | None = None
    url: str | None = None
    keywords: list[str] | None = None


class ScreenProperties(SpecModel):
    name: str | None = None


class Call(SpecModel):
    """Fields common to every call."""

    messageId: str | None = None
    userId: str | None = None
    anonymousId: str | None = None
    timestamp: Timestamp | None = None
    sentAt: Timestamp | None = None
    receivedAt: Timestamp | None = None
    originalTimestamp: Timestamp | None = None
    context: Context | None = None
    integrations: Object | None = None


class Identify(Call):
    type: Literal["identify"]
    traits: Traits | None = None


class Track(Call):
    type: Literal["track"]
    event: Annotated[str, Field(min_length=1)]
    properties: TrackProperties | None = None


class Page(Call):
    type: Literal["page"]
    name: str | None = None
    category: str | None = None
    properties: PageProperties | None = None


class Screen(Call):
    type: Literal["screen"]
    name: str | None = None
    properties: ScreenProperties | None = None


class Group(Call):
    type: Literal["group"]
    groupId: Annotated[str, Field(min_length=1)]
    traits: GroupTraits | None = None


class Alias(Call):
    type: Literal["alias"]
    userId: Annotated[str, Field(min_length=1)]
    previousId: Annotated[str, Field(min_length=1)]


Event = Annotated[Identify | Track | Page | Screen | Group | Alias, Field(discriminator="type")]
EVENT = TypeAdapter(Event)
