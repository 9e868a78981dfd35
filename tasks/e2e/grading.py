"""Grading one answer as Segment's test suite does: green, yellow (a declined, undeclared call) or red."""

from __future__ import annotations

from partner_review.tasks.e2e.exchange import Exchange

# Grading ---------------------------------------------------------------------------------------

Grade = tuple[str, str]  # ("green" | "yellow" | "red", why)


def grade(ex: Exchange, call: str, declared: set[str], limit: int) -> Grade:
    """Green, yellow or red for one event, with the reason a partner reads."""
    if ex.error:
        return "red", ex.error
    if ex.too_large:
        return "red", f"answered with a body over {limit:,} bytes; answer an event with a short JSON body"
    status = ex.status or 0
    if 200 <= status < 300:
        if ex.html:
            return "red", (
                f"answered {status} with an HTML page ({ex.content_type or 'no Content-Type'}): "
                "a login, proxy or error page, not the API, took the event; answer with JSON or an empty body"
            )
        if ex.body.strip() and "json" in ex.content_type.lower() and ex.json() is None:
            return "red", f"answered {status} declaring {ex.content_type} but the body is not JSON"
        return "green", f"answered {status} in {ex.latency_ms:.0f} ms"
    if status == 501:
        if declared and call in declared:
            return "red", f"answered 501 (not supported) for {call}, which the component lists in supported_calls"
        return "yellow", f"answered 501: {call} is declined as not supported (accepted non-support)"
    if 300 <= status < 400:
        return "red", (
            f"answered {status} redirecting to {ex.location or '(no Location)'}; Segment does not "
            "follow redirects: use the final URL as the endpoint"
        )
    if status == 429:
        return "red", (
            f"answered 429 (rate limited, Retry-After: {ex.retry_after or 'none'}) during a functional "
            "test sending a few requests; throttle only far above normal traffic"
        )
    if status in (401, 403):
        return "red", (
            f"answered {status}: the review's credential was refused; check auth.scheme and "
            "auth.secret in the submission"
        )
    if status == 400:
        return "red", f"answered 400 to a Spec-valid {call} event: {_short(ex)}"
    return "red", f"answered {status}: {_short(ex)}"


def _short(ex: Exchange) -> str:
    text = " ".join(ex.body[:160].decode("utf-8", errors="replace").split())
    return text or "(empty body)"
