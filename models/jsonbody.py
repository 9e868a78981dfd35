"""Decoding JSON a sender controls: bounded nesting and number size, one clear error."""

from __future__ import annotations

import json
from typing import Any

# Deeper free-form objects (a source's sample events) are refused by the schema: they serve no
# purpose and cost recursion at serialization.
MAX_FREE_FORM_DEPTH = 32


class NotJson(ValueError):
    """Bytes that are not JSON this service accepts, with the reason in one line."""


def decode(raw: bytes) -> Any:
    """The JSON value of `raw`; NotJson for invalid UTF-8 or JSON, nesting too deep to parse,
    or an integer too long to convert."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise NotJson("nested too deeply to parse") from None
    except UnicodeDecodeError as error:
        raise NotJson(f"not UTF-8 ({error.reason} at byte {error.start})") from None
    except json.JSONDecodeError as error:
        raise NotJson(str(error)) from None
    except ValueError as error:  # e.g. an integer of more than 4300 digits
        raise NotJson(str(error).split(";")[0]) from None


def depth(value: Any) -> int:
    """How deeply `value` nests lists and objects (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest
