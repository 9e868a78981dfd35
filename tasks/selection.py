"""Which stages and checks a run is limited to (`partner-review check --stage S --check ID`, `rerun-stage`).

A stage selected runs whole and reports every result; a check selected runs its stage and reports
that check alone. Stages holding nothing selected are not called at all (`pipeline.run_checks`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from partner_review.models.checks import Result
from partner_review.models.stages import REVIEW_STAGES, Stage, names, spec
from partner_review.models.stages import ReviewStage as PipelineStage

# The stages `pipeline.run_checks` runs (declared with an entry; graduation and access have flows of their own).
PIPELINE_STAGES: tuple[Stage, ...] = REVIEW_STAGES  # as declared at import; `Selection` reads the declaration
__all__ = ["PIPELINE_STAGES", "PipelineStage", "Selection", "UnknownName"]


class UnknownName(ValueError):
    """A stage or check id that is not one of the review's; the message lists the valid ones."""


@dataclass(frozen=True)
class Selection:
    stages: frozenset[Stage] = frozenset()  # run and reported whole
    checks: frozenset[str] = frozenset()  # reported alone
    called: frozenset[Stage] = frozenset()  # every stage that runs: `stages` and those holding `checks`

    @classmethod
    def of(cls, *, stages: Iterable[str] = (), checks: Iterable[str] = ()) -> Selection:
        """The selection of these names (stages lowercase, check ids in any case); UnknownName for any other."""
        from partner_review.tasks.registry import all_checks

        review = names(in_review=True)
        known = {c.id: c.stage for c in all_checks() if c.stage in review}
        chosen_stages: set[Stage] = set()
        for name in stages:
            stage = next((s for s in review if s == name.strip().lower()), None)
            if stage is None:
                raise UnknownName(f"unknown stage {name!r} (one of: {', '.join(review)})")
            chosen_stages.add(stage)
        chosen_checks: set[str] = set()
        for name in checks:
            check = name.strip().upper()
            if check not in known:
                raise UnknownName(f"unknown check {name!r} (one of: {', '.join(known)})")
            chosen_checks.add(check)
        return cls(
            stages=frozenset(chosen_stages),
            checks=frozenset(chosen_checks),
            called=frozenset(chosen_stages | {known[c] for c in chosen_checks}),
        )

    @classmethod
    def everything(cls) -> Selection:
        """Every stage of the review, as declared."""
        review = frozenset(names(in_review=True))
        return cls(stages=review, called=review)

    def runs(self, stage: Stage) -> bool:
        """Whether the stage is called at all."""
        return stage in self.called

    def takes(self, name: str) -> bool:
        """Whether a stage that runs takes the input `name` (e.g. `released`: the update gate)."""
        return any(name in spec(stage).takes for stage in self.called)

    def keeps(self, result: Result) -> bool:
        """Whether the result is reported."""
        return result.stage in self.stages or result.check in self.checks
