"""one schema for every subject: deliveries, outbox, runs, results, transitions

Submissions and access requests become two kinds of subject on the same five tables. Every row of
the old tables moves: the three delivery tables into `deliveries`, `dispatches` and the access
requests' dispatch columns into `outbox`, `review_runs` and `access_reviews` into `runs`,
`check_results` and each element of `access_reviews.results` into `results`, both transition
tables into `transitions`; decisions point at the new run ids. Submission runs and transitions keep
their ids; access runs and transitions are numbered after them (old id + the highest submission id).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 22:00:00.000000
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

OLD = "_0006"  # suffix of an old table kept while its rows move


def _old(name: str, *columns: str, json: tuple[str, ...] = ()) -> Any:
    return sa.table(name, *(sa.column(c) for c in columns), *(sa.column(c, sa.JSON()) for c in json))


def _retire(table: str, *, indexes: tuple[str, ...] = (), serial: bool = True) -> str:
    """Rename an old table out of the way of its successor (same name), with its index names."""
    for index in indexes:
        op.drop_index(index, table_name=table)
    op.rename_table(table, table + OLD)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER INDEX {table}_pkey RENAME TO {table}{OLD}_pkey")
        if serial:
            op.execute(f"ALTER SEQUENCE {table}_id_seq RENAME TO {table}{OLD}_id_seq")
    return table + OLD


def _catch_up(table: str) -> None:
    """After rows were copied with their ids, the next id PostgreSQL hands out follows the highest."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        )


def _highest(table: str) -> int:
    return op.get_bind().execute(sa.text(f"SELECT COALESCE(MAX(id), 0) FROM {table}")).scalar_one()


def _create_tables() -> dict[str, sa.Table]:
    def subject() -> tuple[sa.Column, sa.Column]:
        return sa.Column("subject_kind", sa.String(16), nullable=False), sa.Column(
            "subject_id", sa.String(36), nullable=False
        )

    deliveries = op.create_table(
        "deliveries",
        sa.Column("endpoint", sa.String(32), nullable=False),
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("subject_kind", sa.String(16), nullable=True),
        sa.Column("subject_id", sa.String(36), nullable=True),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("endpoint", "id"),
    )
    op.create_index("ix_deliveries_subject", "deliveries", ["subject_kind", "subject_id"])
    outbox = op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        *subject(),
        sa.Column("delivery_endpoint", sa.String(32), nullable=False),
        sa.Column("delivery_id", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("flow_run_id", sa.String(36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["delivery_endpoint", "delivery_id"], ["deliveries.endpoint", "deliveries.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("delivery_endpoint", "delivery_id"),
    )
    op.create_index("ix_outbox_subject", "outbox", ["subject_kind", "subject_id"])
    op.create_index("ix_outbox_status", "outbox", ["status"])
    runs = op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), nullable=False),
        *subject(),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("flow_run_id", sa.String(36), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("verdict", sa.String(8), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("flow_run_id"),
    )
    op.create_index("ix_runs_subject", "runs", ["subject_kind", "subject_id"])
    results = op.create_table(
        "results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("check_id", sa.String(32), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("outcome", sa.String(8), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_results_run_id", "results", ["run_id"])
    op.create_index("ix_results_check_id", "results", ["check_id"])
    transitions = op.create_table(
        "transitions",
        sa.Column("id", sa.Integer(), nullable=False),
        *subject(),
        sa.Column("from_state", sa.String(32), nullable=True),
        sa.Column("to_state", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_transitions_subject", "transitions", ["subject_kind", "subject_id"])
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.String(36), nullable=False),
        sa.Column("decision", sa.String(32), nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"]),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id"),
    )
    op.create_index("ix_decisions_submission_id", "decisions", ["submission_id"])
    return {"deliveries": deliveries, "outbox": outbox, "runs": runs, "results": results, "transitions": transitions}


def _move_deliveries(new: sa.Table, old_deliveries: str) -> None:
    conn = op.get_bind()
    submission = _old(old_deliveries, "id", "submission_id", "body_sha256", "received_at")
    conn.execute(
        new.insert().from_select(
            ["endpoint", "id", "subject_kind", "subject_id", "body_sha256", "answer", "received_at"],
            sa.select(
                sa.literal("submissions"),
                submission.c.id,
                sa.literal("submission"),
                submission.c.submission_id,
                submission.c.body_sha256,
                sa.null(),
                submission.c.received_at,
            ),
        )
    )
    webhook = _old("webhook_deliveries", "endpoint", "id", "body_sha256", "received_at", json=("answer",))
    access = _old("access_deliveries", "id", "access_request_id", "body_sha256", "received_at")
    # A signed access delivery has a row in both: its answer in one, its request in the other.
    conn.execute(
        new.insert().from_select(
            ["endpoint", "id", "subject_kind", "subject_id", "body_sha256", "answer", "received_at"],
            sa.select(
                webhook.c.endpoint,
                webhook.c.id,
                sa.case((access.c.id.is_not(None), sa.literal("access_request")), else_=sa.null()),
                access.c.access_request_id,
                webhook.c.body_sha256,
                webhook.c.answer,
                webhook.c.received_at,
            ).select_from(
                webhook.outerjoin(access, sa.and_(webhook.c.endpoint == "access-requests", access.c.id == webhook.c.id))
            ),
        )
    )
    unsigned = sa.select(webhook.c.id).where(webhook.c.endpoint == "access-requests", webhook.c.id == access.c.id)
    conn.execute(
        new.insert().from_select(
            ["endpoint", "id", "subject_kind", "subject_id", "body_sha256", "answer", "received_at"],
            sa.select(
                sa.literal("access-requests"),
                access.c.id,
                sa.literal("access_request"),
                access.c.access_request_id,
                access.c.body_sha256,
                sa.null(),
                access.c.received_at,
            ).where(~sa.exists(unsigned)),
        )
    )


def _move_outbox(new: sa.Table) -> None:
    conn = op.get_bind()
    columns = ["id", "subject_kind", "subject_id", "delivery_endpoint", "delivery_id", "status", "attempts"]
    columns += ["last_error", "flow_run_id", "created_at", "dispatched_at"]
    dispatches = _old("dispatches", *columns[:1], "submission_id", "delivery_id", *columns[5:])
    conn.execute(
        new.insert().from_select(
            columns,
            sa.select(
                dispatches.c.id,
                sa.literal("submission"),
                dispatches.c.submission_id,
                sa.literal("submissions"),
                dispatches.c.delivery_id,
                *(dispatches.c[c] for c in columns[5:]),
            ),
        )
    )
    offset = _highest("dispatches")
    requests = _old(
        "access_requests", "id", "received_at", "dispatch_status", "dispatch_attempts", "dispatch_error", "flow_run_id"
    )
    access = _old("access_deliveries", "id", "access_request_id", "received_at")
    first = (
        sa.select(access.c.id)
        .where(access.c.access_request_id == requests.c.id)
        .order_by(access.c.received_at, access.c.id)
        .limit(1)
        .scalar_subquery()
    )
    numbered = sa.func.row_number().over(order_by=(requests.c.received_at, requests.c.id))
    conn.execute(
        new.insert().from_select(
            columns,
            sa.select(
                numbered + offset,
                sa.literal("access_request"),
                requests.c.id,
                sa.literal("access-requests"),
                first,
                requests.c.dispatch_status,
                requests.c.dispatch_attempts,
                requests.c.dispatch_error,
                requests.c.flow_run_id,
                requests.c.received_at,
                sa.null(),
            ),
        )
    )
    _catch_up("outbox")


def _move_runs_and_results(runs: sa.Table, results: sa.Table) -> None:
    conn = op.get_bind()
    common = ["status", "verdict", "started_at", "finished_at", "flow_run_id"]
    review = _old("review_runs", "id", "submission_id", "kind", *common)
    conn.execute(
        runs.insert().from_select(
            ["id", "subject_kind", "subject_id", "kind", *common],
            sa.select(
                review.c.id,
                sa.literal("submission"),
                review.c.submission_id,
                review.c.kind,
                *(review.c[c] for c in common),
            ),
        )
    )
    fields = ["check_id", "stage", "severity", "outcome", "message", "evidence"]
    checked = _old("check_results", "id", "review_run_id", *fields)
    conn.execute(
        results.insert().from_select(
            ["id", "run_id", *fields], sa.select(checked.c.id, checked.c.review_run_id, *(checked.c[c] for c in fields))
        )
    )
    offset = _highest("review_runs")
    access = _old("access_reviews", "id", "access_request_id", *common, json=("results",))
    conn.execute(
        runs.insert().from_select(
            ["id", "subject_kind", "subject_id", "kind", *common],
            sa.select(
                access.c.id + offset,
                sa.literal("access_request"),
                access.c.access_request_id,
                sa.literal("access"),
                *(access.c[c] for c in common),
            ),
        )
    )
    _catch_up("runs")
    next_id = _highest("check_results")
    for review_id, listed in conn.execute(sa.select(access.c.id, access.c.results).order_by(access.c.id)).all():
        rows = []
        for element in listed or []:
            next_id += 1
            rows.append(
                {
                    "id": next_id,
                    "run_id": review_id + offset,
                    "check_id": element["check"],
                    "stage": element["stage"],
                    "severity": element["severity"],
                    "outcome": element["outcome"],
                    "message": element.get("message", ""),
                    "evidence": element.get("evidence") or {},
                }
            )
        if rows:
            conn.execute(results.insert(), rows)
    _catch_up("results")


def _move_transitions(new: sa.Table, old_transitions: str) -> None:
    conn = op.get_bind()
    common = ["from_state", "to_state", "actor", "reason", "at"]
    submission = _old(old_transitions, "id", "submission_id", *common)
    conn.execute(
        new.insert().from_select(
            ["id", "subject_kind", "subject_id", *common],
            sa.select(
                submission.c.id,
                sa.literal("submission"),
                submission.c.submission_id,
                *(submission.c[c] for c in common),
            ),
        )
    )
    offset = _highest(old_transitions)
    access = _old("access_transitions", "id", "access_request_id", *common)
    conn.execute(
        new.insert().from_select(
            ["id", "subject_kind", "subject_id", *common],
            sa.select(
                access.c.id + offset,
                sa.literal("access_request"),
                access.c.access_request_id,
                *(access.c[c] for c in common),
            ),
        )
    )
    _catch_up("transitions")


def _move_decisions(old_decisions: str) -> None:
    columns = ["id", "submission_id", "decision", "reviewer", "comment", "decided_at"]
    old = _old(old_decisions, "review_run_id", *columns)
    new = _old("decisions", "run_id", *columns)
    moved = sa.select(old.c.review_run_id, *(old.c[c] for c in columns))
    op.get_bind().execute(new.insert().from_select(["run_id", *columns], moved))
    _catch_up("decisions")


def upgrade() -> None:
    old_deliveries = _retire("deliveries", serial=False)
    old_transitions = _retire("transitions", indexes=("ix_transitions_submission_id",))
    old_decisions = _retire("decisions", indexes=("ix_decisions_submission_id",))
    new = _create_tables()
    _move_deliveries(new["deliveries"], old_deliveries)
    _move_outbox(new["outbox"])
    _move_runs_and_results(new["runs"], new["results"])
    _move_transitions(new["transitions"], old_transitions)
    _move_decisions(old_decisions)
    # Children before parents: SQLite checks foreign keys as each table is emptied and dropped.
    for table in (
        old_decisions,
        "check_results",
        "access_reviews",
        "dispatches",
        old_deliveries,
        "webhook_deliveries",
        "access_deliveries",
        "access_transitions",
        old_transitions,
        "review_runs",
    ):
        op.drop_table(table)
    with op.batch_alter_table("access_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_access_requests_dispatch_status")
        batch_op.drop_column("dispatch_status")
        batch_op.drop_column("dispatch_attempts")
        batch_op.drop_column("dispatch_error")
        batch_op.drop_column("flow_run_id")


def downgrade() -> None:
    raise NotImplementedError("0007 moves every subject onto one schema; restore a backup taken before it to go back")
