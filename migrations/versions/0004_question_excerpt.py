"""question excerpt and revision kept at write time; indexes for list filters

Revision ID: 0004_question_excerpt
Revises: 0003_moderation
Create Date: 2026-11-23 15:30:00

"""
from alembic import op
import sqlalchemy as sa

from forum.markup import excerpt


revision = '0004_question_excerpt'
down_revision = '0003_moderation'
branch_labels = None
depends_on = None

BATCH = 2000


def upgrade():
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('excerpt', sa.String(length=200), server_default='', nullable=False))
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_index('ix_questions_unanswered_activity', ['answer_count', 'last_activity_at'], unique=False)
        batch_op.create_index('ix_questions_verified', ['verified_answer_id'], unique=False)
        batch_op.drop_index('ix_questions_activity')
        batch_op.create_index('ix_questions_activity', ['last_activity_at', 'deleted_at', 'hidden_at'], unique=False)

    # Fill the excerpt of existing questions from their sanitised bodies, in batches.
    connection = op.get_bind()
    questions = sa.table('questions', sa.column('id', sa.Integer), sa.column('body_html', sa.Text),
                         sa.column('excerpt', sa.String))
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(questions.c.id, questions.c.body_html)
            .where(questions.c.id > last_id).order_by(questions.c.id).limit(BATCH)
        ).all()
        if not rows:
            break
        connection.execute(
            questions.update().where(questions.c.id == sa.bindparam('qid'))
            .values(excerpt=sa.bindparam('text')),
            [{'qid': id_, 'text': excerpt(body or '')} for id_, body in rows],
        )
        last_id = rows[-1][0]

    # SQLite plans from statistics only ANALYZE gathers (PostgreSQL's autovacuum keeps its
    # own): without them it may sort the whole table for the home list.
    if connection.dialect.name == 'sqlite':
        connection.exec_driver_sql('ANALYZE')


def downgrade():
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.drop_index('ix_questions_activity')
        batch_op.create_index('ix_questions_activity', ['last_activity_at'], unique=False)
        batch_op.drop_index('ix_questions_verified')
        batch_op.drop_index('ix_questions_unanswered_activity')
        batch_op.drop_column('revision')
        batch_op.drop_column('excerpt')
