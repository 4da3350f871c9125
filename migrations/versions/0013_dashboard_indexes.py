"""indexes that let the dashboard read a period's threads, the backlog and hidden posts without
the wide rows

Revision ID: 0013_dashboard_indexes
Revises: 0012_scheduler_and_posting_keys
Create Date: 2026-11-26 01:35:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0013_dashboard_indexes'
down_revision = '0012_scheduler_and_posting_keys'
branch_labels = None
depends_on = None

DASHBOARD = ['created_at', 'deleted_at', 'hidden_at', 'first_answer_at', 'first_staff_answer_at',
             'accepted_answer_id', 'verified_answer_id']
HIDDEN = sa.text('hidden_at IS NOT NULL')


def upgrade():
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.drop_index('ix_questions_product_created')
        batch_op.create_index('ix_questions_dashboard', DASHBOARD, unique=False)
        batch_op.create_index('ix_questions_product_dashboard', ['product_id', *DASHBOARD], unique=False)
        batch_op.create_index('ix_questions_backlog', ['first_answer_at', 'deleted_at', 'hidden_at', 'product_id', 'created_at'], unique=False)
    for table in ('questions', 'answers', 'comments'):
        op.create_index(f'ix_{table}_hidden', table, ['hidden_at'], unique=False,
                        sqlite_where=HIDDEN, postgresql_where=HIDDEN)
    op.create_index('ix_answers_id_author', 'answers', ['id', 'author_id'], unique=False)


def downgrade():
    op.drop_index('ix_answers_id_author', table_name='answers')
    for table in ('questions', 'answers', 'comments'):
        op.drop_index(f'ix_{table}_hidden', table_name=table)
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.drop_index('ix_questions_backlog')
        batch_op.drop_index('ix_questions_product_dashboard')
        batch_op.drop_index('ix_questions_dashboard')
        batch_op.create_index('ix_questions_product_created', ['product_id', 'created_at'], unique=False)
