"""receiver: one delivery per signature, delivery ids on every endpoint, ordered activity

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 20:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("endpoint", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("endpoint", "id"),
    )
    op.create_table(
        "signatures",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("endpoint", sa.String(length=32), nullable=False),
        sa.Column("delivery_id", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256"),
    )
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.create_index("ix_signatures_expires_at", ["expires_at"], unique=False)
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.add_column(sa.Column("measured_at", sa.DateTime(timezone=True), nullable=True))
        # Counts go up to 10^12 (the schema's bound): 32-bit columns refused them on PostgreSQL.
        batch_op.alter_column("events_delivered", type_=sa.BigInteger(), existing_type=sa.Integer())
        batch_op.alter_column("events_failed", type_=sa.BigInteger(), existing_type=sa.Integer())


def downgrade() -> None:
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.alter_column("events_failed", type_=sa.Integer(), existing_type=sa.BigInteger())
        batch_op.alter_column("events_delivered", type_=sa.Integer(), existing_type=sa.BigInteger())
        batch_op.drop_column("measured_at")
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.drop_index("ix_signatures_expires_at")
    op.drop_table("signatures")
    op.drop_table("webhook_deliveries")
