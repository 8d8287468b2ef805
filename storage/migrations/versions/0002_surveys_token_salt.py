"""surveys: token salt and length, delivery address, resolution cycle, person index

The survey link token is derived from the service secret and a random per-survey salt, so the
salt (and the token length used) must be kept; the raw token never is. `recipient` holds the
e-mail address a survey goes to while it is open and is cleared when it closes. `resolution_cycle`
(the ticket's reopen count when the survey was created) tells a repeated resolution event from a
resolution after a reopen. The person index serves the throttle.

Revision ID: 0002_surveys
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = "0002_surveys"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token_salt", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("token_bytes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("recipient", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("resolution_cycle", sa.Integer(), nullable=False, server_default="0"))
        batch_op.create_index("ix_surveys_person", ["person_key", "state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.drop_index("ix_surveys_person")
        batch_op.drop_column("resolution_cycle")
        batch_op.drop_column("recipient")
        batch_op.drop_column("token_bytes")
        batch_op.drop_column("token_salt")
