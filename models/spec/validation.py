"""`validate(event)`: the rule violations of one event (never raises), and of one batch."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

from partner_review.models.spec.calls import EVENT
from partner_review.models.spec.rules import CALL_TYPES, DEFAULT_LIMITS, TIMESTAMP_FIELDS, Limits, Violation
from partner_review.models.spec.semantic import SEMANTIC_PROPERTIES, SPEC_EVENT_NAMES, semantic_name

_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*\Z")
_VERSION = re.compile(r"^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?\Z")
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
    return any(_past_tense(w.lower()) for w in words if w not in _SMALL_WORDS)


# Words that end in "ed" without being a past tense ("Product Feed" names no action).
_NOT_PAST = frozenset("bed bleed breed deed embed feed need seed shed speed weed red".split())


def _past_tense(word: str) -> bool:
    return word in _IRREGULAR_PAST or (word.endswith("ed") and word not in _NOT_PAST)


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
        elif name not in SPEC_EVENT_NAMES and not is_event_name(name):
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
