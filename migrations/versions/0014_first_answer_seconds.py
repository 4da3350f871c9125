"""first-answer times as whole seconds after the question, for the dashboard's index

Revision ID: 0014_first_answer_seconds
Revises: 0013_dashboard_indexes
Create Date: 2026-11-26 01:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0014_first_answer_seconds'
down_revision = '0013_dashboard_indexes'
branch_labels = None
depends_on = None

OLD = ['created_at', 'deleted_at', 'hidden_at', 'first_answer_at', 'first_staff_answer_at',
       'accepted_answer_id', 'verified_answer_id']
NEW = ['created_at', 'deleted_at', 'hidden_at', 'first_answer_seconds',
       'first_staff_answer_seconds', 'accepted_answer_id', 'verified_answer_id']


def _seconds(column: str) -> str:
    if op.get_bind().dialect.name == "postgresql":
        return f"CAST(ROUND(EXTRACT(EPOCH FROM ({column} - created_at))) AS INTEGER)"
    return f"CAST(ROUND((julianday({column}) - julianday(created_at)) * 86400.0) AS INTEGER)"


def _indexes(columns: list[str]) -> None:
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.drop_index('ix_questions_dashboard')
        batch_op.drop_index('ix_questions_product_dashboard')
        batch_op.create_index('ix_questions_dashboard', columns, unique=False)
        batch_op.create_index('ix_questions_product_dashboard', ['product_id', *columns], unique=False)


def upgrade():
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_answer_seconds', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('first_staff_answer_seconds', sa.Integer(), nullable=True))
    op.execute(
        f"UPDATE questions SET first_answer_seconds = {_seconds('first_answer_at')},"
        f" first_staff_answer_seconds = {_seconds('first_staff_answer_at')}"
        " WHERE first_answer_at IS NOT NULL OR first_staff_answer_at IS NOT NULL"
    )
    _indexes(NEW)


def downgrade():
    _indexes(OLD)
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.drop_column('first_staff_answer_seconds')
        batch_op.drop_column('first_answer_seconds')
