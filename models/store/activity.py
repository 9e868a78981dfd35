"""Customer activity per (app, workspace, day), stored in bulk.

A batch is upserted in chunks, each its own short transaction, so a submission arriving
meanwhile waits for one chunk at most, not the whole batch. Every chunk is idempotent: a
redelivery or a retry after a failure writes the same rows again, never twice. A record
carrying `measured_at` never overwrites a stored record measured later; records without it
follow the order of delivery (the last one wins).
"""

from __future__ import annotations

import functools
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, or_, select
from sqlalchemy.exc import DataError

from partner_review.models.activity import Activity, UnknownApp
from partner_review.models.db import ActivityRow, AppRow, utcnow
from partner_review.models.store.base import BadValue
from partner_review.models.store.receipts import Answer, Receipt, ReceiptStore

CHUNK = 250  # rows per transaction: short enough that a submission waits little for the write lock
Key = tuple[int, str, date]


class ActivityStore(ReceiptStore):
    @functools.cached_property
    def _activity_upsert(self) -> Any:
        """Built once and run with many rows (executemany): a statement per chunk cost a compile each."""
        table = ActivityRow.__table__
        statement = self.insert(table)
        excluded = statement.excluded
        return statement.on_conflict_do_update(
            index_elements=["app_id", "workspace_id", "day"],
            set_={
                "events_delivered": excluded.events_delivered,
                "events_failed": excluded.events_failed,
                "measured_at": func.coalesce(excluded.measured_at, table.c.measured_at),
                "received_at": excluded.received_at,
            },
            # A concurrent batch may have stored a later measurement since the read above.
            where=or_(
                table.c.measured_at.is_(None),
                excluded.measured_at.is_(None),
                excluded.measured_at >= table.c.measured_at,
            ),
        )

    def record_activity(self, records: list[Activity], *, receipt: Receipt | None = None) -> dict[str, int]:
        """Upsert activity; the counts of rows inserted, updated and left unchanged."""
        return self.receive_activity(records, receipt=receipt).body

    def receive_activity(self, records: list[Activity], *, receipt: Receipt | None = None) -> Answer:
        """Store a batch once per delivery: a redelivery gets the first answer. UnknownApp
        (nothing stored) if any record names an app the catalog lacks."""

        # Through the group commit (`write`): on SQLite a submission queued while a chunk is
        # written is committed with the next chunk, instead of waiting for the lock that the
        # batch's thread would keep winning back (threading.Lock is not fair).
        def claim(conn: Connection) -> tuple[Answer | None, dict[str, int]]:
            if receipt is not None:
                self.claim_signature(conn, receipt)
                seen = self.seen_answer(conn, receipt)
                if seen is not None:
                    return seen, {}
            return None, self._app_ids(conn, {r.app for r in records})

        try:
            seen, apps = self.write(claim)
            if seen is not None:
                return seen
            counts = {"inserted": 0, "updated": 0, "unchanged": 0}
            for start in range(0, len(records), CHUNK):
                upsert = functools.partial(self._upsert, apps=apps, chunk=records[start : start + CHUNK])
                for name, n in self.write(upsert).items():
                    counts[name] += n
            if receipt is None:
                return Answer(counts, True)
            return self.write(lambda conn: self.keep_answer(conn, receipt, counts))
        except (DataError, OverflowError) as error:
            raise BadValue(f"the database refused a value of these records: {error}") from None

    @staticmethod
    def _app_ids(conn: Connection, slugs: set[str]) -> dict[str, int]:
        apps = dict(conn.execute(select(AppRow.slug, AppRow.id).where(AppRow.slug.in_(slugs))).all())
        missing = sorted(slugs - apps.keys())
        if missing:
            raise UnknownApp(f"no app with slug {', '.join(repr(m) for m in missing)} in the catalog")
        return apps

    def _upsert(self, conn: Connection, apps: dict[str, int], chunk: list[Activity]) -> dict[str, int]:
        counts = {"inserted": 0, "updated": 0, "unchanged": 0}
        state: dict[Key, tuple[int, int, datetime | None]] = {}
        for app_id in {apps[r.app] for r in chunk}:
            mine = [r for r in chunk if apps[r.app] == app_id]
            for row in conn.execute(
                select(
                    ActivityRow.workspace_id,
                    ActivityRow.day,
                    ActivityRow.events_delivered,
                    ActivityRow.events_failed,
                    ActivityRow.measured_at,
                ).where(
                    ActivityRow.app_id == app_id,
                    ActivityRow.workspace_id.in_({r.workspace_id for r in mine}),
                    ActivityRow.day.in_({r.day for r in mine}),
                )
            ):
                state[(app_id, row.workspace_id, row.day)] = (row.events_delivered, row.events_failed, row.measured_at)
        changed: dict[Key, tuple[int, int, datetime | None]] = {}
        for r in chunk:
            key = (apps[r.app], r.workspace_id, r.day)
            new = (r.events_delivered, r.events_failed, r.measured_at)
            old = state.get(key)
            if old is None:
                counts["inserted"] += 1
            elif old[2] is not None and new[2] is not None and new[2] < old[2]:
                counts["unchanged"] += 1  # measured before the stored record: older news
                continue
            elif old[:2] == new[:2] and (new[2] is None or old[2] == new[2]):
                counts["unchanged"] += 1
                continue
            else:
                counts["updated"] += 1
            state[key] = changed[key] = new
        if changed:
            now = utcnow()
            conn.execute(self._activity_upsert, [_row(key, value, now) for key, value in changed.items()])
        return counts

    def active_days(self, slug: str, *, until: date, window_days: int) -> dict[str, int]:
        """Per workspace, the distinct days with at least one delivered event in the window ending `until`."""
        since = until - timedelta(days=window_days - 1)
        with self.session() as session:
            rows = session.execute(
                select(ActivityRow.workspace_id, func.count(func.distinct(ActivityRow.day)))
                .join(AppRow)
                .where(
                    AppRow.slug == slug,
                    ActivityRow.events_delivered > 0,
                    ActivityRow.day >= since,
                    ActivityRow.day <= until,
                )
                .group_by(ActivityRow.workspace_id)
            ).all()
            return dict(rows)


def _row(key: Key, value: tuple[int, int, datetime | None], now: datetime) -> dict[str, Any]:
    app_id, workspace_id, day = key
    delivered, failed, measured_at = value
    return {
        "app_id": app_id,
        "workspace_id": workspace_id,
        "day": day,
        "events_delivered": delivered,
        "events_failed": failed,
        "measured_at": measured_at,
        "received_at": now,
    }
