"""thread embeddings, for meaning-aware search; the outbox's own cursor for notifications

Revision ID: 0008_thread_embeddings
Revises: 0007_notifications
Create Date: 2026-11-25 17:20:00

"""
from alembic import op
import sqlalchemy as sa

from forum.models import UTCDateTime


revision = '0008_thread_embeddings'
down_revision = '0007_notifications'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'thread_embeddings',
        sa.Column('question_id', sa.Integer(), nullable=False),
        sa.Column('model', sa.String(length=40), nullable=False),
        sa.Column('digest', sa.String(length=40), nullable=False),
        sa.Column('vector', sa.LargeBinary(), nullable=False),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['question_id'], ['questions.id'], name=op.f('fk_thread_embeddings_question_id_questions'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('question_id', name=op.f('pk_thread_embeddings')),
    )
    with op.batch_alter_table('thread_embeddings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_thread_embeddings_updated_at'), ['updated_at'], unique=False)


    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notified_at', UTCDateTime(), nullable=True))
        batch_op.create_index('ix_outbox_to_notify', ['notified_at', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_to_notify')
        batch_op.drop_column('notified_at')
    op.drop_table('thread_embeddings')
