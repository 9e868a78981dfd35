"""Issue 24 item 5: every check is one object holding its declaration and its logic."""

from __future__ import annotations

import pytest

from partner_review.models import checks
from partner_review.models.checks import REGISTRY, Check, declare
from partner_review.tasks.registry import all_checks, check_modules


def test_every_declared_check_holds_its_own_logic():
    declared = all_checks()
    assert len(declared) >= 126 and len(check_modules()) >= 11
    without = [c.id for c in declared if type(c).run is Check.run]
    assert without == [], f"checks with no run() of their own: {without}"
    assert not hasattr(checks, "register"), "the stage-function way of declaring checks is gone"


def test_a_bare_check_cannot_be_declared():
    with pytest.raises(TypeError, match="own run"):
        declare(Check("ZZZ-001", "A check with no logic", stage="catalog", severity="info", remedy="-"))
    assert "ZZZ-001" not in REGISTRY
