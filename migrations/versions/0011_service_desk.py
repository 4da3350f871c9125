"""the service desk: first-answer times on each thread, archived products, admin audit entries
without a thread, live settings, and self-service events with their daily roll-up

Revision ID: 0011_service_desk
Revises: 0010_reputation
Create Date: 2026-11-26 01:15:00

"""
from alembic import op
import sqlalchemy as sa

from forum.models import UTCDateTime


revision = '0011_service_desk'
down_revision = '0010_reputation'
branch_labels = None
depends_on = None

STAFF = "('staff', 'moderator', 'admin')"


def upgrade():
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_answer_at', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('first_staff_answer_at', UTCDateTime(), nullable=True))
        batch_op.create_index('ix_questions_product_created', ['product_id', 'created_at'], unique=False)
    visible = "a.deleted_at IS NULL AND a.hidden_at IS NULL"
    op.execute(
        "UPDATE questions SET"
        " first_answer_at = (SELECT min(a.created_at) FROM answers a WHERE a.question_id = questions.id"
        f" AND {visible} AND a.author_id <> questions.author_id),"
        " first_staff_answer_at = (SELECT min(a.created_at) FROM answers a JOIN users u ON u.id = a.author_id"
        f" WHERE a.question_id = questions.id AND {visible} AND u.role IN {STAFF})"
    )
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('archived_at', UTCDateTime(), nullable=True))
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.alter_column('question_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(batch_op.f('ix_audit_log_created_at'), ['created_at'], unique=False)
    op.create_table(
        'site_settings',
        sa.Column('key', sa.String(length=40), nullable=False),
        sa.Column('value', sa.String(length=200), nullable=False),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_site_settings_updated_by_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_site_settings')),
    )
    op.create_table(
        'self_service_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('visitor', sa.String(length=40), nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=True),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_self_service_events_product_id_products'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_self_service_events')),
    )
    with op.batch_alter_table('self_service_events', schema=None) as batch_op:
        batch_op.create_index('ix_self_service_events_day', ['day', 'visitor'], unique=False)
    op.create_table(
        'self_service_days',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('product_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('looks', sa.Integer(), nullable=False),
        sa.Column('deflected', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('day', 'product_id', name=op.f('pk_self_service_days')),
    )


def downgrade():
    op.drop_table('self_service_days')
    with op.batch_alter_table('self_service_events', schema=None) as batch_op:
        batch_op.drop_index('ix_self_service_events_day')
    op.drop_table('self_service_events')
    op.drop_table('site_settings')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_created_at'))
        batch_op.alter_column('question_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_column('archived_at')
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.drop_index('ix_questions_product_created')
        batch_op.drop_column('first_staff_answer_at')
        batch_op.drop_column('first_answer_at')
