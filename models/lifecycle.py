"""The submission lifecycle: which state may follow which (DESIGN.md)."""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    submitted = "submitted"
    acknowledged = "acknowledged"
    in_review = "in_review"
    changes_requested = "changes_requested"
    resubmitted = "resubmitted"
    public_beta = "public_beta"
    public = "public"
    rejected = "rejected"
    withdrawn = "withdrawn"


ALLOWED: dict[State, frozenset[State]] = {
    State.submitted: frozenset({State.acknowledged}),
    State.acknowledged: frozenset({State.in_review}),
    State.in_review: frozenset({State.changes_requested, State.public_beta, State.rejected}),
    State.changes_requested: frozenset({State.resubmitted}),
    State.resubmitted: frozenset({State.acknowledged}),
    State.public_beta: frozenset({State.public}),
    State.public: frozenset(),
    State.rejected: frozenset(),
    State.withdrawn: frozenset(),
}


class IllegalTransition(ValueError):
    def __init__(self, current: State, target: State):
        allowed = ", ".join(sorted(ALLOWED[current] | {State.withdrawn} - {current})) or "none"
        super().__init__(f"a submission in state '{current}' cannot move to '{target}' (allowed: {allowed})")
        self.current, self.target = current, target


def check_transition(current: State | str, target: State | str) -> None:
    """Raise IllegalTransition unless `target` may follow `current`; any state may be withdrawn."""
    current, target = State(current), State(target)
    if target is State.withdrawn and current is not State.withdrawn:
        return
    if target not in ALLOWED[current]:
        raise IllegalTransition(current, target)
