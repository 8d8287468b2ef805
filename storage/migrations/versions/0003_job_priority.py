"""jobs.priority: effects a person sees (writes, surveys) before new events, under backlog

Revision ID: 0003_job_priority
Revises: 0002_surveys
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa

revision = "0003_job_priority"
down_revision = "0002_surveys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("priority", sa.SmallInteger(), nullable=False, server_default="1"))
        batch.drop_column("sequence")  # never used: per-ticket order comes from job ids
        batch.drop_index("ix_jobs_claim")
        batch.create_index("ix_jobs_claim", ["state", "priority", "next_run_at"])


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_index("ix_jobs_claim")
        batch.create_index("ix_jobs_claim", ["state", "next_run_at"])
        batch.drop_column("priority")
        batch.add_column(sa.Column("sequence", sa.BigInteger(), nullable=False, server_default="0"))
