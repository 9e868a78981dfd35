"""The Segment Spec: the six calls, their reserved fields, size limits and semantic events.

`validate(event)` returns the list of rule violations of one event (never raises), so the sample
partner, the end-to-end suite and the Spec stage share one reading of the Spec. Rule ids are the
ids of the `spec` stage checks (`SPEC-001`...); `RULES` carries their titles and remedies.

    validate({"type": "track", "userId": "u-1"})
    # [Violation(rule='SPEC-005', path='event', message='`event` is required for a track call')]

The pydantic models describe types only; rules that need the whole event (identity, sizes,
naming, synonyms) are plain code below them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError

CALL_TYPES: tuple[str, ...] = ("identify", "track", "page", "screen", "group", "alias")
TIMESTAMP_FIELDS: tuple[str, ...] = ("timestamp", "sentAt", "receivedAt", "originalTimestamp")
RESERVED_CONTEXT_KEYS: tuple[str, ...] = (
    "active",
    "app",
    "campaign",
    "device",
    "ip",
    "library",
    "locale",
    "network",
    "os",
    "page",
    "referrer",
    "screen",
    "timezone",
    "groupId",
    "traits",
    "userAgent",
    "userAgentData",
    "channel",
)
RESERVED_TRAITS: tuple[str, ...] = (
    "address",
    "age",
    "avatar",
    "birthday",
    "company",
    "createdAt",
    "description",
    "email",
    "firstName",
    "gender",
    "id",
    "lastName",
    "name",
    "phone",
    "title",
    "username",
    "website",
)
RESERVED_GROUP_TRAITS: tuple[str, ...] = (
    "address",
    "avatar",
    "createdAt",
    "description",
    "email",
    "employees",
    "id",
    "industry",
    "name",
    "phone",
    "website",
    "plan",
)
RESERVED_TRACK_PROPERTIES: tuple[str, ...] = ("revenue", "currency", "value")
RESERVED_PAGE_PROPERTIES: tuple[str, ...] = ("name", "path", "referrer", "search", "title", "url", "keywords")
RESERVED_SCREEN_PROPERTIES: tuple[str, ...] = ("name",)

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


@dataclass(frozen=True)
class Limits:
    """Size limits of the Tracking API (REVIEW_RULES section 5); settings supply other values."""

    event_bytes: int = 32 * 1024
    batch_bytes: int = 500 * 1024
    batch_events: int = 2500
    message_id_chars: int = 100


DEFAULT_LIMITS = Limits()


class Violation(NamedTuple):
    """One broken rule: the rule id, the field path in the event (`""` for the whole event), why."""

    rule: str
    path: str
    message: str


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: Literal["blocker", "warning", "info"]
    remedy: str
    sources_only: bool = False


RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        Rule(
            "SPEC-001",
            "Every event is a JSON object",
            "blocker",
            "Send each event as a JSON object (`{...}`), one per array item or line.",
        ),
        Rule(
            "SPEC-002",
            "`type` is one of identify, track, page, screen, group, alias",
            "blocker",
            "Set `type` to one of the six Spec calls, in lowercase.",
        ),
        Rule(
            "SPEC-003",
            "Every event has a userId or an anonymousId",
            "blocker",
            "Set `userId` (or `anonymousId` for a visitor not yet known) on every event.",
        ),
        Rule(
            "SPEC-004",
            "A source sets userId on every call",
            "blocker",
            "Set `userId` on every event the source sends; sources must identify the user.",
            True,
        ),
        Rule(
            "SPEC-005",
            "Fields required by the call are present",
            "blocker",
            "track needs `event`, group needs `groupId`, alias needs `userId` and `previousId`.",
        ),
        Rule(
            "SPEC-006",
            "Common fields have their Spec types",
            "blocker",
            "Use strings for ids and names, objects for `context`, `integrations`, `traits` and `properties`.",
        ),
        Rule(
            "SPEC-007",
            "messageId is at most 100 characters",
            "blocker",
            "Use a short unique messageId, such as a UUID (36 characters).",
        ),
        Rule(
            "SPEC-008",
            "Timestamps are ISO-8601 date-times with a time zone",
            "blocker",
            "Format timestamp, sentAt, receivedAt and originalTimestamp like `2026-11-20T10:00:00.000Z`.",
        ),
        Rule(
            "SPEC-009",
            "Reserved context keys have their Spec types",
            "blocker",
            "Give reserved context keys (ip, library, locale, page, ...) the types of the Spec's Common Fields.",
        ),
        Rule(
            "SPEC-010",
            "Reserved traits have their Spec types",
            "blocker",
            "Give reserved traits the Spec's types (email: string, age: number, address: object, ...).",
        ),
        Rule(
            "SPEC-011",
            "Reserved properties have their Spec types",
            "blocker",
            "revenue and value are numbers, currency an ISO 4217 code (`USD`); page properties are strings.",
        ),
        Rule(
            "SPEC-012",
            "Every event is at most 32 KB",
            "blocker",
            "Keep each event under 32 KB: send references instead of large blobs.",
        ),
        Rule(
            "SPEC-013",
            "context.integration names the source and its version",
            "blocker",
            'Set `context.integration` to `{"name": "<your app slug>", "version": "1.0.0"}`.',
            True,
        ),
        Rule(
            "SPEC-014",
            "Event names are Object + past-tense Action in Proper Case",
            "warning",
            "Name events like `Report Viewed` or `Order Completed`: an object, then a past-tense verb, each word capitalised.",
            True,
        ),
        Rule(
            "SPEC-015",
            "Property names are snake_case",
            "warning",
            "Name track properties in snake_case, e.g. `report_name`.",
            True,
        ),
        Rule(
            "SPEC-016",
            "Semantic events use their Spec names",
            "blocker",
            "Rename synonyms to the semantic event name (e.g. `Purchase` -> `Order Completed`) so destinations map them.",
            True,
        ),
        Rule(
            "SPEC-017",
            "Semantic event properties have their Spec types",
            "blocker",
            "Follow the E-commerce v2 Spec: order_id a string, total a number, products an array of objects...",
            True,
        ),
    )
}


# Field types -----------------------------------------------------------------------------------

_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


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


def _date_or_timestamp(value: str) -> str:
    if _ISO_DATE.match(value) or is_iso_datetime(value):
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


# Semantic events: E-commerce v2 ------------------------------------------------------------------


class Product(SpecModel):
    product_id: str | None = None
    sku: str | None = None
    category: str | None = None
    name: str | None = None
    brand: str | None = None
    variant: str | None = None
    price: Number | None = None
    quantity: int | None = None
    coupon: str | None = None
    position: int | None = None
    url: str | None = None
    image_url: str | None = None


class ProductViewed(Product):
    currency: Currency | None = None
    value: Number | None = None


class ProductAdded(Product):
    cart_id: str | None = None


class CheckoutStarted(SpecModel):
    order_id: str | None = None
    affiliation: str | None = None
    value: Number | None = None
    revenue: Number | None = None
    shipping: Number | None = None
    tax: Number | None = None
    discount: Number | None = None
    coupon: str | None = None
    currency: Currency | None = None
    products: list[Product] | None = None


class OrderCompleted(SpecModel):
    checkout_id: str | None = None
    order_id: str | None = None
    affiliation: str | None = None
    total: Number | None = None
    subtotal: Number | None = None
    revenue: Number | None = None
    shipping: Number | None = None
    tax: Number | None = None
    discount: Number | None = None
    coupon: str | None = None
    currency: Currency | None = None
    products: list[Product] | None = None


SEMANTIC_PROPERTIES: dict[str, type[SpecModel]] = {
    "Order Completed": OrderCompleted,
    "Order Updated": OrderCompleted,
    "Order Refunded": OrderCompleted,
    "Order Cancelled": OrderCompleted,
    "Checkout Started": CheckoutStarted,
    "Product Viewed": ProductViewed,
    "Product Clicked": Product,
    "Product Added": ProductAdded,
    "Product Removed": ProductAdded,
}

ECOMMERCE_EVENTS: frozenset[str] = frozenset(
    """Products Searched|Product List Viewed|Product List Filtered|Promotion Viewed|Promotion Clicked|
    Product Clicked|Product Viewed|Product Added|Product Removed|Cart Viewed|Checkout Started|
    Checkout Step Viewed|Checkout Step Completed|Payment Info Entered|Order Updated|Order Completed|
    Order Refunded|Order Cancelled|Coupon Entered|Coupon Applied|Coupon Denied|Coupon Removed|
    Product Added to Wishlist|Product Removed from Wishlist|Wishlist Product Added to Cart|
    Product Shared|Cart Shared|Product Reviewed""".replace("\n", "")
    .replace("    ", "")
    .split("|")
)

# Synonyms partners use instead of the semantic name, by their normalised form.
SYNONYMS: dict[str, str] = {
    **dict.fromkeys(
        [
            "purchase",
            "purchased",
            "purchase completed",
            "purchase complete",
            "checkout complete",
            "checkout completed",
            "order complete",
            "order placed",
            "placed order",
            "completed order",
            "transaction",
            "transaction completed",
            "transaction complete",
            "sale",
            "buy",
            "bought",
            "payment completed",
            "completed purchase",
        ],
        "Order Completed",
    ),
    **dict.fromkeys(
        [
            "view product",
            "viewed product",
            "product view",
            "product page viewed",
            "view item",
            "item viewed",
            "viewed item",
            "product detail viewed",
        ],
        "Product Viewed",
    ),
    **dict.fromkeys(
        [
            "add to cart",
            "added to cart",
            "addtocart",
            "add product",
            "added product",
            "cart add",
            "item added",
            "item added to cart",
            "product added to cart",
            "add item",
        ],
        "Product Added",
    ),
    **dict.fromkeys(
        [
            "checkout",
            "begin checkout",
            "start checkout",
            "started checkout",
            "checkout start",
            "initiate checkout",
            "initiated checkout",
            "checkout begun",
            "checkout initiated",
        ],
        "Checkout Started",
    ),
    **dict.fromkeys(["remove from cart", "removed from cart", "item removed"], "Product Removed"),
    **dict.fromkeys(["search", "searched", "product search", "searched products"], "Products Searched"),
    **dict.fromkeys(["refund", "refunded", "order refund"], "Order Refunded"),
}


def normalise_name(name: str) -> str:
    """`Order_Completed`, `order-completed`, `OrderCompleted` -> `order completed`."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    return re.sub(r"[\s_\-.]+", " ", spaced).strip().lower()


_BY_NORMAL = {normalise_name(name): name for name in ECOMMERCE_EVENTS}


def semantic_name(event_name: str) -> str | None:
    """The Spec name a non-Spec event name stands for, or None when it is fine as it is."""
    if event_name in ECOMMERCE_EVENTS:
        return None
    normal = normalise_name(event_name)
    return _BY_NORMAL.get(normal) or SYNONYMS.get(normal) or SYNONYMS.get(normal.replace(" ", ""))


# Validation ------------------------------------------------------------------------------------

_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
_VERSION = re.compile(r"^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$")
_SMALL_WORDS = frozenset("a an and as at by for from in into of on or the to with".split())
_IRREGULAR_PAST = frozenset(
    """begun bought brought built caught chosen done drawn driven eaten fallen felt found forgotten
    given gone got gotten grown heard held hidden hit kept known laid led left lent let lost made
    meant met paid put quit read ridden rung risen run said seen sent set shown shut sold spent
    split spoken spun stood stolen struck sung sunk taken taught thrown told understood undone
    upheld won worn written""".split()
)
_MAX_VIOLATIONS = 50

_MESSAGES = {
    "string_type": "must be a string",
    "float_type": "must be a number",
    "int_type": "must be an integer",
    "bool_type": "must be true or false",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "list_type": "must be an array",
    "missing": "is required",
    "string_too_short": "must not be empty",
}


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def encoded_size(event: Any) -> int:
    """Bytes of the event as compact UTF-8 JSON (how the Tracking API measures it)."""
    return len(json.dumps(event, separators=(",", ":"), ensure_ascii=False, default=str).encode())


def _rule_for(path: tuple[str, ...], kind: str) -> str:
    if not path:
        return "SPEC-006"
    head = path[0]
    if kind == "missing" or (kind == "string_too_short" and head in ("event", "groupId", "userId", "previousId")):
        return "SPEC-005"
    if head in TIMESTAMP_FIELDS:
        return "SPEC-008"
    if head == "context" and len(path) > 1:
        return "SPEC-009"
    if head == "traits" and len(path) > 1:
        return "SPEC-010"
    if head == "properties" and len(path) > 1:
        return "SPEC-011"
    return "SPEC-006"


def _from_error(error: ValidationError, call: str | None) -> list[Violation]:
    out = []
    for item in error.errors(include_url=False):
        loc = tuple(str(p) for p in item["loc"])
        if loc and loc[0] == call:
            loc = loc[1:]
        kind = item["type"]
        path = ".".join(loc)
        if kind in ("union_tag_invalid", "union_tag_not_found"):
            out.append(_type_violation(item["input"]))
            continue
        if kind == "missing" and loc == ("event",):
            message = "`event` is required for a track call"
        elif kind == "missing":
            message = f"`{path}` is required for {'an' if call in ('identify', 'alias') else 'a'} {call} call"
        elif kind.startswith("spec_"):
            message = f"`{path}` {item['msg']}" if path else item["msg"]
            message += f" (got {_excerpt(item['input'])})"
        else:
            message = f"`{path}` {_MESSAGES.get(kind, item['msg'])}, got {json_type(item['input'])}"
        out.append(Violation(_rule_for(loc, kind), path, message))
    return out


def _type_violation(event: Any) -> Violation:
    value = event.get("type") if isinstance(event, dict) else None
    if value is None:
        return Violation("SPEC-002", "type", "`type` is missing; use one of " + ", ".join(CALL_TYPES))
    return Violation("SPEC-002", "type", f"`type` is {_excerpt(value)}, not one of " + ", ".join(CALL_TYPES))


def _excerpt(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else json.dumps(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _present(value: Any) -> bool:
    return value is not None and value != ""


def is_event_name(name: str) -> bool:
    """Object + past-tense Action, each word capitalised (small joining words may stay lowercase)."""
    words = name.split(" ")
    if len(words) < 2 or any(not w for w in words):
        return False
    for i, word in enumerate(words):
        if i and word in _SMALL_WORDS:
            continue
        if not word[0].isupper() or not word.replace("-", "").isalnum():
            return False
    return any(w.lower().endswith("ed") or w.lower() in _IRREGULAR_PAST for w in words if w not in _SMALL_WORDS)


def _source_rules(event: dict[str, Any], slug: str | None) -> list[Violation]:
    out: list[Violation] = []
    if not isinstance(event.get("userId"), str) or not event.get("userId"):
        out.append(Violation("SPEC-004", "userId", "a source must set `userId` on every call"))
    context = event.get("context")
    integration = context.get("integration") if isinstance(context, dict) else None
    if not isinstance(integration, dict):
        out.append(
            Violation(
                "SPEC-013",
                "context.integration",
                '`context.integration` is missing; set it to {"name": "<app slug>", "version": "1.0.0"}',
            )
        )
    else:
        name, version = integration.get("name"), integration.get("version")
        if slug is not None and name != slug:
            out.append(
                Violation(
                    "SPEC-013",
                    "context.integration.name",
                    f'`context.integration.name` is {_excerpt(name)}; it must be the app slug "{slug}"',
                )
            )
        elif not isinstance(name, str) or not name:
            out.append(
                Violation("SPEC-013", "context.integration.name", "`context.integration.name` must be the app slug")
            )
        if not isinstance(version, str) or not _VERSION.match(version):
            out.append(
                Violation(
                    "SPEC-013",
                    "context.integration.version",
                    f'`context.integration.version` is {_excerpt(version)}; use a version such as "1.0.0"',
                )
            )
    if event.get("type") != "track":
        return out
    name = event.get("event")
    properties = event.get("properties")
    if isinstance(name, str) and name:
        spec_name = semantic_name(name)
        if spec_name:
            out.append(
                Violation(
                    "SPEC-016",
                    "event",
                    f'event "{name}" is a synonym of the semantic event "{spec_name}"; name it "{spec_name}"',
                )
            )
        elif name not in ECOMMERCE_EVENTS and not is_event_name(name):
            out.append(
                Violation(
                    "SPEC-014",
                    "event",
                    f'event "{name}" is not an Object + past-tense Action in Proper Case (e.g. "Report Viewed")',
                )
            )
        model = SEMANTIC_PROPERTIES.get(name)
        if model is not None and isinstance(properties, dict):
            try:
                model.model_validate(properties)
            except ValidationError as error:
                for item in error.errors(include_url=False):
                    path = ".".join(["properties", *(str(p) for p in item["loc"])])
                    detail = _MESSAGES.get(item["type"], item["msg"])
                    out.append(
                        Violation(
                            "SPEC-017",
                            path,
                            f'`{path}` {detail} in "{name}", got {json_type(item["input"])}',
                        )
                    )
    if isinstance(properties, dict):
        for key in properties:
            if not _SNAKE.match(key):
                out.append(Violation("SPEC-015", f"properties.{key}", f"property `{key}` is not snake_case"))
        products = properties.get("products")
        if isinstance(products, list):
            for i, product in enumerate(products[:100]):
                for key in product if isinstance(product, dict) else ():
                    if not _SNAKE.match(key):
                        out.append(
                            Violation(
                                "SPEC-015",
                                f"properties.products.{i}.{key}",
                                f"product property `{key}` is not snake_case",
                            )
                        )
    return out


def validate(
    event: Any, *, source: bool = False, slug: str | None = None, limits: Limits = DEFAULT_LIMITS
) -> list[Violation]:
    """The rule violations of one event; empty when it follows the Spec.

    `source=True` adds the rules for events a partner source sends into Segment (SPEC-004,
    SPEC-013 to SPEC-017); `slug` is the app slug `context.integration.name` must carry.
    """
    if not isinstance(event, dict):
        return [Violation("SPEC-001", "", f"an event must be a JSON object, got {json_type(event)}")]
    out: list[Violation] = []
    try:
        size = encoded_size(event)
    except (ValueError, RecursionError):
        return [Violation("SPEC-001", "", "the event cannot be encoded as JSON (nested too deep or circular)")]
    if size > limits.event_bytes:
        out.append(
            Violation(
                "SPEC-012",
                "",
                f"the event is {size:,} bytes; the limit is {limits.event_bytes:,} bytes",
            )
        )
    call = event.get("type") if isinstance(event.get("type"), str) else None
    try:
        EVENT.validate_python(event)
    except ValidationError as error:
        out.extend(_from_error(error, call))
    except RecursionError:
        out.append(Violation("SPEC-001", "", "the event is nested too deep to validate"))
    if call in CALL_TYPES and not _present(event.get("userId")) and not _present(event.get("anonymousId")):
        out.append(Violation("SPEC-003", "userId", "one of `userId` or `anonymousId` is required"))
    message_id = event.get("messageId")
    if isinstance(message_id, str) and len(message_id) > limits.message_id_chars:
        out.append(
            Violation(
                "SPEC-007",
                "messageId",
                f"`messageId` has {len(message_id)} characters; the limit is {limits.message_id_chars}",
            )
        )
    if source and call in CALL_TYPES:
        out.extend(_source_rules(event, slug))
    return out[:_MAX_VIOLATIONS]


def validate_batch(payload: Any, *, size: int | None = None, limits: Limits = DEFAULT_LIMITS) -> list[Violation]:
    """Limits of a batch request body `{"batch": [...]}` (rule id `batch`); events are validated apart."""
    if not isinstance(payload, dict) or not isinstance(payload.get("batch"), list):
        return [Violation("batch", "batch", "a batch request is an object with a `batch` array of events")]
    out = []
    count = len(payload["batch"])
    if count > limits.batch_events:
        out.append(Violation("batch", "batch", f"the batch has {count:,} events; the limit is {limits.batch_events:,}"))
    size = encoded_size(payload) if size is None else size
    if size > limits.batch_bytes:
        out.append(Violation("batch", "", f"the batch is {size:,} bytes; the limit is {limits.batch_bytes:,} bytes"))
    return out
