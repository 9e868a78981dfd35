"""Stage `compat`: the update gate for a new version of an app that is already live.

Customers already use the released version (Public Beta or Public), so an update must not break
them (Segment's contribution rules: no new required fields, no renamed integration, no deleted
action). Blockers: a setting that becomes required, a supported call that is no longer supported,
a component that is gone, a changed slug. Warnings: a renamed app or setting label. Additions
(an optional setting, a newly supported call, a new component) pass and are named.

Each check is an object (`Check[Update]` with its `run`), run by `tasks/runner.py:run_objects`; pure
functions of the new and the released submission: nothing is fetched. Components are
matched by type and name, settings by key; a renamed component counts as removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from partner_review.models.checks import Check, Result, declare
from partner_review.models.settings import Settings
from partner_review.models.submission import Destination, Setting, Source, Submission
from partner_review.tasks.runner import Scope, run_objects

Component = Destination | Source


@dataclass(frozen=True)
class Update:
    """The subject of the update gate: a new version and the one live now."""

    new: Submission
    released: Submission


Pair = tuple[Component, Component]


def _key(component: Component) -> tuple[str, str]:
    return component.type, component.name


def _pairs(new: Submission, released: Submission) -> tuple[list[Pair], list[Component], list[Component]]:
    """Components in both (released, new), those only released (removed), those only new (added)."""
    now = {_key(c): c for c in new.components}
    before = {_key(c): c for c in released.components}
    both = [(before[k], now[k]) for k in before if k in now]
    return both, [c for k, c in before.items() if k not in now], [c for k, c in now.items() if k not in before]


def _settings(component: Component) -> dict[str, Setting]:
    return {s.key: s for s in component.settings} if isinstance(component, Destination) else {}


def _versions(new: Submission, released: Submission) -> dict[str, Any]:
    return {"released_version": released.version, "new_version": new.version}


class RequiredSetting(Check[Update]):
    def run(self, subject: Update, ctx: object = None) -> Result:
        new, released = subject.new, subject.released
        both, _, _ = _pairs(new, released)
        required: list[dict[str, str]] = []
        optional: list[dict[str, str]] = []
        for old, now in both:
            before = _settings(old)
            for key, setting in _settings(now).items():
                was = before.get(key)
                if setting.required and (was is None or not was.required):
                    required.append(
                        {"component": now.name, "setting": key, "was": "absent" if was is None else "optional"}
                    )
                elif was is None:
                    optional.append({"component": now.name, "setting": key})
        evidence = {**_versions(new, released), "newly_required": required, "added_optional": optional}
        if required:
            names = ", ".join(f"{r['component']}.{r['setting']} (was {r['was']})" for r in required)
            return self.failed(
                f"settings required now that customers of v{released.version} have not set: {names}", **evidence
            )
        added = f"; new optional settings: {', '.join(o['component'] + '.' + o['setting'] for o in optional)}"
        return self.passed(f"no setting became required{added if optional else ''}", **evidence)


REQUIRED_SETTING = declare(
    RequiredSetting(
        "UPD-001",
        "No setting becomes required in an update",
        stage="compat",
        severity="blocker",
        remedy="Make the new setting optional (with a default) for the customers already connected, "
        "or ship it as a new component.",
    )
)


def required_settings(new: Submission, released: Submission) -> Result:
    return REQUIRED_SETTING.run(Update(new, released))


class RemovedCall(Check[Update]):
    def run(self, subject: Update, ctx: object = None) -> Result:
        new, released = subject.new, subject.released
        both, _, _ = _pairs(new, released)
        removed: list[dict[str, Any]] = []
        added: list[dict[str, Any]] = []
        for old, now in both:
            if not isinstance(old, Destination) or not isinstance(now, Destination):
                continue
            before, after = set(old.supported_calls), set(now.supported_calls)
            if before - after:
                removed.append({"component": now.name, "calls": sorted(before - after)})
            if after - before:
                added.append({"component": now.name, "calls": sorted(after - before)})
        evidence = {**_versions(new, released), "removed": removed, "added": added}
        if removed:
            names = "; ".join(f"{r['component']}: {', '.join(r['calls'])}" for r in removed)
            return self.failed(f"supported calls of v{released.version} no longer listed: {names}", **evidence)
        more = "; ".join(f"{a['component']}: {', '.join(a['calls'])}" for a in added)
        return self.passed(f"no supported call removed{'; newly supported: ' + more if added else ''}", **evidence)


REMOVED_CALL = declare(
    RemovedCall(
        "UPD-002",
        "No supported call is removed in an update",
        stage="compat",
        severity="blocker",
        remedy="Keep supporting every call type the released version lists in supported_calls.",
    )
)


def removed_calls(new: Submission, released: Submission) -> Result:
    return REMOVED_CALL.run(Update(new, released))


class RemovedComponent(Check[Update]):
    def run(self, subject: Update, ctx: object = None) -> Result:
        new, released = subject.new, subject.released
        _, removed, added = _pairs(new, released)
        evidence = {
            **_versions(new, released),
            "removed": [{"type": c.type, "name": c.name} for c in removed],
            "added": [{"type": c.type, "name": c.name} for c in added],
        }
        if removed:
            names = ", ".join(f"{c.type} '{c.name}'" for c in removed)
            return self.failed(
                f"components of v{released.version} missing from v{new.version}: {names} "
                "(a renamed component is a removed one for the customers using it)",
                **evidence,
            )
        more = ", ".join(f"{c.type} '{c.name}'" for c in added)
        return self.passed(f"every released component is kept{'; new: ' + more if added else ''}", **evidence)


REMOVED_COMPONENT = declare(
    RemovedComponent(
        "UPD-003",
        "No component is removed or renamed in an update",
        stage="compat",
        severity="blocker",
        remedy="Keep every component of the released version under its name; deprecate it with the "
        "reviewers instead of deleting it.",
    )
)


def removed_components(new: Submission, released: Submission) -> Result:
    return REMOVED_COMPONENT.run(Update(new, released))


class SameSlug(Check[Update]):
    def run(self, subject: Update, ctx: object = None) -> Result:
        new, released = subject.new, subject.released
        before, after = released.app.slug, new.app.slug
        evidence = {**_versions(new, released), "released": before, "new": after}
        if before != after:
            return self.failed(f"the slug changed from '{before}' to '{after}'", **evidence)
        return self.passed(f"slug '{after}' unchanged", **evidence)


SLUG = declare(
    SameSlug(
        "UPD-004",
        "The slug is unchanged",
        stage="compat",
        severity="blocker",
        remedy="Send the update with the released version's slug; the slug identifies the integration for customers.",
    )
)


def slug(new: Submission, released: Submission) -> Result:
    return SLUG.run(Update(new, released))


class SameName(Check[Update]):
    def run(self, subject: Update, ctx: object = None) -> Result:
        new, released = subject.new, subject.released
        before, after = released.app.name, new.app.name
        evidence = {**_versions(new, released), "released": before, "new": after}
        if before != after:
            return self.failed(f"the app was renamed from '{before}' to '{after}'", **evidence)
        return self.passed(f"name '{after}' unchanged", **evidence)


APP_NAME = declare(
    SameName(
        "UPD-005",
        "The app keeps its name",
        stage="compat",
        severity="warning",
        remedy="Keep the released name, or tell the reviewers why customers will look for it under a new one.",
    )
)


def app_name(new: Submission, released: Submission) -> Result:
    return APP_NAME.run(Update(new, released))


class SameLabels(Check[Update]):
    def run(self, subject: Update, ctx: object = None) -> Result:
        new, released = subject.new, subject.released
        both, _, _ = _pairs(new, released)
        renamed = [
            {"component": now.name, "setting": key, "released": was.label, "new": setting.label}
            for old, now in both
            for key, setting in _settings(now).items()
            if (was := _settings(old).get(key)) is not None and was.label != setting.label
        ]
        evidence = {**_versions(new, released), "renamed": renamed}
        if renamed:
            names = ", ".join(f"{r['component']}.{r['setting']} '{r['released']}' -> '{r['new']}'" for r in renamed)
            return self.failed(f"setting labels renamed: {names}", **evidence)
        return self.passed("every released setting keeps its label", **evidence)


SETTING_LABEL = declare(
    SameLabels(
        "UPD-006",
        "Setting labels are unchanged",
        stage="compat",
        severity="warning",
        remedy="Keep the labels customers know, or say in the documentation which setting was renamed.",
    )
)


def setting_labels(new: Submission, released: Submission) -> Result:
    return SETTING_LABEL.run(Update(new, released))


CHECKS: tuple[Check[Update], ...] = (REQUIRED_SETTING, REMOVED_CALL, REMOVED_COMPONENT, SLUG, APP_NAME, SETTING_LABEL)


def check_compat(new: Submission, released: Submission | None, *, reason: str = "") -> list[Result]:
    """UPD-* results for `new` against the live `released` version (all skipped when there is none)."""
    if released is None:
        why = reason or "no released version to compare with: the update gate applies to a live app"
        return [c.not_applicable(why) for c in CHECKS]
    return run_objects(CHECKS, Update(new, released), None, Scope.of(new))


async def check_update(
    submission: Submission,
    released: Submission | None = None,
    *,
    released_reason: str = "",
    offline: bool = False,
    settings: Settings | None = None,
) -> list[Result]:
    """The update gate as a stage of the review: `released` is the run's input (None: skipped, saying
    why). The fields first, then the same traffic sent to the live version and the new one, compared
    (tasks/compat/behaviour.py)."""
    from partner_review.tasks.compat.behaviour import compare_behaviour

    fields = check_compat(submission, released, reason=released_reason)
    behaviour = await compare_behaviour(
        submission, released, reason=released_reason, offline=offline, settings=settings
    )
    return fields + behaviour
