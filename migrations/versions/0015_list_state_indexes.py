"""partial indexes for the verified and the answered-not-solved lists and their counts

Revision ID: 0015_list_state_indexes
Revises: 0014_first_answer_seconds
Create Date: 2026-12-04 19:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0015_list_state_indexes'
down_revision = '0014_first_answer_seconds'
branch_labels = None
depends_on = None

VERIFIED = sa.text('verified_answer_id IS NOT NULL')
OPEN = sa.text('accepted_answer_id IS NULL AND verified_answer_id IS NULL')


def _where(condition):
    return {'sqlite_where': condition, 'postgresql_where': condition}


def upgrade():
    op.drop_index('ix_questions_verified', table_name='questions')
    op.create_index('ix_questions_verified', 'questions', ['verified_answer_id'], unique=False,
                    **_where(VERIFIED))
    op.create_index('ix_questions_verified_activity', 'questions',
                    ['last_activity_at', 'deleted_at', 'hidden_at'], unique=False,
                    **_where(VERIFIED))
    op.create_index('ix_questions_open_activity', 'questions',
                    ['last_activity_at', 'deleted_at', 'hidden_at', 'answer_count'],
                    unique=False, **_where(OPEN))


def downgrade():
    op.drop_index('ix_questions_open_activity', table_name='questions')
    op.drop_index('ix_questions_verified_activity', table_name='questions')
    op.drop_index('ix_questions_verified', table_name='questions')
    op.create_index('ix_questions_verified', 'questions', ['verified_answer_id'], unique=False)
