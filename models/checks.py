"""The check registry and check results.

A check is an object holding its declaration and its logic (Airbyte connectors_qa style): a
subclass of `Check` whose `run(subject, ctx)` returns its result, declared with `declare(...)`
(tasks/compat/gate.py; README, "Adding a check"). The stage runs its check objects through
`tasks/runner.py:run_objects`. Most stages still compute their checks' results in one stage
function and declare their checks with `register(...)`:

    SLUG_FORMAT = register(
        "CAT-002", "Slug uses lowercase letters, digits and hyphens",
        stage="catalog", severity="blocker",
        remedy="Use a slug such as `acme-analytics`.",
    )
    ...
    return [SLUG_FORMAT.passed()] or [SLUG_FORMAT.failed("slug 'Acme' has uppercase letters", slug="Acme")]

A check also says where it applies: `needs_network` (skipped offline), `applies_to` (the component
it needs: `app`, `destination` or `source`; by default its stage's) and `phase` (`pre-launch`, or
`post-launch` for graduation), and which checklist `requirement`s it feeds beside its stage's.
Stages are declared in models/stages.py. `tasks/runner.py` is the one place that turns these into
`skip` results with a reason; `tasks/registry.py` imports every stage's check modules.

`partner-review checks` prints the reference and `docs/checks.md` is generated from this registry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

from partner_review.models.stages import STAGE_NAMES, Component, Phase, Stage, names, spec

STAGES = STAGE_NAMES  # the declared stages' names, in reference order

Severity = Literal["blocker", "warning", "info"]
Outcome = Literal["pass", "warn", "fail", "skip", "error"]
Verdict = Literal["pass", "fail"]
NotRun = Literal["not-applicable", "offline", "not-verified"]  # why a check was skipped
NOT_RUN = "not_run"  # the evidence key of a skip that holds its NotRun
S = TypeVar("S")  # what a check object judges (its stage's subject)


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
class Check(Generic[S]):
    """A check: its declaration and, in a subclass, its logic (`run`). Stages whose checks are not
    objects yet compute their results in a stage function and call `passed`/`failed` on the check."""

    id: str
    title: str
    stage: Stage
    severity: Severity
    remedy: str
    network: bool = False  # reaches the partner's servers (skipped offline); `needs_network` in JSON
    applies_to: Component = None  # type: ignore[assignment]  # the component it needs; None: its stage's
    phase: Phase = None  # type: ignore[assignment]  # None: its stage's
    requirement: tuple[str, ...] = field(default=())  # checklist requirements it feeds beside its stage's

    def __post_init__(self) -> None:
        declared = spec(self.stage)
        object.__setattr__(self, "applies_to", self.applies_to or declared.applies_to)
        object.__setattr__(self, "phase", self.phase or declared.phase)

    @property
    def needs_network(self) -> bool:
        return self.network

    @property
    def requirements(self) -> tuple[str, ...]:
        """Every checklist requirement this check feeds: its stage's, then its own."""
        return spec(self.stage).requirements + tuple(
            r for r in self.requirement if r not in spec(self.stage).requirements
        )

    def run(self, subject: S, ctx: Any) -> Result | list[Result]:
        """This check's logic on `subject` (its stage's subject). Checks still judged by a stage function
        do not override it."""
        raise NotImplementedError(f"{self.id} is judged by its stage function, not as an object")

    def declaration(self) -> dict[str, Any]:
        """What `partner-review checks --format json` prints for this check."""
        return {
            "id": self.id,
            "title": self.title,
            "stage": self.stage,
            "severity": self.severity,
            "applies_to": self.applies_to,
            "needs_network": self.needs_network,
            "phase": self.phase,
            "requirements": list(self.requirements),
            "remedy": self.remedy,
        }

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


REGISTRY: dict[str, Check[Any]] = {}
C = TypeVar("C", bound=Check[Any])


def declare(check: C) -> C:
    """Add a check object to the registry (DuplicateCheck for an id declared before)."""
    if check.id in REGISTRY:
        raise DuplicateCheck(f"check id {check.id} is declared twice")
    if check.stage not in names():
        raise ValueError(f"check {check.id}: stage {check.stage!r} is not declared in models/stages.py")
    REGISTRY[check.id] = check
    return check


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
    requirement: str | tuple[str, ...] = (),
) -> Check[Any]:
    """Declare a check whose results its stage function computes. `applies_to` and `phase` default
    to its stage's (models/stages.py); `requirement` names checklist requirements it feeds."""
    return declare(
        Check(
            id=id,
            title=title,
            stage=stage,
            severity=severity,
            remedy=remedy,
            network=network,
            applies_to=applies_to,  # type: ignore[arg-type]
            phase=phase,  # type: ignore[arg-type]
            requirement=(requirement,) if isinstance(requirement, str) else requirement,
        )
    )


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
