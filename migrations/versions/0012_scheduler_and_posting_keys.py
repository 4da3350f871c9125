"""one scheduler for the periodic jobs across hosts; one-time keys that make posting idempotent

Revision ID: 0012_scheduler_and_posting_keys
Revises: 0011_service_desk
Create Date: 2026-11-26 01:30:00

"""
from alembic import op
import sqlalchemy as sa

from forum.models import UTCDateTime


revision = '0012_scheduler_and_posting_keys'
down_revision = '0011_service_desk'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'scheduled_jobs',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('last_started_at', UTCDateTime(), nullable=True),
        sa.Column('last_finished_at', UTCDateTime(), nullable=True),
        sa.Column('runs', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduled_jobs')),
    )
    op.create_table(
        'posting_keys',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('location', sa.String(length=200), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_posting_keys_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'key', name=op.f('pk_posting_keys')),
    )
    with op.batch_alter_table('posting_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_posting_keys_created_at'), ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('posting_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_posting_keys_created_at'))
    op.drop_table('posting_keys')
    op.drop_table('scheduled_jobs')
