"""The Segment Spec: the six calls, their field types, size limits and semantic events.

`validate(event)` returns the list of rule violations of one event (never raises), so the sample
partner, the end-to-end suite and the Spec stage share one reading of the Spec. Rule ids are the
ids of the `spec` stage checks (`SPEC-001`...); `RULES` carries their titles and remedies.

    validate({"type": "track", "userId": "u-1"})
    # [Violation(rule='SPEC-005', path='event', message='`event` is required for a track call')]

The pydantic models describe types only; rules that need the whole event (identity, sizes,
naming, synonyms) are plain code below them.
"""

from __future__ import annotations

from partner_review.models.spec.calls import (
    EVENT,
    Address,
    Alias,
    Call,
    Company,
    Context,
    Currency,
    DateOrTimestamp,
    Event,
    Group,
    GroupTraits,
    Identify,
    Integration,
    Library,
    Number,
    Object,
    Page,
    PageProperties,
    Screen,
    ScreenProperties,
    SpecModel,
    Timestamp,
    Track,
    TrackProperties,
    Traits,
    is_iso_datetime,
)
from partner_review.models.spec.rules import (
    CALL_TYPES,
    CURRENCIES,
    DEFAULT_LIMITS,
    RULES,
    TIMESTAMP_FIELDS,
    Limits,
    SpecRule,
    Violation,
)
from partner_review.models.spec.semantic import (
    ECOMMERCE_EVENTS,
    SEMANTIC_PROPERTIES,
    SYNONYMS,
    CheckoutStarted,
    OrderCompleted,
    Product,
    ProductAdded,
    ProductViewed,
    normalize_name,
    semantic_name,
)
from partner_review.models.spec.validation import (
    encoded_size,
    is_event_name,
    json_type,
    validate,
    validate_batch,
)

__all__ = [
    "Address",
    "Alias",
    "CALL_TYPES",
    "CURRENCIES",
    "Call",
    "CheckoutStarted",
    "Company",
    "Context",
    "Currency",
    "DEFAULT_LIMITS",
    "DateOrTimestamp",
    "ECOMMERCE_EVENTS",
    "EVENT",
    "Event",
    "Group",
    "GroupTraits",
    "Identify",
    "Integration",
    "Library",
    "Limits",
    "Number",
    "Object",
    "OrderCompleted",
    "Page",
    "PageProperties",
    "Product",
    "ProductAdded",
    "ProductViewed",
    "RULES",
    "SEMANTIC_PROPERTIES",
    "SYNONYMS",
    "Screen",
    "ScreenProperties",
    "SpecModel",
    "SpecRule",
    "TIMESTAMP_FIELDS",
    "Timestamp",
    "Track",
    "TrackProperties",
    "Traits",
    "Violation",
    "encoded_size",
    "is_event_name",
    "is_iso_datetime",
    "json_type",
    "normalize_name",
    "semantic_name",
    "validate",
    "validate_batch",
]
