"""notifications: inbox, watches, follows, mail preferences, nudges

Revision ID: 0007_notifications
Revises: 0006_outbox
Create Date: 2026-11-25 17:00:00

"""
from alembic import op
import sqlalchemy as sa

from forum.models import UTCDateTime


revision = '0007_notifications'
down_revision = '0006_outbox'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest_sent_at', UTCDateTime(), nullable=True))
    op.create_index(
        'ix_users_mention_name',
        'users',
        [sa.text("lower(replace(display_name, ' ', ''))")],
        unique=False,
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('detail', sa.Text(), nullable=True))

    op.create_table(
        'notifications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('question_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=40), nullable=False),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.Column('post', sa.String(length=40), nullable=True),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('detail', sa.String(length=300), server_default='', nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('read_at', UTCDateTime(), nullable=True),
        sa.Column('email_state', sa.String(length=8), nullable=False),
        sa.Column('emailed_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_notifications_actor_id_users'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['question_id'], ['questions.id'], name=op.f('fk_notifications_question_id_questions'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
        sa.UniqueConstraint('user_id', 'key', name='uq_notifications_user_key'),
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_inbox', ['user_id', 'read_at', 'id'], unique=False)
        batch_op.create_index('ix_notifications_mail', ['email_state', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_question_id'), ['question_id'], unique=False)

    op.create_table(
        'watches',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('question_id', sa.Integer(), nullable=False),
        sa.Column('level', sa.String(length=8), nullable=False),
        sa.Column('reason', sa.String(length=12), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['question_id'], ['questions.id'], name=op.f('fk_watches_question_id_questions'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_watches_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_watches')),
        sa.UniqueConstraint('user_id', 'question_id', name='uq_watches_user_question'),
    )
    with op.batch_alter_table('watches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_watches_question_id'), ['question_id'], unique=False)

    op.create_table(
        'follows',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=True),
        sa.Column('tag_id', sa.Integer(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.CheckConstraint('(product_id IS NULL) <> (tag_id IS NULL)', name=op.f('ck_follows_one_target')),
        sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_follows_product_id_products'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['tag_id'], ['tags.id'], name=op.f('fk_follows_tag_id_tags'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_follows_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_follows')),
        sa.UniqueConstraint('user_id', 'product_id', name='uq_follows_user_product'),
        sa.UniqueConstraint('user_id', 'tag_id', name='uq_follows_user_tag'),
    )
    with op.batch_alter_table('follows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_follows_product_id'), ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_follows_tag_id'), ['tag_id'], unique=False)

    op.create_table(
        'mail_preferences',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('topic', sa.String(length=16), nullable=False),
        sa.Column('delivery', sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_mail_preferences_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'topic', name=op.f('pk_mail_preferences')),
    )

    op.create_table(
        'nudges',
        sa.Column('question_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('sent_at', UTCDateTime(), nullable=False),
        sa.Column('escalated_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['question_id'], ['questions.id'], name=op.f('fk_nudges_question_id_questions'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_nudges_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('question_id', name=op.f('pk_nudges')),
    )


def downgrade():
    op.drop_table('nudges')
    op.drop_table('mail_preferences')
    op.drop_table('follows')
    op.drop_table('watches')
    op.drop_table('notifications')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('detail')
    op.drop_index('ix_users_mention_name', table_name='users')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('digest_sent_at')
