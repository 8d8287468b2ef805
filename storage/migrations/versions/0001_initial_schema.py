"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('inbox_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('connection_id', sa.String(length=64), nullable=False),
    sa.Column('delivery_id', sa.String(length=200), nullable=False),
    sa.Column('ticket_key', sa.String(length=200), nullable=False),
    sa.Column('event', sa.JSON(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('duplicates', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('connection_id', 'delivery_id', name='uq_inbox_delivery')
    )
    op.create_table('jobs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('dedupe_key', sa.String(length=400), nullable=False),
    sa.Column('connection_id', sa.String(length=64), nullable=True),
    sa.Column('ticket_key', sa.String(length=200), nullable=True),
    sa.Column('sequence', sa.BigInteger(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('next_run_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('leased_by', sa.String(length=120), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('outcome', sa.String(length=40), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedupe_key', name='uq_jobs_dedupe')
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_claim', ['state', 'next_run_at'], unique=False)
        batch_op.create_index('ix_jobs_ticket', ['connection_id', 'ticket_key', 'state'], unique=False)

    op.create_table('quarantine',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('connection_id', sa.String(length=64), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('truncated', sa.Boolean(), nullable=False),
    sa.Column('replayed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('rate_buckets',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('window_start', sa.BigInteger(), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', 'window_start')
    )
    op.create_table('survey_people',
    sa.Column('person_key', sa.String(length=128), nullable=False),
    sa.Column('last_surveyed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('opted_out_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_rating', sa.Integer(), nullable=True),
    sa.Column('last_sentiment', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('person_key')
    )
    op.create_table('surveys',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_hash', sa.String(length=128), nullable=False),
    sa.Column('connection_id', sa.String(length=64), nullable=False),
    sa.Column('ticket_key', sa.String(length=200), nullable=False),
    sa.Column('ticket_number', sa.String(length=80), nullable=True),
    sa.Column('person_key', sa.String(length=128), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reminders_sent', sa.Integer(), nullable=False),
    sa.Column('next_reminder_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution_version', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash', name='uq_survey_token')
    )
    with op.batch_alter_table('surveys', schema=None) as batch_op:
        batch_op.create_index('ix_surveys_state', ['state', 'expires_at'], unique=False)
        batch_op.create_index('ix_surveys_ticket', ['connection_id', 'ticket_key'], unique=False)

    op.create_table('ticket_scores',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('connection_id', sa.String(length=64), nullable=False),
    sa.Column('ticket_key', sa.String(length=200), nullable=False),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('band', sa.String(length=16), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('model_version', sa.String(length=32), nullable=False),
    sa.Column('from_survey', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ticket_scores', schema=None) as batch_op:
        batch_op.create_index('ix_scores_ticket', ['connection_id', 'ticket_key'], unique=False)

    op.create_table('tickets',
    sa.Column('connection_id', sa.String(length=64), nullable=False),
    sa.Column('ticket_key', sa.String(length=200), nullable=False),
    sa.Column('number', sa.String(length=80), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=True),
    sa.Column('stage', sa.String(length=20), nullable=True),
    sa.Column('caller_key', sa.String(length=200), nullable=True),
    sa.Column('service', sa.String(length=200), nullable=True),
    sa.Column('assignment_group', sa.String(length=200), nullable=True),
    sa.Column('channel', sa.String(length=80), nullable=True),
    sa.Column('ci', sa.String(length=200), nullable=True),
    sa.Column('category', sa.String(length=200), nullable=True),
    sa.Column('priority', sa.Integer(), nullable=True),
    sa.Column('major_incident', sa.Boolean(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('caller_sentiment', sa.Float(), nullable=True),
    sa.Column('writes_hour_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('writes_in_hour', sa.Integer(), nullable=False),
    sa.Column('last_version', sa.BigInteger(), nullable=True),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('band', sa.String(length=16), nullable=True),
    sa.Column('model_version', sa.String(length=32), nullable=True),
    sa.Column('written', sa.JSON(), nullable=False),
    sa.Column('notes_written', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('connection_id', 'ticket_key')
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_caller', ['caller_key', 'opened_at'], unique=False)
        batch_op.create_index('ix_tickets_ci', ['ci', 'stage'], unique=False)

    op.create_table('watermarks',
    sa.Column('connection_id', sa.String(length=64), nullable=False),
    sa.Column('polled_until', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('connection_id')
    )
    op.create_table('survey_responses',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('survey_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('lost_minutes', sa.Integer(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('sentiment_score', sa.Float(), nullable=True),
    sa.Column('sentiment_label', sa.String(length=16), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('survey_id')
    )



def downgrade() -> None:

    op.drop_table('survey_responses')
    op.drop_table('watermarks')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_ci')
        batch_op.drop_index('ix_tickets_caller')

    op.drop_table('tickets')
    with op.batch_alter_table('ticket_scores', schema=None) as batch_op:
        batch_op.drop_index('ix_scores_ticket')

    op.drop_table('ticket_scores')
    with op.batch_alter_table('surveys', schema=None) as batch_op:
        batch_op.drop_index('ix_surveys_ticket')
        batch_op.drop_index('ix_surveys_state')

    op.drop_table('surveys')
    op.drop_table('survey_people')
    op.drop_table('rate_buckets')
    op.drop_table('quarantine')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_ticket')
        batch_op.drop_index('ix_jobs_claim')

    op.drop_table('jobs')
    op.drop_table('inbox_events')

