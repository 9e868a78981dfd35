"""The review's stages, declared once. Everything that selects by stage reads this list: the check
registry (tasks/registry.py), the review pipeline and its order (tasks/pipeline.py), the Prefect tasks
(flows/stages.py), `--stage` / `--check` (tasks/selection.py), the checklist's requirements, the
update gate's input and the weekly re-check. Adding a stage is its package under tasks/ plus one
`StageSpec` below (README, "Adding a stage").

A stage's `entry` is the function the review calls, `async fn(submission, *, offline, settings,
**inputs) -> list[Result]` (or `(results, value)` when it `gives` a value to later stages); `inputs`
are the names in `takes`, given by the run (`released`, `released_reason`, `doc_links`,
`doc_anchors`) or by a stage it runs `after`. A stage without an entry has a flow of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator

Component = Literal["app", "destination", "source"]  # what a check needs the submission to have
Phase = Literal["pre-launch", "post-launch"]  # review before launch, or graduation after it


@dataclass(frozen=True)
class StageSpec:
    name: str
    title: str
    modules: tuple[str, ...]  # the modules under tasks/ that declare its checks
    entry: str = ""  # "module:function" under tasks/ the review pipeline calls; "" = a flow of its own
    task: str = ""  # the Prefect task's name in a review flow
    retries: int = 0  # of that task
    applies_to: Component = "app"  # what its checks apply to unless a check says otherwise
    phase: Phase = "pre-launch"
    after: tuple[str, ...] = ()  # stages of the review it waits for (their `gives` it may take)
    takes: tuple[str, ...] = ()  # inputs passed to `entry` by name
    gives: str = ""  # the name of the second value `entry` returns, for stages after it
    listed: int = 0  # where its results come in a run's list (lower first)
    cpu: bool = False  # has work for the worker processes (tasks/offload.py): started before the run
    recheck: bool = False  # the weekly re-check of live apps runs it again
    notify_changes: bool = False  # re-check: a new finding, and its fix, go to the partner and the reviewers once
    requirements: tuple[str, ...] = ()  # the checklist requirements every one of its checks feeds

    @property
    def in_review(self) -> bool:
        """Part of the pre-launch review pipeline (`check`, review-submission, rerun-stage)."""
        return bool(self.entry)


def _in(package: str, *names: str) -> tuple[str, ...]:
    return tuple(f"partner_review.tasks.{package}.{name}" for name in names)


# In reference order (docs/checks.md, `partner-review checks`, the error listing stage names).
STAGE_SPECS: tuple[StageSpec, ...] = (
    StageSpec(
        "catalog",
        "Catalog fields, logo, mark and the rendered tile",
        _in("catalog", "fields", "assets", "render"),
        entry="catalog.stage:verify_catalog",
        task="verify-catalog-fields",
        listed=10,
        cpu=True,
    ),
    StageSpec(
        "docs",
        "The Segment doc page, linted and compared with what the endpoint accepted",
        _in("docs", "lint", "rules", "style", "match", "steps"),
        entry="docs.lint:lint_documentation",
        task="lint-documentation",
        retries=1,
        after=("e2e",),
        takes=("accepted_calls",),
        listed=22,
        cpu=True,
        recheck=True,
        requirements=("docs",),
    ),
    StageSpec(
        "links",
        "Partner page, launch post and every link",
        _in("links", "pages", "linkcheck"),
        entry="links.linkcheck:check_links",
        task="check-partner-page-launch-post-and-links",
        takes=("doc_links", "doc_anchors"),
        listed=40,
        cpu=True,
        recheck=True,
    ),
    StageSpec(
        "e2e",
        "The destination end to end",
        _in("e2e", "checks"),
        entry="e2e.suite:run_e2e_suite",
        task="test-destination-end-to-end",
        applies_to="destination",
        gives="accepted_calls",
        listed=20,
        requirements=("end-to-end",),
    ),
    StageSpec(
        "replay",
        "Historical events replayed",
        _in("e2e", "replay"),
        entry="e2e.replay:check_replay",
        task="check-replay-compatibility",
        applies_to="destination",
        after=("e2e", "security"),
        takes=("accepted_calls",),
        listed=21,
    ),
    StageSpec(
        "spec",
        "Source events against the Segment Spec",
        _in("spec", "sources"),
        entry="spec.sources:check_sources",
        task="check-source-spec-adherence",
        applies_to="source",
        listed=30,
        cpu=True,
        requirements=("spec",),
    ),
    StageSpec(
        "volume",
        "High data volume",
        _in("volume", "judge"),
        entry="volume.load:load_test",
        task="test-high-data-volume",
        applies_to="destination",
        after=("replay",),
        listed=23,
        requirements=("volume",),
    ),
    StageSpec(
        "compat",
        "The update gate: a new version against the live one, its fields and its behaviour",
        _in("compat", "gate", "behaviour"),
        entry="compat.gate:check_update",
        task="check-update-compatibility",
        after=("e2e",),  # sends traffic to the endpoint: after e2e's timing, before replay and the load
        takes=("released", "released_reason"),
        listed=50,
    ),
    StageSpec(
        "security",
        "The partner's side of Segment's security guidance: TLS, certificates, HSTS, security.txt, credentials",
        _in("security", "checks"),
        entry="security.stage:check_security",
        task="check-security-guidance",
        after=("compat",),  # probes the endpoint too: never beside e2e, replay or the load
        listed=55,
        recheck=True,
        notify_changes=True,
        requirements=("security",),
    ),
    StageSpec("graduation", "Graduation after launch", _in("graduation", "checks"), phase="post-launch", listed=60),
    StageSpec("access", "Partner access requests", _in("access", "checks", "ownership"), listed=70),
)


def declared() -> tuple[StageSpec, ...]:
    """Every declared stage, in reference order (read at each call: the list is the one source)."""
    return STAGE_SPECS


def spec(name: str) -> StageSpec:
    """The declaration of stage `name` (KeyError for a name that is not declared)."""
    for stage in STAGE_SPECS:
        if stage.name == name:
            return stage
    raise KeyError(name)


def names(*, in_review: bool = False) -> tuple[str, ...]:
    """The declared stages' names (only those of the pre-launch review pipeline with `in_review`)."""
    return tuple(s.name for s in STAGE_SPECS if s.in_review or not in_review)


def _declared(name: str) -> str:
    if not any(s.name == name for s in STAGE_SPECS):
        raise ValueError(f"{name!r} is not a declared stage (models/stages.py)")
    return name


STAGE_NAMES: tuple[str, ...] = names()  # as declared when first imported
REVIEW_STAGES: tuple[str, ...] = names(in_review=True)

if TYPE_CHECKING:
    Stage = str
    ReviewStage = str
else:
    Stage = Annotated[str, AfterValidator(_declared)]  # what a Result's stage is validated against
    ReviewStage = Literal[REVIEW_STAGES]  # rerun-stage's parameter: Prefect's UI lists the choices
