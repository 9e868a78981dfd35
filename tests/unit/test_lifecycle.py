import pytest

from partner_review.models.lifecycle import ALLOWED, IllegalTransition, State, check_transition


@pytest.mark.parametrize(
    "current,target",
    [
        ("submitted", "acknowledged"),
        ("acknowledged", "in_review"),
        ("in_review", "public_beta"),
        ("in_review", "changes_requested"),
        ("in_review", "rejected"),
        ("changes_requested", "resubmitted"),
        ("resubmitted", "acknowledged"),
        ("public_beta", "public"),
        ("public", "withdrawn"),
        ("submitted", "withdrawn"),
    ],
)
def test_allowed(current, target):
    check_transition(current, target)


@pytest.mark.parametrize(
    "current,target",
    [
        ("submitted", "in_review"),
        ("submitted", "public_beta"),
        ("rejected", "public_beta"),
        ("public", "public_beta"),
        ("withdrawn", "submitted"),
        ("withdrawn", "withdrawn"),
        ("acknowledged", "public"),
    ],
)
def test_illegal_raises_with_a_clear_message(current, target):
    with pytest.raises(IllegalTransition, match=f"cannot move to '{target}'"):
        check_transition(current, target)


def test_every_state_has_rules():
    assert set(ALLOWED) == set(State)
