"""Every check, from the stage declarations. `all_checks()` is the registry in stage order.

A check is declared next to its logic, in a module its stage lists (`modules` in models/stages.py);
importing those modules is what makes its checks part of the review, the reference (`partner-review
checks`, docs/checks.md) and waiver validation. A test fails when a module under tasks/ declares
checks and no stage lists it.
"""

from __future__ import annotations

import importlib
from typing import Any

from partner_review.models.checks import REGISTRY, Check
from partner_review.models.stages import declared


def check_modules() -> tuple[str, ...]:
    """Every module that declares checks: each stage's `modules`."""
    return tuple(module for stage in declared() for module in stage.modules)


def all_checks() -> list[Check[Any]]:
    """Every declared check, by stage (in reference order) then id."""
    for name in check_modules():
        importlib.import_module(name)
    order = {stage.name: i for i, stage in enumerate(declared())}
    return sorted(REGISTRY.values(), key=lambda c: (order[c.stage], c.id))


def checks_of(stage: str) -> list[Check[Any]]:
    """The checks of one stage, by id."""
    return [c for c in all_checks() if c.stage == stage]


def feeding(requirement: str) -> frozenset[str]:
    """The ids of the checks that feed a checklist requirement (declared on the check or its stage)."""
    return frozenset(c.id for c in all_checks() if requirement in c.requirements)
