"""Waivers: a reviewer accepts a failing check for an app until a date.

A waiver in force turns the check's `fail` into a `warn` that says who waived it, why and until
when; the verdict is computed on the waived results. An expired waiver stops applying and the
report says so, so nothing is accepted silently.
"""

from __future__ import annotations

from datetime import datetime

from partner_review.models.checks import Result
from partner_review.models.store import Waiver


def apply_waivers(results: list[Result], waivers: list[Waiver], *, now: datetime) -> tuple[list[Result], list[str]]:
    """The results with waivers in force applied, and notes on waivers that expired."""
    in_force = {w.check_id: w for w in waivers if w.expires_at > now}
    expired = {w.check_id: w for w in waivers if w.expires_at <= now and w.check_id not in in_force}
    out, notes = [], []
    for result in results:
        waiver = in_force.get(result.check)
        if waiver and result.outcome in ("fail", "error"):
            result = result.model_copy(
                update={
                    "outcome": "warn",
                    "message": f"waived by {waiver.owner} until {waiver.expires_at:%Y-%m-%d} ({waiver.reason}): {result.message}",
                    "evidence": {
                        **result.evidence,
                        "waiver": {
                            "owner": waiver.owner,
                            "reason": waiver.reason,
                            "expires_at": waiver.expires_at.isoformat(),
                        },
                    },
                }
            )
        elif result.check in expired and result.outcome in ("fail", "error"):
            w = expired[result.check]
            notes.append(
                f"The waiver for {result.check} granted by {w.owner} expired on "
                f"{w.expires_at:%Y-%m-%d}; the check counts again."
            )
        out.append(result)
    return out, sorted(set(notes))


def in_force(waivers: list[Waiver], *, now: datetime) -> list[Waiver]:
    return [w for w in waivers if w.expires_at > now]
