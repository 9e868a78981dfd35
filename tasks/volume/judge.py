"""The volume checks: objects (`Check[Load]` with their `run`) judging one measured load run.

The stage (tasks/volume/load.py) sends the load once and gathers what it measured into a `Load`;
the checks judge it afterwards with `tasks/runner.py:run_objects`, against the thresholds in the
settings the `Context` carries: nothing is judged while requests are timed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from partner_review.models.checks import Check, Result, declare
from partner_review.tasks.context import Context
from partner_review.tasks.volume.plan import DEFAULT_BACKOFF_SECONDS, Measurement, Plan


@dataclass(frozen=True)
class Load:
    """The subject of the volume checks: one destination's measured load run."""

    measurement: Measurement
    plan: Plan
    mode: str  # "events" or "batch"
    label: str = ""  # "name: " before each message when the submission has several destinations
    shown: str | None = None  # the endpoint as the submission wrote it (plan.url is the vetted one)
    events_per_batch: int | None = None  # batch mode: the largest batch sent, added to every result's evidence

    @property
    def facts(self) -> dict[str, Any]:
        """Everything measured, as evidence."""
        facts = summary(self.measurement, self.plan, self.mode)
        if self.shown:
            facts["endpoint"] = self.shown
        return facts

    @property
    def at(self) -> str:
        return f"{self.label}{self.shown or self.plan.url}"


class VolumeCheck(Check[Load]):
    """A volume check: its `judge` with the run's facts, the batch size added in batch mode."""

    def run(self, subject: Load, ctx: Context) -> Result:
        result = self.judge(subject.measurement, subject.plan, subject.facts, subject.at, ctx)
        if subject.events_per_batch is not None:
            result.evidence["events_per_batch"] = subject.events_per_batch
        return result

    def judge(self, m: Measurement, plan: Plan, facts: dict[str, Any], at: str, ctx: Context) -> Result:
        raise NotImplementedError


def summary(m: Measurement, plan: Plan, mode: str) -> dict[str, Any]:
    """Everything measured, as evidence."""
    duration = plan.duration
    accepted = m.responses - m.rate_limited
    return {
        "endpoint": plan.url,
        "mode": mode,
        "target_rate": plan.rate,
        "duration_seconds": duration,
        "achieved_rate": round(accepted / duration, 2),
        "send_rate": round(m.sent / duration, 2),
        "scheduled": m.scheduled,
        "sent": m.sent,
        "responses": m.responses,
        "events_sent": m.events_sent,
        "events_per_second": round(m.events_sent / duration, 1),
        "latency_seconds": m.latency.summary_seconds(),
        "status_counts": {str(s): n for s, n in sorted(m.status_counts.items())},
        "errors_by_status": {str(s): n for s, n in sorted(m.errors_by_status.items())},
        "transport_errors": dict(m.transport_errors),
        "transport_error_samples": dict(m.transport_samples),
        "timeouts": m.timeouts,
        "errors": m.errors,
        "error_ratio": round(m.errors / m.sent, 4) if m.sent else None,
        "unsent_at_deadline": m.unsent,
        "rate_limited_429": m.rate_limited,
        "retry_after_missing": m.retry_after_missing,
        "retry_after_max_seconds": m.retry_after_max,
        "retry_after_honoured": m.sends_during_backoff == 0,
        "sends_during_backoff": m.sends_during_backoff,
        "skipped_in_backoff": m.skipped_in_backoff,
        "backoff_seconds": round(m.backoff_seconds, 3),
        "connections": plan.connections * plan.processes,
        "processes": plan.processes,
        "request_timeout_seconds": plan.timeout,
    }


class Rate(VolumeCheck):
    """VOL-001: answered at least the share of the target rate the settings ask for."""

    def judge(self, m: Measurement, plan: Plan, facts: dict[str, Any], at: str, ctx: Context) -> Result:
        settings = ctx.settings
        rate_floor = settings.volume_min_rate_ratio * plan.rate
        rate_keys = (
            "endpoint",
            "mode",
            "target_rate",
            "achieved_rate",
            "send_rate",
            "duration_seconds",
            "scheduled",
            "sent",
            "responses",
            "events_sent",
            "events_per_second",
            "unsent_at_deadline",
            "rate_limited_429",
            "skipped_in_backoff",
            "backoff_seconds",
            "timeouts",
            "connections",
            "processes",
        )
        rate_evidence = {k: facts[k] for k in rate_keys} | {"min_rate": round(rate_floor, 2)}
        achieved = facts["achieved_rate"]
        if achieved >= rate_floor:
            return self.passed(
                f"{at} answered {achieved:g} requests/s of a {plan.rate:g}/s target for {plan.duration:g} s",
                **rate_evidence,
            )
        else:
            causes = []
            if m.skipped_in_backoff:
                causes.append(
                    f"it throttled with 429 ({m.rate_limited} times), {m.skipped_in_backoff} requests held back "
                    f"over {m.backoff_seconds:.1f} s of backoff"
                )
            if m.unsent:
                causes.append(
                    f"{m.unsent} requests were still waiting for one of {plan.connections * plan.processes} "
                    "busy connections when the time was up"
                )
            failed = m.timeouts + sum(m.transport_errors.values())
            if failed:
                causes.append(f"{failed} requests got no answer (timeouts or transport failures)")
            because = "; ".join(causes) or "fewer answers than requests sent"
            return self.failed(
                f"{at} answered {achieved:g} requests/s, below {rate_floor:g} ({settings.volume_min_rate_ratio:.0%} of "
                f"the {plan.rate:g}/s target): {because}",
                **rate_evidence,
            )


RATE = declare(
    Rate(
        "VOL-001",
        "Endpoint sustains the target request rate",
        stage="volume",
        severity="blocker",
        network=True,
        remedy="Serve the target rate without queueing: add capacity, answer before processing "
        "(queue the work), and do not throttle below Segment's recommended 1,000 requests/s.",
    )
)


class Latency(VolumeCheck):
    """VOL-002: the p99 latency, counted from when each request was due."""

    def judge(self, m: Measurement, plan: Plan, facts: dict[str, Any], at: str, ctx: Context) -> Result:
        settings = ctx.settings
        latency = facts["latency_seconds"]
        latency_evidence = {
            "endpoint": facts["endpoint"],
            "mode": facts["mode"],
            "latency_seconds": latency,
            "p99_limit_seconds": settings.volume_p99_seconds,
            "timeouts": m.timeouts,
            "request_timeout_seconds": plan.timeout,
            "measured_from": "intended send time",
        }
        timed_out_share = m.timeouts / m.latency.count if m.latency.count else 0.0
        if m.latency.count == 0:
            return self.errored(f"{at} gave no answer to measure latency on", **latency_evidence)
        elif timed_out_share > 0.01:
            # A timed-out request's latency is unknown beyond the timeout: with more than 1 % of them
            # the p99 is at least the timeout, and nothing shows it under the limit.
            return self.failed(
                f"{at}: {m.timeouts} of {m.latency.count} requests ({timed_out_share:.1%}) got no answer within the "
                f"{plan.timeout:g} s request timeout at {plan.rate:g} requests/s, so the p99 latency is at least "
                f"{plan.timeout:g} s (limit {settings.volume_p99_seconds:g} s)",
                **latency_evidence,
            )
        elif latency["p99"] < settings.volume_p99_seconds:
            return self.passed(
                f"{at}: p99 {latency['p99']:.3f} s (p50 {latency['p50']:.3f} s, max {latency['max']:.3f} s) at "
                f"{plan.rate:g} requests/s",
                **latency_evidence,
            )
        else:
            return self.failed(
                f"{at}: p99 latency {latency['p99']:.2f} s is over the {settings.volume_p99_seconds:g} s limit at "
                f"{plan.rate:g} requests/s (p50 {latency['p50']:.2f} s, {m.timeouts} timeouts; latency counts from "
                "when each request was due, so queueing shows)",
                **latency_evidence,
            )


LATENCY = declare(
    Latency(
        "VOL-002",
        "p99 latency under load stays under the limit",
        stage="volume",
        severity="blocker",
        network=True,
        remedy="Answer every event within 5 s under load: acknowledge with 200/202 first and process asynchronously.",
    )
)


class Errors(VolumeCheck):
    """VOL-003: the share of errors (4xx and 5xx but 429 and 501, timeouts, transport failures)."""

    def judge(self, m: Measurement, plan: Plan, facts: dict[str, Any], at: str, ctx: Context) -> Result:
        settings = ctx.settings
        error_keys = (
            "endpoint",
            "mode",
            "sent",
            "errors",
            "error_ratio",
            "errors_by_status",
            "status_counts",
            "transport_errors",
            "transport_error_samples",
            "timeouts",
        )
        error_evidence = {k: facts[k] for k in error_keys} | {"max_error_ratio": settings.volume_max_error_ratio}
        if not m.sent:
            return self.errored(f"{at}: no request was sent", **error_evidence)
        elif m.errors / m.sent < settings.volume_max_error_ratio or m.errors == 0:
            return self.passed(
                f"{at}: {m.errors} errors in {m.sent} requests ({m.errors / m.sent:.2%})", **error_evidence
            )
        else:
            parts = [f"{n}× {s}" for s, n in facts["errors_by_status"].items()]
            parts += [f"{n}× {kind}" for kind, n in m.transport_errors.items()]
            if m.timeouts:
                parts.append(f"{m.timeouts}× timeout after {plan.timeout:g} s")
            return self.failed(
                f"{at}: {m.errors} errors in {m.sent} requests ({m.errors / m.sent:.2%}, limit under "
                f"{settings.volume_max_error_ratio:.0%}): {', '.join(parts)}",
                **error_evidence,
            )


ERRORS = declare(
    Errors(
        "VOL-003",
        "Error share under load stays under the limit",
        stage="volume",
        severity="blocker",
        network=True,
        remedy="Accept valid events under load with 200/202; reserve 5xx for real outages and do not drop connections.",
    )
)


class Throttling(VolumeCheck):
    """VOL-004: 429 answers carry a usable Retry-After."""

    def judge(self, m: Measurement, plan: Plan, facts: dict[str, Any], at: str, ctx: Context) -> Result:
        throttle_keys = (
            "endpoint",
            "mode",
            "rate_limited_429",
            "retry_after_missing",
            "retry_after_max_seconds",
            "retry_after_honoured",
            "sends_during_backoff",
            "skipped_in_backoff",
            "backoff_seconds",
        )
        throttle_evidence = {k: facts[k] for k in throttle_keys}
        if not m.rate_limited:
            return self.not_applicable(
                f"{at} did not throttle at {plan.rate:g} requests/s, so its 429 answers were not exercised",
                **throttle_evidence,
            )
        elif m.retry_after_missing:
            return self.failed(
                f"{at}: {m.retry_after_missing} of {m.rate_limited} 429 answers had no usable Retry-After header "
                f"(the test paused {DEFAULT_BACKOFF_SECONDS:g} s for each)",
                **throttle_evidence,
            )
        else:
            return self.passed(
                f"{at}: {m.rate_limited} 429 answers, each with Retry-After (up to {m.retry_after_max:g} s); honoured: "
                f"{m.backoff_seconds:.1f} s spent backing off, {m.skipped_in_backoff} requests held back",
                **throttle_evidence,
            )


THROTTLING = declare(
    Throttling(
        "VOL-004",
        "Rate limiting answers 429 with Retry-After",
        stage="volume",
        severity="warning",
        network=True,
        remedy="When throttling, answer 429 with a Retry-After header (seconds or an HTTP date) so "
        "Segment can back off for the right time.",
    )
)

CHECKS: tuple[VolumeCheck, ...] = (RATE, LATENCY, ERRORS, THROTTLING)
