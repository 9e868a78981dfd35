"""Every module that declares checks, listed once. `all_checks()` is the registry in stage order.

A check is declared next to its logic (`register(...)` in its module); this list is what makes the
module's checks part of the review, the reference (`partner-review checks`, docs/checks.md) and
waiver validation. A test fails when a module under tasks/ declares checks and is not listed.
"""

from __future__ import annotations

import importlib

from partner_review.models.checks import REGISTRY, STAGES, Check

CHECK_MODULES: tuple[str, ...] = (
    "partner_review.tasks.catalog.fields",
    "partner_review.tasks.catalog.assets",
    "partner_review.tasks.catalog.render",
    "partner_review.tasks.docs.lint",
    "partner_review.tasks.docs.rules",
    "partner_review.tasks.docs.style",
    "partner_review.tasks.docs.match",
    "partner_review.tasks.docs.steps",
    "partner_review.tasks.links.pages",
    "partner_review.tasks.links.linkcheck",
    "partner_review.tasks.e2e.checks",
    "partner_review.tasks.e2e.replay",
    "partner_review.tasks.spec.sources",
    "partner_review.tasks.volume.judge",
    "partner_review.tasks.compat.gate",
    "partner_review.tasks.compat.behaviour",
    "partner_review.tasks.security.checks",
    "partner_review.tasks.graduation.checks",
    "partner_review.tasks.access.checks",
    "partner_review.tasks.access.ownership",
)


def all_checks() -> list[Check]:
    """Every declared check, by stage (in review order) then id."""
    for name in CHECK_MODULES:
        importlib.import_module(name)
    order = {stage: i for i, stage in enumerate(STAGES)}
    return sorted(REGISTRY.values(), key=lambda c: (order[c.stage], c.id))
