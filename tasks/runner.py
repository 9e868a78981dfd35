"""The one place that decides whether a check applies to a run, and says why when it does not.

A check declares what it needs (models/checks.py): the network, a component (`destination`,
`source`; `app` is always there) and a phase. A stage function decorated with `@stage(CHECKS,
...)` is not called when none of its checks applies, and its results for checks that do not apply
are replaced by the runner's `skip` results, each with the reason:

    @stage(CHECKS, network_use="sends load to the partner's endpoint")
    async def load_test(submission: Submission, *, offline: bool = False) -> list[Result]: ...

A stage still receives `offline`, so it can run what needs no network (the links stage checks
anchors and mailto links offline) and skip network fetches inside the checks that remain.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from partner_review.models.checks import Check, Component, NotRun, Phase, Result
from partner_review.models.submission import Submission

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])
S = TypeVar("S")


@dataclass(frozen=True)
class Scope:
    """What a run can reach: the network or not, the submission's components, the phase."""

    offline: bool = False
    components: frozenset[Component] = frozenset({"app"})
    phase: Phase = "pre-launch"

    @classmethod
    def of(cls, submission: Submission, *, offline: bool = False, phase: Phase = "pre-launch") -> Scope:
        components: set[Component] = {"app"}
        if submission.destinations:
            components.add("destination")
        if submission.sources:
            components.add("source")
        return cls(offline=offline, components=frozenset(components), phase=phase)


def why_not(check: Check, scope: Scope, *, network_use: str = "") -> str | None:
    """Why `check` does not apply in `scope`, or None when it does."""
    found = _why_not(check, scope, network_use=network_use)
    return found[1] if found else None


def _why_not(check: Check, scope: Scope, *, network_use: str = "") -> tuple[NotRun, str] | None:
    if check.phase != scope.phase:
        return "not-applicable", f"{check.phase} check: not part of the {scope.phase} review"
    if check.applies_to not in scope.components:
        return "not-applicable", f"the submission has no {check.applies_to} component"
    if check.network and scope.offline:
        return "offline", offline_reason(network_use or "needs the network")
    return None


def skip(check: Check, scope: Scope, *, network_use: str = "") -> Result | None:
    """The `skip` result of `check` when it does not apply in `scope` (offline: by request), else None."""
    found = _why_not(check, scope, network_use=network_use)
    return check.skipped(found[1], because=found[0]) if found else None


def offline_reason(network_use: str) -> str:
    """The one wording of an offline skip: `network_use` says what the check would do on the network."""
    return f"offline: not run, since it {network_use} (run without --offline)"


def skips(checks: Iterable[Check], scope: Scope, *, network_use: str = "") -> dict[str, Result]:
    """The `skip` result of every check that does not apply in `scope`, by check id."""
    out: dict[str, Result] = {}
    for check in checks:
        if (result := skip(check, scope, network_use=network_use)) is not None:
            out[check.id] = result
    return out


def applies(checks: Sequence[Check], scope: Scope) -> bool:
    """Whether any of `checks` applies in `scope` (else the runner skips the whole stage)."""
    return any(why_not(check, scope) is None for check in checks)


def _all_not_applicable(results: Sequence[Result], check_id: str) -> bool:
    mine = [r for r in results if r.check == check_id]
    return bool(mine) and all(r.not_run == "not-applicable" for r in mine)


def stage(
    checks: Sequence[Check],
    *,
    network_use: str = "",
    phase: Phase = "pre-launch",
    nothing: Callable[[], Any] | None = None,
) -> Callable[[F], F]:
    """Run a stage `fn(submission, ..., offline=...)` through the runner (see the module docstring).

    A stage that returns `(results, more)` (e2e: the call types accepted) gives `nothing()` as
    `more` when the runner does not call it."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        async def run(submission: Submission, *args: Any, offline: bool = False, **kwargs: Any) -> Any:
            skipped = skips(checks, Scope.of(submission, offline=offline, phase=phase), network_use=network_use)
            if len(skipped) == len(checks):
                results = list(skipped.values())
                return (results, nothing()) if nothing is not None else results
            outcome = await fn(submission, *args, offline=offline, **kwargs)
            found, more = (outcome[0], outcome[1:]) if isinstance(outcome, tuple) else (outcome, None)
            # A check the runner skips stays the stage's own where the stage found it does not apply
            # at all (SPEC-018 for a source without events_url): not applicable says more than offline.
            moot = {c for c in skipped if _all_not_applicable(found, c)}
            results = [r for r in found if r.check not in skipped or r.check in moot]
            results += [r for c, r in skipped.items() if c not in moot]
            return (results, *more) if more is not None else results

        return run  # type: ignore[return-value]

    return decorate


def run_objects(
    checks: Sequence[Check[S]], subject: S, ctx: Any, scope: Scope, *, network_use: str = ""
) -> list[Result]:
    """The results of check objects (each with its own `run`) on `subject`: a check that does not
    apply in `scope` is skipped with the reason, one that raises is an `error` result naming why.
    A check's `run` returns its one result, or a list when it judges several things (one per page)."""
    results: list[Result] = []
    for check in checks:
        skipped = skip(check, scope, network_use=network_use)
        if skipped is not None:
            results.append(skipped)
            continue
        try:
            found = check.run(subject, ctx)
        except Exception as error:  # a bug in one check must not take the others down
            found = check.errored(f"the check could not run: {type(error).__name__}: {str(error)[:300]}")
        results.extend([found] if isinstance(found, Result) else found)
    return results
