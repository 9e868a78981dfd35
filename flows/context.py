"""The context of an entry point: a flow run, a CLI command, the receiver app. Each builds one here,
once, from the process's settings and store, and passes it down (tasks/context.py); nothing below
an entry point looks either up."""

from __future__ import annotations

from partner_review.models.settings import get_settings
from partner_review.models.store import get_store
from partner_review.tasks.context import Context


def entry_context(*, store: bool = True) -> Context:
    """The settings this process runs with and, unless `store=False` (a command that needs none,
    so no database is opened), its store."""
    settings = get_settings()
    return Context.of(settings, get_store() if store else None)
