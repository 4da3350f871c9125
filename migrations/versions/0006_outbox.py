"""outbox: what each transaction changed, for the worker

Revision ID: 0006_outbox
Revises: 0005_login_sessions
Create Date: 2026-11-25 14:00:00

"""
from alembic import op
import sqlalchemy as sa

from forum.models import UTCDateTime


revision = '0006_outbox'
down_revision = '0005_login_sessions'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('question_id', sa.Integer(), nullable=False),
        sa.Column('revision', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('post', sa.String(length=40), nullable=True),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('available_at', UTCDateTime(), nullable=False),
        sa.Column('processed_at', UTCDateTime(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_outbox_actor_id_users'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['question_id'], ['questions.id'], name=op.f('fk_outbox_question_id_questions'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_pending', ['processed_at', 'available_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_question_id'), ['question_id'], unique=False)


def downgrade():
    op.drop_table('outbox')
