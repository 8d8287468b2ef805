"""connection_pauses: the wait an ITSM asked for, shared by every process

A 429 with Retry-After is about the integration user, so every worker process must hold back,
not only the one that received it. One row per connection, holding the latest end of a pause.

Revision ID: 0004_connection_pauses
Revises: 0003_job_priority
"""
from alembic import op
import sqlalchemy as sa

revision = "0004_connection_pauses"
down_revision = "0003_job_priority"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "connection_pauses",
        sa.Column("connection_id", sa.String(length=64), nullable=False),
        sa.Column("paused_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("connection_id"),
    )


def downgrade() -> None:
    op.drop_table("connection_pauses")
