"""Semantic events (E-commerce v2): their property models, names and the synonyms partners use."""

from __future__ import annotations

import re

from partner_review.models.spec.calls import Currency, Number, SpecModel


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

# Synonyms partners use instead of the semantic name, by their normalized form.
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


def normalize_name(name: str) -> str:
    """`Order_Completed`, `order-completed`, `OrderCompleted` -> `order completed`."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    return re.sub(r"[\s_\-.]+", " ", spaced).strip().lower()


# The semantic events of the Spec's other specs (Video, Email, Mobile, B2B SaaS, Live Chat, A/B testing):
# named by the Spec itself, so known good whatever their grammar ("Video Ad Playing", "Unsubscribed").
OTHER_SPEC_EVENTS: frozenset[str] = frozenset(
    """Video Playback Started|Video Playback Paused|Video Playback Interrupted|Video Playback Resumed|
    Video Playback Buffer Started|Video Playback Buffer Completed|Video Playback Seek Started|
    Video Playback Seek Completed|Video Playback Completed|Video Playback Exited|Video Content Started|
    Video Content Playing|Video Content Completed|Video Ad Started|Video Ad Playing|Video Ad Completed|
    Email Bounced|Email Delivered|Email Link Clicked|Email Marked as Spam|Email Opened|Unsubscribed|
    Application Installed|Application Opened|Application Updated|Application Backgrounded|
    Application Foregrounded|Application Crashed|Application Uninstalled|Install Attributed|
    Push Notification Received|Push Notification Tapped|Push Notification Bounced|Deep Link Clicked|
    Deep Link Opened|Account Created|Account Deleted|Signed Up|Signed In|Signed Out|Invite Sent|
    Account Added User|Account Removed User|Trial Started|Trial Ended|Live Chat Conversation Started|
    Live Chat Conversation Ended|Live Chat Message Sent|Live Chat Message Received|Experiment Viewed""".replace(
        "\n    ", ""
    ).split("|")
)
SPEC_EVENT_NAMES: frozenset[str] = ECOMMERCE_EVENTS | OTHER_SPEC_EVENTS

_BY_NORMAL = {normalize_name(name): name for name in ECOMMERCE_EVENTS}


def semantic_name(event_name: str) -> str | None:
    """The Spec name a non-Spec event name stands for, or None when it is fine as it is."""
    if event_name in ECOMMERCE_EVENTS:
        return None
    normal = normalize_name(event_name)
    return _BY_NORMAL.get(normal) or SYNONYMS.get(normal) or SYNONYMS.get(normal.replace(" ", ""))
