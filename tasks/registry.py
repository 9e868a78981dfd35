"""Every check, from the stage declarations. `all_checks()` is the registry in stage order.

A check is declared next to its logic, in a module its stage lists (`modules` in models/stages.py);
importing those modules is what makes its checks part of the review, the reference (`partner-review
checks`, docs/checks.md) and waiver validation. A test fails when a module under tasks/ declares
checks and no stage lists it.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

from partner_review.models.checks import REGISTRY, Check
from partner_review.models.stages import declared


def check_modules() -> tuple[str, ...]:
    """Every module that declares checks: each stage's `modules`."""
    return tuple(module for stage in declared() for module in stage.modules)


def all_checks() -> list[Check[Any]]:
    """Every declared check, by stage (in reference order) then id."""
    return list(_sorted(*_key()))


def _key() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What the sorted registry depends on: the declared stages and the declared check ids (a
    check is declared when its module is imported; importing a loaded module is a dict look-up)."""
    for name in check_modules():
        importlib.import_module(name)
    return tuple(stage.name for stage in declared()), tuple(REGISTRY)


@functools.cache
def _sorted(stages: tuple[str, ...], ids: tuple[str, ...]) -> tuple[Check[Any], ...]:
    order = {name: i for i, name in enumerate(stages)}
    return tuple(sorted((REGISTRY[i] for i in ids), key=lambda c: (order[c.stage], c.id)))


def checks_of(stage: str) -> list[Check[Any]]:
    """The checks of one stage, by id."""
    return [c for c in all_checks() if c.stage == stage]


def feeding(requirement: str) -> frozenset[str]:
    """The ids of the checks that feed a checklist requirement (declared on the check or its stage)."""
    return _feeding(requirement, *_key())


@functools.cache
def _feeding(requirement: str, stages: tuple[str, ...], ids: tuple[str, ...]) -> frozenset[str]:
    return frozenset(c.id for c in _sorted(stages, ids) if requirement in c.requirements)
