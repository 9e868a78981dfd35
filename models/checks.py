"""The check registry and check results.

Each check declares its metadata next to its logic (Airbyte connectors_qa style):

    SLUG_FORMAT = register(
        "CAT-002", "Slug uses lowercase letters, digits and hyphens",
        stage="catalog", severity="blocker",
        remedy="Use a slug such as `acme-analytics`.",
    )
    ...
    return [SLUG_FORMAT.passed()] or [SLUG_FORMAT.failed("slug 'Acme' has uppercase letters", slug="Acme")]

A check also says where it applies: `network` (skipped offline), `applies_to` (the component it
needs: `app`, `destination` or `source`; by default its stage's) and `phase` (`pre-launch`, or
`post-launch` for graduation). `tasks/runner.py` is the one place that turns these into `skip`
results with a reason; `tasks/registry.py` lists every module that declares checks.

`partner-review checks` prints the reference and `docs/checks.md` is generated from this registry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field

Stage = Literal[
    "catalog", "docs", "links", "e2e", "replay", "spec", "volume", "compat", "security", "graduation", "access"
]
Severity = Literal["blocker", "warning", "info"]
Outcome = Literal["pass", "warn", "fail", "skip", "error"]
Verdict = Literal["pass", "fail"]
Component = Literal["app", "destination", "source"]  # what a check needs the submission to have
Phase = Literal["pre-launch", "post-launch"]  # review before launch, or graduation after it
NotRun = Literal["not-applicable", "offline", "not-verified"]  # why a check was skipped
NOT_RUN = "not_run"  # the evidence key of a skip that holds its NotRun

STAGES: tuple[Stage, ...] = (
    "catalog",
    "docs",
    "links",
    "e2e",
    "replay",
    "spec",
    "volume",
    "compat",
    "security",
    "graduation",
    "access",
)

# What a stage's checks apply to unless a check says otherwise.
STAGE_COMPONENT: dict[Stage, Component] = {
    "e2e": "destination",
    "replay": "destination",
    "volume": "destination",
    "spec": "source",
}
STAGE_PHASE: dict[Stage, Phase] = {"graduation": "post-launch"}


class Result(BaseModel):
    """What one check found. `evidence` says where: the line in the doc, the request and response..."""

    check: str
    stage: Stage
    severity: Severity
    outcome: Outcome
    message: str
    evidence: dict[str, Any] = Field(default_factory=dict)

    @property
    def not_run(self) -> NotRun | None:
        """Why a skipped check did not run (a skip without a known reason counts as not verified)."""
        if self.outcome != "skip":
            return None
        why = self.evidence.get(NOT_RUN)
        return why if why in ("not-applicable", "offline") else "not-verified"

    @property
    def unverified(self) -> bool:
        """A blocker that should have said pass or fail and did not (errored, or skipped but applicable)."""
        return self.severity == "blocker" and (self.outcome == "error" or self.not_run in ("offline", "not-verified"))

    @property
    def blocks(self) -> bool:
        """A blocker that failed or could not be verified (a skip by request, offline, is not counted here)."""
        return self.severity == "blocker" and (self.outcome in ("fail", "error") or self.not_run == "not-verified")


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    stage: Stage
    severity: Severity
    remedy: str
    network: bool = False  # needs to reach the partner's servers (skipped offline)
    applies_to: Component = "app"  # skipped when the submission has no such component
    phase: Phase = "pre-launch"

    def _result(self, outcome: Outcome, message: str, evidence: dict[str, Any]) -> Result:
        return Result(
            check=self.id,
            stage=self.stage,
            severity=self.severity,
            outcome=outcome,
            message=message,
            evidence=evidence,
        )

    def passed(self, message: str = "", **evidence: Any) -> Result:
        return self._result("pass", message or self.title, evidence)

    def failed(self, message: str, **evidence: Any) -> Result:
        """A finding: `fail` for a blocker, `warn` for a warning or info check."""
        return self._result("fail" if self.severity == "blocker" else "warn", message, evidence)

    def skipped(self, reason: str, *, because: NotRun = "not-verified", **evidence: Any) -> Result:
        """Not run, `because` (see NotRun). A check that could not be verified says so in its message."""
        message = reason if because != "not-verified" else f"Not verified: {reason}"
        return self._result("skip", message, {**evidence, NOT_RUN: because})

    def not_applicable(self, reason: str, **evidence: Any) -> Result:
        """Skipped since there is nothing for this check to verify (no such component, a gap another check reports)."""
        return self.skipped(reason, because="not-applicable", **evidence)

    def errored(self, message: str, **evidence: Any) -> Result:
        """The check could not run to a conclusion (e.g. an unexpected response)."""
        return self._result("error", message, evidence)


class DuplicateCheck(ValueError):
    pass


REGISTRY: dict[str, Check] = {}


def register(
    id: str,
    title: str,
    *,
    stage: Stage,
    severity: Severity,
    remedy: str,
    network: bool = False,
    applies_to: Component | None = None,
    phase: Phase | None = None,
) -> Check:
    """Declare a check. `applies_to` and `phase` default to its stage's (STAGE_COMPONENT, STAGE_PHASE)."""
    if id in REGISTRY:
        raise DuplicateCheck(f"check id {id} is declared twice")
    check = Check(
        id=id,
        title=title,
        stage=stage,
        severity=severity,
        remedy=remedy,
        network=network,
        applies_to=applies_to or STAGE_COMPONENT.get(stage, "app"),
        phase=phase or STAGE_PHASE.get(stage, "pre-launch"),
    )
    REGISTRY[id] = check
    return check


def blocking(results: Iterable[Result], *, offline: bool = False) -> list[Result]:
    """The blockers that failed or could not be verified. Offline (`check --offline`) a blocker skipped
    by request does not block; in a review (`offline=False`) nothing is skipped by request, so it does."""
    return [r for r in results if r.blocks or (not offline and r.severity == "blocker" and r.not_run == "offline")]


def unverified(results: Iterable[Result]) -> list[str]:
    """The ids of blockers left unverified: skipped offline, skipped though applicable, or errored."""
    return sorted({r.check for r in results if r.unverified})


def verdict(results: Iterable[Result], *, offline: bool = False) -> Verdict:
    """`fail` when any blocker failed or could not be verified, else `pass` (see `blocking`)."""
    return "fail" if blocking(results, offline=offline) else "pass"
