"""The Spec's vocabulary and rules: the six calls, the size limits, and the SPEC-xxx rules.

Rule ids are the ids of the `spec` stage checks; `RULES` carries their titles and remedies, and the
Spec stage registers one `Check` per rule from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

from partner_review.models.settings import Settings

CALL_TYPES: tuple[str, ...] = ("identify", "track", "page", "screen", "group", "alias")
TIMESTAMP_FIELDS: tuple[str, ...] = ("timestamp", "sentAt", "receivedAt", "originalTimestamp")

# ISO 4217 active alphabetic codes.
CURRENCIES = frozenset(
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN "
    "BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS "
    "GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW "
    "KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD "
    "NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD "
    "SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS "
    "VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG ZWL".split()
)


def _setting(name: str) -> int:
    default = Settings.model_fields[name].default
    assert isinstance(default, int)
    return default


@dataclass(frozen=True)
class Limits:
    """Size limits of the Tracking API (REVIEW_RULES section 5); the defaults are the settings' defaults."""

    event_bytes: int = _setting("volume_event_max_bytes")
    batch_bytes: int = _setting("volume_batch_max_bytes")
    batch_events: int = _setting("volume_batch_max_events")
    message_id_chars: int = _setting("spec_message_id_max_chars")

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        """The limits as configured (shared with the volume stage)."""
        return cls(
            event_bytes=settings.volume_event_max_bytes,
            batch_bytes=settings.volume_batch_max_bytes,
            batch_events=settings.volume_batch_max_events,
            message_id_chars=settings.spec_message_id_max_chars,
        )


DEFAULT_LIMITS = Limits()


class Violation(NamedTuple):
    """One broken rule: the rule id, the field path in the event (`""` for the whole event), why."""

    rule: str
    path: str
    message: str


@dataclass(frozen=True)
class SpecRule:
    """One Spec rule: its id, title, severity and remedy (the Spec stage makes a `Check` of each)."""

    id: str
    title: str
    severity: Literal["blocker", "warning", "info"]
    remedy: str
    sources_only: bool = False


RULES: dict[str, SpecRule] = {
    rule.id: rule
    for rule in (
        SpecRule(
            "SPEC-001",
            "Every event is a JSON object",
            "blocker",
            "Send each event as a JSON object (`{...}`), one per array item or line.",
        ),
        SpecRule(
            "SPEC-002",
            "`type` is one of identify, track, page, screen, group, alias",
            "blocker",
            "Set `type` to one of the six Spec calls, in lowercase.",
        ),
        SpecRule(
            "SPEC-003",
            "Every event has a userId or an anonymousId",
            "blocker",
            "Set `userId` (or `anonymousId` for a visitor not yet known) on every event.",
        ),
        SpecRule(
            "SPEC-004",
            "A source sets userId on every call",
            "blocker",
            "Set `userId` on every event the source sends; sources must identify the user.",
            True,
        ),
        SpecRule(
            "SPEC-005",
            "Fields required by the call are present",
            "blocker",
            "track needs `event`, group needs `groupId`, alias needs `userId` and `previousId`.",
        ),
        SpecRule(
            "SPEC-006",
            "Common fields have their Spec types",
            "blocker",
            "Use strings for ids and names, objects for `context`, `integrations`, `traits` and `properties`.",
        ),
        SpecRule(
            "SPEC-007",
            "messageId is at most 100 characters",
            "blocker",
            "Use a short unique messageId, such as a UUID (36 characters).",
        ),
        SpecRule(
            "SPEC-008",
            "Timestamps are ISO-8601 date-times with a time zone",
            "blocker",
            "Format timestamp, sentAt, receivedAt and originalTimestamp like `2026-11-20T10:00:00.000Z`.",
        ),
        SpecRule(
            "SPEC-009",
            "Reserved context keys have their Spec types",
            "blocker",
            "Give reserved context keys (ip, library, locale, page, ...) the types of the Spec's Common Fields.",
        ),
        SpecRule(
            "SPEC-010",
            "Reserved traits have their Spec types",
            "blocker",
            "Give reserved traits the Spec's types (email: string, age: number, address: object, ...).",
        ),
        SpecRule(
            "SPEC-011",
            "Reserved properties have their Spec types",
            "blocker",
            "revenue and value are numbers, currency an ISO 4217 code (`USD`); page properties are strings.",
        ),
        SpecRule(
            "SPEC-012",
            "Every event is at most 32 KB",
            "blocker",
            "Keep each event under 32 KB: send references instead of large blobs.",
        ),
        SpecRule(
            "SPEC-013",
            "context.integration names the source and its version",
            "blocker",
            'Set `context.integration` to `{"name": "<your app slug>", "version": "1.0.0"}`.',
            True,
        ),
        SpecRule(
            "SPEC-014",
            "Event names are Object + past-tense Action in Proper Case",
            "warning",
            "Name events like `Report Viewed` or `Order Completed`: an object, then a past-tense verb, each word capitalised.",
            True,
        ),
        SpecRule(
            "SPEC-015",
            "Property names are snake_case",
            "warning",
            "Name track properties in snake_case, e.g. `report_name`.",
            True,
        ),
        SpecRule(
            "SPEC-016",
            "Semantic events use their Spec names",
            "blocker",
            "Rename synonyms to the semantic event name (e.g. `Purchase` -> `Order Completed`) so destinations map them.",
            True,
        ),
        SpecRule(
            "SPEC-017",
            "Semantic event properties have their Spec types",
            "blocker",
            "Follow the E-commerce v2 Spec: order_id a string, total a number, products an array of objects...",
            True,
        ),
    )
}
