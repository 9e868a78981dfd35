"""The check registry and check results.

Each check declares its metadata next to its logic (Airbyte connectors_qa style):

    SLUG_FORMAT = register(
        "CAT-002", "Slug uses lowercase letters, digits and hyphens",
        stage="catalog", severity="blocker",
        remedy="Use a slug such as `acme-analytics`.",
    )
    ...
    return [SLUG_FORMAT.passed()] or [SLUG_FORMAT.failed("slug 'Acme' has uppercase letters", slug="Acme")]

`partner-review checks` prints the reference and `docs/checks.md` is generated from this registry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field

Stage = Literal["catalog", "docs", "links", "e2e", "spec", "volume", "graduation", "access"]
Severity = Literal["blocker", "warning", "info"]
Outcome = Literal["pass", "warn", "fail", "skip", "error"]
Verdict = Literal["pass", "fail"]

STAGES: tuple[Stage, ...] = ("catalog", "docs", "links", "e2e", "spec", "volume", "graduation", "access")


class Result(BaseModel):
    """What one check found. `evidence` says where: the line in the doc, the request and response..."""

    check: str
    stage: Stage
    severity: Severity
    outcome: Outcome
    message: str
    evidence: dict[str, Any] = Field(default_factory=dict)

    @property
    def blocks(self) -> bool:
        return self.severity == "blocker" and self.outcome in ("fail", "error")


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    stage: Stage
    severity: Severity
    remedy: str
    network: bool = False

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

    def skipped(self, reason: str, **evidence: Any) -> Result:
        return self._result("skip", reason, evidence)

    def errored(self, message: str, **evidence: Any) -> Result:
        """The check could not run to a conclusion (e.g. an unexpected response)."""
        return self._result("error", message, evidence)


class DuplicateCheck(ValueError):
    pass


REGISTRY: dict[str, Check] = {}


def register(id: str, title: str, *, stage: Stage, severity: Severity, remedy: str, network: bool = False) -> Check:
    if id in REGISTRY:
        raise DuplicateCheck(f"check id {id} is declared twice")
    check = Check(id=id, title=title, stage=stage, severity=severity, remedy=remedy, network=network)
    REGISTRY[id] = check
    return check


def verdict(results: Iterable[Result]) -> Verdict:
    """`fail` when any blocker failed or could not be verified, else `pass`."""
    return "fail" if any(r.blocks for r in results) else "pass"


def skip_all(stage: Stage, reason: str) -> list[Result]:
    """One `skip` result per registered check of a stage, each saying why."""
    return [c.skipped(reason) for c in REGISTRY.values() if c.stage == stage]
