"""reputation: a ledger of what others said of each person's posts, and its total; badges;
staff's thank-you notes

Revision ID: 0010_reputation
Revises: 0009_negative_reasons
Create Date: 2026-11-25 23:00:00

"""
from alembic import op
import sqlalchemy as sa

from forum.models import UTCDateTime


revision = '0010_reputation'
down_revision = '0009_negative_reasons'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reputation', sa.Integer(), server_default='0', nullable=False))
    op.create_table(
        'reputation_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('question_id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=60), nullable=False),
        sa.Column('reason', sa.String(length=16), nullable=False),
        sa.Column('post', sa.String(length=40), nullable=False),
        sa.Column('points', sa.Integer(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_reputation_events_user_id_users'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['question_id'], ['questions.id'], name=op.f('fk_reputation_events_question_id_questions'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reputation_events')),
        sa.UniqueConstraint('source', name=op.f('uq_reputation_events_source')),
    )
    with op.batch_alter_table('reputation_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reputation_events_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reputation_events_question_id'), ['question_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reputation_events_created_at'), ['created_at'], unique=False)


    op.create_table(
        'badges',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.Column('scope', sa.String(length=60), nullable=False),
        sa.Column('label', sa.String(length=120), nullable=False),
        sa.Column('question_id', sa.Integer(), nullable=True),
        sa.Column('awarded_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_badges_user_id_users'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['question_id'], ['questions.id'], name=op.f('fk_badges_question_id_questions'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_badges')),
        sa.UniqueConstraint('user_id', 'kind', 'scope', name='uq_badges_once'),
    )
    with op.batch_alter_table('badges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_badges_user_id'), ['user_id'], unique=False)
    op.create_table(
        'thank_yous',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('staff_id', sa.Integer(), nullable=False),
        sa.Column('question_id', sa.Integer(), nullable=False),
        sa.Column('answer_id', sa.Integer(), nullable=False),
        sa.Column('message', sa.String(length=500), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_thank_yous_user_id_users'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['staff_id'], ['users.id'], name=op.f('fk_thank_yous_staff_id_users'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['question_id'], ['questions.id'], name=op.f('fk_thank_yous_question_id_questions'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['answer_id'], ['answers.id'], name=op.f('fk_thank_yous_answer_id_answers'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_thank_yous')),
    )
    with op.batch_alter_table('thank_yous', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_thank_yous_user_id'), ['user_id'], unique=False)


def downgrade():
    op.drop_table('thank_yous')
    op.drop_table('badges')
    op.drop_table('reputation_events')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('reputation')
