"""health: indexes for an app's activity over a window and the results since a date (issue 26)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 22:00:00
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Covering: `health` and the watch read only these columns of one app's days (bench/health.py).
    op.create_index(
        "ix_activity_app_day", "activity", ["app_id", "day", "workspace_id", "events_delivered", "events_failed"]
    )
    op.create_index("ix_runs_started_at", "runs", ["started_at"])
    # Covering: `check-health` reads these columns of every result, never the message or evidence.
    op.create_index("ix_results_run_check", "results", ["run_id", "check_id", "outcome", "stage"])


def downgrade() -> None:
    op.drop_index("ix_results_run_check", table_name="results")
    op.drop_index("ix_runs_started_at", table_name="runs")
    op.drop_index("ix_activity_app_day", table_name="activity")
