"""The context of an entry point: a flow run, a CLI command, the receiver app. Each builds one here,
once, from the process's settings and store, and passes it down (tasks/context.py); nothing below
an entry point looks either up."""

from __future__ import annotations

from typing import TYPE_CHECKING

from partner_review.models.settings import get_settings
from partner_review.tasks.context import Context

if TYPE_CHECKING:
    from partner_review.models.store import Store


def entry_context() -> Context:
    """The settings this process runs with, and its store, opened on first use (`ctx.store`): a
    command that needs none never opens the database."""
    return Context.of(get_settings(), opener=_open_store)


def _open_store() -> Store:
    from partner_review.models.store import get_store  # SQLAlchemy loads only when a store is needed

    return get_store()
