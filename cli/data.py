"""Commands on the store: `db upgrade` (the schema) and `activity import` (customer activity)."""

from __future__ import annotations

from pathlib import Path

from partner_review.cli.app import activity, db
from partner_review.cli.errors import fail


@db.command
def upgrade() -> int:
    """Create or migrate the store's tables to the newest schema.

    Exit status: 0 done, 1 the database cannot be reached or migrated, 2 the URL is unusable.
    """
    from partner_review.flows.context import entry_context
    from partner_review.models.store import upgrade as run_upgrade

    url = entry_context().settings.resolved_database_url
    shown = _safe_url(url)
    try:
        run_upgrade(url)
    except Exception as error:  # one line for every way a URL or a server can fail; the cause is named
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError

        reason = " ".join(str(getattr(error, "orig", None) or error).split())[:200] or type(error).__name__
        if isinstance(error, ArgumentError | NoSuchModuleError | ImportError | ValueError):
            fail(f"PARTNER_REVIEW_DATABASE_URL {shown} is not usable: {reason}")
        fail(
            f"cannot migrate the database at {shown}: {reason} (check that it runs and PARTNER_REVIEW_DATABASE_URL)",
            1,
        )
    print(f"database at {shown} is at the newest schema")
    return 0


def _safe_url(url: str) -> str:
    """The URL without its password."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


@activity.command(name="import")
def import_activity(file: Path) -> int:
    """Import customer activity from a CSV or JSON-lines file; idempotent per (app, workspace, day).

    The file streams (it may be large); each line or row is bounded by PARTNER_REVIEW_CLI_MAX_LINE_BYTES.

    Parameters
    ----------
    file
        CSV with header app,workspace_id,day,events_delivered,events_failed, or JSON lines.
    """
    from partner_review.cli.files import text_lines
    from partner_review.flows.context import entry_context
    from partner_review.models.activity import UnknownApp
    from partner_review.tasks.graduation.adoption import BadActivity, read_lines

    ctx = entry_context()
    lines = text_lines(file, max_line_bytes=ctx.settings.cli_max_line_bytes)
    try:
        records = read_lines(lines, name=file.name)
    except BadActivity as error:
        fail(f"{file}: {error}; nothing was imported")
    if not records:
        fail(f"{file}: holds no activity record; nothing was imported")
    try:
        counts = ctx.store.record_activity(records)
    except UnknownApp as error:
        fail(f"{file}: {error}; nothing was imported")
    print(f"{file}: {counts['inserted']} new, {counts['updated']} corrected, {counts['unchanged']} already known")
    return 0
