"""Realistic, Spec-valid events, deterministic for a seed.

    factory = EventFactory(seed=7)
    factory.track()                    # one event with a fresh messageId and timestamp
    factory.one_of_each()              # the six calls and the four E-commerce semantic events
    stream = factory.stream(pool=256)  # cheap variations for load: stream.next(), stream.next_bytes()

A factory keeps a counter: the n-th event of a seed is the same on every run. Sources set
`source=(slug, version)` to get `userId` on every call and `context.integration`.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from partner_review.models.spec import CALL_TYPES

START = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
LIBRARY = {"name": "partner-review", "version": "0.1.0"}

_FIRST = ["Ada", "Grace", "Alan", "Katherine", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Radia"]
_LAST = ["Lovelace", "Hopper", "Turing", "Johnson", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson", "Perlman"]
_CITIES = [
    ("Paris", "FR", "75011"),
    ("San Francisco", "US", "94107"),
    ("Berlin", "DE", "10115"),
    ("Lisbon", "PT", "1100-148"),
]
_COMPANIES = [("Initech", "Software"), ("Globex", "Energy"), ("Umbrella", "Healthcare"), ("Hooli", "Internet")]
_PAGES = [
    ("Home", "/", "Acme"),
    ("Pricing", "/pricing", "Pricing - Acme"),
    ("Docs", "/docs", "Docs - Acme"),
    ("Signup", "/signup", "Sign up - Acme"),
]
_SCREENS = ["Dashboard", "Settings", "Report Detail", "Onboarding"]
_EVENTS: list[tuple[str, dict[str, Any]]] = [
    ("Report Viewed", {"report_name": "Funnel"}),
    ("Dashboard Shared", {"dashboard_id": "d-42", "channel": "email"}),
    ("Alert Created", {"alert_type": "threshold", "threshold": 12.5}),
    ("Export Requested", {"format": "csv", "rows": 1200}),
]
_PRODUCTS = [
    ("p-100", "SKU-100", "Monopoly: 3rd Edition", "Games", "Hasbro", 19.0),
    ("p-205", "SKU-205", "Uno Card Game", "Games", "Mattel", 3.0),
    ("p-317", "SKU-317", "Mechanical Keyboard", "Electronics", "Keyco", 89.5),
    ("p-422", "SKU-422", "Espresso Beans 1kg", "Grocery", "Roastery", 24.9),
]
_AGENTS = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
]

SEMANTIC = ("Order Completed", "Product Viewed", "Product Added", "Checkout Started")


class EventFactory:
    """Spec-valid events for one seed; each call advances the factory's counter."""

    def __init__(
        self,
        seed: int = 0,
        *,
        users: int = 50,
        user_prefix: str = "user",
        user_id: str | None = None,
        source: tuple[str, str] | None = None,
        start: datetime = START,
    ) -> None:
        self.rng = random.Random(seed)
        self.users = [f"{user_prefix}-{i:04d}" for i in range(max(1, users))]
        self.user_id = user_id
        self.source = source
        self.start = start
        self.count = 0

    # Common fields ----------------------------------------------------------------------------

    def message_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def timestamp(self) -> str:
        moment = self.start + timedelta(milliseconds=137 * self.count)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def _common(self, call: str, **fields: Any) -> dict[str, Any]:
        rng = self.rng
        self.count += 1
        stamp = self.timestamp()
        user = self.user_id or rng.choice(self.users)
        event: dict[str, Any] = {"type": call, "messageId": self.message_id()}
        if self.source or self.user_id or rng.random() < 0.85:
            event["userId"] = user
        event["anonymousId"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        event["timestamp"] = stamp
        event["sentAt"] = stamp
        name, path, title = rng.choice(_PAGES)
        context: dict[str, Any] = {
            "library": dict(LIBRARY),
            "ip": f"203.0.113.{rng.randrange(1, 255)}",
            "locale": rng.choice(["en-US", "fr-FR", "de-DE"]),
            "timezone": rng.choice(["Europe/Paris", "America/New_York"]),
            "userAgent": rng.choice(_AGENTS),
            "page": {"path": path, "title": title, "url": f"https://app.acme.example{path}"},
        }
        if self.source:
            context["integration"] = {"name": self.source[0], "version": self.source[1]}
        event["context"] = context
        event["integrations"] = {}
        event.update(fields)
        return event

    # The six calls -----------------------------------------------------------------------------

    def identify(self, **fields: Any) -> dict[str, Any]:
        rng = self.rng
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        city, country, postal = rng.choice(_CITIES)
        company, industry = rng.choice(_COMPANIES)
        traits = {
            "email": f"{first.lower()}.{last.lower()}@example.com",
            "firstName": first,
            "lastName": last,
            "name": f"{first} {last}",
            "age": rng.randrange(18, 80),
            "createdAt": f"2024-03-0{rng.randrange(1, 9)}T09:30:00Z",
            "address": {"city": city, "country": country, "postalCode": postal, "street": "1 Main Street"},
            "company": {"name": company, "industry": industry, "employee_count": rng.randrange(5, 5000)},
            "plan": rng.choice(["free", "pro", "enterprise"]),
        }
        return self._common("identify", traits=traits, **fields)

    def track(
        self, event: str | None = None, properties: dict[str, Any] | None = None, **fields: Any
    ) -> dict[str, Any]:
        name, default = self.rng.choice(_EVENTS)
        return self._common(
            "track", event=event or name, properties=dict(properties if properties is not None else default), **fields
        )

    def page(self, **fields: Any) -> dict[str, Any]:
        name, path, title = self.rng.choice(_PAGES)
        properties = {
            "name": name,
            "path": path,
            "title": title,
            "url": f"https://acme.example{path}",
            "referrer": "https://www.google.com/",
            "search": "",
        }
        return self._common("page", name=name, category="Marketing", properties=properties, **fields)

    def screen(self, **fields: Any) -> dict[str, Any]:
        name = self.rng.choice(_SCREENS)
        return self._common("screen", name=name, properties={"name": name, "variation": "blue"}, **fields)

    def group(self, **fields: Any) -> dict[str, Any]:
        company, industry = self.rng.choice(_COMPANIES)
        traits = {
            "name": company,
            "industry": industry,
            "employees": self.rng.randrange(5, 5000),
            "plan": "enterprise",
            "website": f"https://{company.lower()}.example",
        }
        return self._common("group", groupId=f"g-{company.lower()}", traits=traits, **fields)

    def alias(self, **fields: Any) -> dict[str, Any]:
        event = self._common("alias", previousId=str(uuid.UUID(int=self.rng.getrandbits(128), version=4)), **fields)
        event.setdefault("userId", self.user_id or self.rng.choice(self.users))
        return event

    def call(self, call: str, **fields: Any) -> dict[str, Any]:
        return getattr(self, call)(**fields)

    # E-commerce v2 semantic events ---------------------------------------------------------------

    def _products(self, count: int) -> list[dict[str, Any]]:
        out = []
        for position, (pid, sku, name, category, brand, price) in enumerate(self.rng.sample(_PRODUCTS, count), 1):
            out.append(
                {
                    "product_id": pid,
                    "sku": sku,
                    "name": name,
                    "category": category,
                    "brand": brand,
                    "price": price,
                    "quantity": self.rng.randrange(1, 4),
                    "position": position,
                    "url": f"https://shop.acme.example/p/{pid}",
                }
            )
        return out

    def order_completed(self, **fields: Any) -> dict[str, Any]:
        products = self._products(self.rng.randrange(1, 4))
        subtotal = round(sum(p["price"] * p["quantity"] for p in products), 2)
        properties = {
            "checkout_id": f"c-{self.rng.randrange(10**6)}",
            "order_id": f"o-{self.rng.randrange(10**6)}",
            "affiliation": "Acme Store",
            "subtotal": subtotal,
            "shipping": 4.5,
            "tax": round(subtotal * 0.2, 2),
            "total": round(subtotal * 1.2 + 4.5, 2),
            "revenue": subtotal,
            "discount": 0,
            "coupon": "WELCOME",
            "currency": "USD",
            "products": products,
        }
        return self.track("Order Completed", properties, **fields)

    def checkout_started(self, **fields: Any) -> dict[str, Any]:
        products = self._products(self.rng.randrange(1, 4))
        value = round(sum(p["price"] * p["quantity"] for p in products), 2)
        properties = {
            "order_id": f"o-{self.rng.randrange(10**6)}",
            "affiliation": "Acme Store",
            "value": value,
            "revenue": value,
            "shipping": 4.5,
            "tax": round(value * 0.2, 2),
            "currency": "EUR",
            "products": products,
        }
        return self.track("Checkout Started", properties, **fields)

    def product_viewed(self, **fields: Any) -> dict[str, Any]:
        product = self._products(1)[0]
        return self.track("Product Viewed", {**product, "currency": "USD", "value": product["price"]}, **fields)

    def product_added(self, **fields: Any) -> dict[str, Any]:
        product = self._products(1)[0]
        return self.track("Product Added", {**product, "cart_id": f"cart-{self.rng.randrange(10**6)}"}, **fields)

    def semantic(self, name: str, **fields: Any) -> dict[str, Any]:
        return getattr(self, name.lower().replace(" ", "_"))(**fields)

    # Collections -----------------------------------------------------------------------------

    def one_of_each(self) -> list[dict[str, Any]]:
        """The six calls, then the four semantic events."""
        return [self.call(c) for c in CALL_TYPES] + [self.semantic(n) for n in SEMANTIC]

    def events(self, count: int, calls: tuple[str, ...] = CALL_TYPES) -> list[dict[str, Any]]:
        makers: list[Callable[[], dict[str, Any]]] = [getattr(self, c) for c in calls]
        if "track" in calls:
            makers += [self.order_completed, self.product_viewed, self.product_added, self.checkout_started]
        return [self.rng.choice(makers)() for _ in range(count)]

    def batch(self, count: int, calls: tuple[str, ...] = CALL_TYPES) -> dict[str, Any]:
        """A Tracking API batch body: `{"batch": [...], "sentAt": ...}`."""
        return {"batch": self.events(count, calls), "sentAt": self.timestamp()}

    def stream(self, pool: int = 256, calls: tuple[str, ...] = CALL_TYPES, prefix: str | None = None) -> Stream:
        return Stream(self.events(pool, calls), prefix=prefix or f"{self.rng.getrandbits(32):08x}", start=self.start)


class Stream:
    """Cheap variations of a pre-built pool: each event gets a unique messageId and a later timestamp.

    `next()` costs a shallow dict copy; `next_bytes()` splices two strings into pre-encoded JSON,
    for load generators that send thousands of events per second.
    """

    _MID = "\x00mid\x00"
    _TS = "\x00ts\x00"

    def __init__(self, pool: list[dict[str, Any]], *, prefix: str = "s", start: datetime = START) -> None:
        if not pool:
            raise ValueError("a stream needs at least one event in its pool")
        self.pool = pool
        self.prefix = prefix
        self.epoch = start.timestamp()
        self.count = 0
        self._encoded = []
        for event in pool:
            rest = {k: v for k, v in event.items() if k not in ("messageId", "timestamp")}
            text = json.dumps({**rest, "messageId": self._MID, "timestamp": self._TS}, separators=(",", ":"))
            head, after = text.split(json.dumps(self._MID), 1)
            middle, tail = after.split(json.dumps(self._TS), 1)
            self._encoded.append((head.encode(), middle.encode(), tail.encode()))

    def _ids(self) -> tuple[int, str, str]:
        n = self.count
        self.count += 1
        stamp = datetime.fromtimestamp(self.epoch + n / 1000, UTC).isoformat(timespec="milliseconds")
        return n, f"{self.prefix}-{n:010d}", stamp.replace("+00:00", "Z")

    def next(self) -> dict[str, Any]:
        n, message_id, stamp = self._ids()
        event = dict(self.pool[n % len(self.pool)])
        event["messageId"] = message_id
        event["timestamp"] = stamp
        return event

    def next_bytes(self) -> bytes:
        n, message_id, stamp = self._ids()
        head, middle, tail = self._encoded[n % len(self._encoded)]
        return b"".join((head, b'"', message_id.encode(), b'"', middle, b'"', stamp.encode(), b'"', tail))

    def batch_bytes(self, count: int) -> bytes:
        """A batch body `{"batch": [...]}` of the next `count` events, encoded."""
        return b'{"batch":[' + b",".join(self.next_bytes() for _ in range(count)) + b"]}"


def generate(count: int, types: Iterable[str] | None = None, *, seed: int = 0) -> list[dict[str, Any]]:
    """`count` Spec-valid events of the given call types (all six when None), semantic events
    included when `track` is among them; the same list for the same arguments."""
    calls = tuple(t for t in CALL_TYPES if types is None or t in set(types)) or CALL_TYPES
    return EventFactory(seed).events(count, calls)
