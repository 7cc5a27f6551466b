"""entry api

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 14:17:44.354409
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('idempotency_key',
    sa.Column('idempotency_key_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('idem_key', sa.String(length=128), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('path', sa.String(length=200), nullable=False),
    sa.Column('request_sha256', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.user_id'], name=op.f('fk_idempotency_key_user_id_app_user')),
    sa.PrimaryKeyConstraint('idempotency_key_id', name=op.f('pk_idempotency_key')),
    sa.UniqueConstraint('user_id', 'idem_key', name=op.f('uq_idempotency_key_user_id_idem_key'))
    )
    op.create_table('partner_history',
    sa.Column('partner_history_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('partner_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('field', sa.String(length=32), nullable=False),
    sa.Column('old_value', sa.String(length=200), nullable=True),
    sa.Column('new_value', sa.String(length=200), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('changed_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('changed_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['changed_by'], ['app_user.user_id'], name=op.f('fk_partner_history_changed_by_app_user')),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.partner_id'], name=op.f('fk_partner_history_partner_id_partner')),
    sa.PrimaryKeyConstraint('partner_history_id', name=op.f('pk_partner_history'))
    )
    with op.batch_alter_table('partner_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_history_partner_id'), ['partner_id'], unique=False)

    op.create_table('document',
    sa.Column('document_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('application_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('doc_type', sa.String(length=24), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['application.application_id'], name=op.f('fk_document_application_id_application')),
    sa.ForeignKeyConstraint(['uploaded_by'], ['app_user.user_id'], name=op.f('fk_document_uploaded_by_app_user')),
    sa.PrimaryKeyConstraint('document_id', name=op.f('pk_document'))
    )
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_document_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_document_sha256'), ['sha256'], unique=False)

    # plain ADD COLUMNs (no table rebuild): a rebuild of `customer` would have to drop a table that
    # applications and contracts reference, which SQLite refuses on a store with data
    op.add_column('application', sa.Column('monthly_income_minor', sa.BigInteger(), nullable=True))
    op.add_column('application', sa.Column('start_date', sa.Date(), nullable=True))
    op.add_column('application', sa.Column('flag_reason', sa.String(length=200), nullable=True))
    if op.get_bind().dialect.name == 'sqlite':  # SQLite adds a column with its foreign key in one statement, or not at all
        op.execute('ALTER TABLE customer ADD COLUMN partner_id INTEGER '
                   'CONSTRAINT fk_customer_partner_id_partner REFERENCES partner (partner_id)')
    else:
        op.add_column('customer', sa.Column('partner_id', sa.BigInteger(),
                                            sa.ForeignKey('partner.partner_id', name=op.f('fk_customer_partner_id_partner')), nullable=True))
    op.create_index(op.f('ix_customer_partner_id'), 'customer', ['partner_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_customer_partner_id_partner'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_customer_partner_id'))
        batch_op.drop_column('partner_id')

    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.drop_column('flag_reason')
        batch_op.drop_column('start_date')
        batch_op.drop_column('monthly_income_minor')

    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_document_sha256'))
        batch_op.drop_index(batch_op.f('ix_document_application_id'))

    op.drop_table('document')
    with op.batch_alter_table('partner_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partner_history_partner_id'))

    op.drop_table('partner_history')
    op.drop_table('idempotency_key')
