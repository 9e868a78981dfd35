"""The released version a new submission is an update of: the app's latest version that is live.

Found by slug; when no live version has the new slug, by the app's name, so a changed slug
(UPD-004) is caught rather than taken for a new app.
"""

from __future__ import annotations

from sqlalchemy import select

from partner_review.models.db import AppRow, SubmissionRow
from partner_review.models.lifecycle import State
from partner_review.models.store import Store, StoredSubmission

LIVE = (str(State.public_beta), str(State.public))


def released_version(store: Store, stored: StoredSubmission) -> StoredSubmission | None:
    """The latest Public Beta or Public version of `stored`'s app other than itself, or None."""
    app = stored.submission.app
    found = None
    with store.session() as session:  # closed before get_submission: SQLite takes one writer at a time
        for match in (AppRow.slug == stored.slug, AppRow.name == app.name):
            found = session.execute(
                select(SubmissionRow.id)
                .join(AppRow, AppRow.id == SubmissionRow.app_id)
                .where(match, SubmissionRow.state.in_(LIVE), SubmissionRow.id != stored.id)
                .order_by(SubmissionRow.version.desc(), SubmissionRow.received_at.desc())
                .limit(1)
            ).scalar_one_or_none()
            if found is not None:
                break
    return store.get_submission(found) if found is not None else None
