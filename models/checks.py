"""The check registry and check results.

A check is an object holding its declaration and its logic (Airbyte connectors_qa style): a
subclass of `Check[Subject]` whose `run(subject, ctx)` returns its result (or one per thing it
judges), declared once with `declare(...)` next to its logic (README, "Adding a check"):

    class SlugFormat(Check[Catalog]):
        def run(self, subject: Catalog, ctx: Any) -> Result:
            slug = subject.submission.app.slug
            return self.passed() if SLUG.match(slug) else self.failed(f"slug {slug!r} ...", slug=slug)

    SLUG_FORMAT = declare(SlugFormat("CAT-002", "Slug uses lowercase letters, digits and hyphens",
                                     stage="catalog", severity="blocker", remedy="Use a slug such as `acme-analytics`."))

A stage gathers what its checks judge (the fetches, the measurements, the parse) once into its
subject, then hands it to `tasks/runner.py:run_objects`, the one place that skips a check that
does not apply and says why. A check also says where it applies: `needs_network` (skipped
offline), `applies_to` (the component it needs: `app`, `destination` or `source`; by default its
stage's) and `phase` (`pre-launch`, or `post-launch` for graduation), and which checklist
`requirement`s it feeds beside its stage's. Stages are declared in models/stages.py;
`tasks/registry.py` imports every stage's check modules.

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
    """A check: its declaration and, in its subclass, its logic (`run`)."""

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
        """This check's logic on `subject` (its stage's subject); every subclass holds its own."""
        raise NotImplementedError(f"{self.id}: a check holds its logic in its own run()")

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
    """Add a check object to the registry (DuplicateCheck for an id declared before; TypeError for
    a check with no logic of its own, a bare `Check`)."""
    if type(check).run is Check.run:
        raise TypeError(f"check {check.id}: declare a subclass of Check with its own run(), not a bare Check")
    if check.id in REGISTRY:
        raise DuplicateCheck(f"check id {check.id} is declared twice")
    if check.stage not in names():
        raise ValueError(f"check {check.id}: stage {check.stage!r} is not declared in models/stages.py")
    REGISTRY[check.id] = check
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
