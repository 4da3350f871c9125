"""the sentences behind each post's negativity, as the worker scored them

Revision ID: 0009_negative_reasons
Revises: 0008_thread_embeddings
Create Date: 2026-11-25 22:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0009_negative_reasons'
down_revision = '0008_thread_embeddings'
branch_labels = None
depends_on = None

TABLES = ('questions', 'answers', 'comments')


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('negative_reasons', sa.Text(), nullable=True))


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('negative_reasons')
