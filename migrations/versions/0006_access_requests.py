"""partner access requests (contract section 7)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 20:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_requests",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("company_name", sa.String(length=200), nullable=False),
        sa.Column("website", sa.String(length=2048), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=True),
        sa.Column("contact_email", sa.String(length=320), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decision_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dispatch_status", sa.String(length=16), nullable=False),
        sa.Column("dispatch_attempts", sa.Integer(), nullable=False),
        sa.Column("dispatch_error", sa.Text(), nullable=True),
        sa.Column("flow_run_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("access_requests", schema=None) as batch_op:
        batch_op.create_index("ix_access_requests_domain_state", ["domain", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_access_requests_dispatch_status"), ["dispatch_status"], unique=False)

    op.create_table(
        "access_deliveries",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("access_request_id", sa.String(length=36), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["access_request_id"], ["access_requests.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "access_transitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("access_request_id", sa.String(length=36), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["access_request_id"], ["access_requests.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("access_transitions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_transitions_access_request_id"), ["access_request_id"])
    op.create_table(
        "access_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("access_request_id", sa.String(length=36), nullable=False),
        sa.Column("flow_run_id", sa.String(length=36), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("verdict", sa.String(length=8), nullable=True),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["access_request_id"], ["access_requests.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("flow_run_id"),
    )
    with op.batch_alter_table("access_reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_reviews_access_request_id"), ["access_request_id"])


def downgrade() -> None:
    op.drop_table("access_reviews")
    op.drop_table("access_transitions")
    op.drop_table("access_deliveries")
    with op.batch_alter_table("access_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_requests_dispatch_status"))
        batch_op.drop_index("ix_access_requests_domain_state")
    op.drop_table("access_requests")
