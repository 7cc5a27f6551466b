"""initial store

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-22 11:55:06.283974
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


IMMUTABLE_SQLITE = """
CREATE TRIGGER product_version_immutable_{op} BEFORE {OP} ON product_version
BEGIN SELECT RAISE(ABORT, 'product versions are immutable: sync a new version instead'); END
"""
IMMUTABLE_PG_FUNCTION = """
CREATE FUNCTION product_version_immutable() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'product versions are immutable: sync a new version instead'; END
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table('audit_event',
    sa.Column('audit_event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('entity', sa.String(length=32), nullable=False),
    sa.Column('entity_id', sa.String(length=64), nullable=False),
    sa.Column('before', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('after', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.PrimaryKeyConstraint('audit_event_id', name=op.f('pk_audit_event'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index('ix_audit_event_entity', ['entity', 'entity_id'], unique=False)

    op.create_table('bank_file',
    sa.Column('bank_file_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('bank_code', sa.String(length=16), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('file_type', sa.String(length=24), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('message_id', sa.String(length=35), nullable=True),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.PrimaryKeyConstraint('bank_file_id', name=op.f('pk_bank_file')),
    sa.UniqueConstraint('sha256', name=op.f('uq_bank_file_sha256'))
    )
    op.create_table('business_day',
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('business_date', name=op.f('pk_business_day'))
    )
    op.create_table('customer',
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('id_type', sa.String(length=16), nullable=False),
    sa.Column('id_number', sa.String(length=32), nullable=False),
    sa.Column('mobile', sa.String(length=20), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('city', sa.String(length=64), nullable=True),
    sa.Column('is_blacklisted', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_customer')),
    sa.UniqueConstraint('id_type', 'id_number', name=op.f('uq_customer_id_type_id_number'))
    )
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_mobile'), ['mobile'], unique=False)

    op.create_table('debit_batch',
    sa.Column('debit_batch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('bank_code', sa.String(length=16), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('message_id', sa.String(length=35), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('tx_count', sa.Integer(), nullable=False),
    sa.Column('ctrl_sum_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), server_default='CNY', nullable=False),
    sa.Column('status', sa.String(length=12), server_default='written', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.PrimaryKeyConstraint('debit_batch_id', name=op.f('pk_debit_batch')),
    sa.UniqueConstraint('message_id', name=op.f('uq_debit_batch_message_id'))
    )
    with op.batch_alter_table('debit_batch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_debit_batch_business_date'), ['business_date'], unique=False)

    op.create_table('partner',
    sa.Column('partner_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('partner_code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('rating', sa.String(length=1), nullable=False),
    sa.Column('credit_limit_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('currency', sa.String(length=3), server_default='CNY', nullable=False),
    sa.Column('status', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.Column('city', sa.String(length=64), nullable=False),
    sa.Column('settlement_bank', sa.String(length=100), nullable=True),
    sa.Column('settlement_account_no', sa.String(length=64), nullable=True),
    sa.Column('settlement_account_name', sa.String(length=200), nullable=True),
    sa.Column('is_blacklisted', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.PrimaryKeyConstraint('partner_id', name=op.f('pk_partner')),
    sa.UniqueConstraint('partner_code', name=op.f('uq_partner_partner_code'))
    )
    op.create_table('product',
    sa.Column('product_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('product_code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('business_type', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.PrimaryKeyConstraint('product_id', name=op.f('pk_product')),
    sa.UniqueConstraint('product_code', name=op.f('uq_product_product_code'))
    )
    op.create_table('step_run',
    sa.Column('step_run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('step', sa.String(length=32), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('shard', sa.String(length=16), server_default='all', nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('counts', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.PrimaryKeyConstraint('step_run_id', name=op.f('pk_step_run')),
    sa.UniqueConstraint('step', 'business_date', 'shard', name=op.f('uq_step_run_step_business_date_shard'))
    )
    op.create_table('app_user',
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=24), nullable=False),
    sa.Column('partner_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('(true)'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.partner_id'], name=op.f('fk_app_user_partner_id_partner')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_app_user')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_app_user_token_hash')),
    sa.UniqueConstraint('username', name=op.f('uq_app_user_username'))
    )
    op.create_table('product_version',
    sa.Column('product_version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('product_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('terms', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('terms_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['product.product_id'], name=op.f('fk_product_version_product_id_product')),
    sa.PrimaryKeyConstraint('product_version_id', name=op.f('pk_product_version')),
    sa.UniqueConstraint('product_id', 'version', name=op.f('uq_product_version_product_id_version'))
    )
    with op.batch_alter_table('product_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_product_version_product_id'), ['product_id'], unique=False)

    op.create_table('vehicle',
    sa.Column('vehicle_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('vin', sa.String(length=17), nullable=False),
    sa.Column('model_code', sa.String(length=32), nullable=False),
    sa.Column('brand', sa.String(length=64), nullable=False),
    sa.Column('model_name', sa.String(length=100), nullable=False),
    sa.Column('condition', sa.String(length=8), nullable=False),
    sa.Column('price_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), server_default='CNY', nullable=False),
    sa.Column('inventory_status', sa.String(length=24), server_default='in_stock', nullable=False),
    sa.Column('partner_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('branch', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.partner_id'], name=op.f('fk_vehicle_partner_id_partner')),
    sa.PrimaryKeyConstraint('vehicle_id', name=op.f('pk_vehicle')),
    sa.UniqueConstraint('vin', name=op.f('uq_vehicle_vin'))
    )
    with op.batch_alter_table('vehicle', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vehicle_partner_id'), ['partner_id'], unique=False)

    op.create_table('application',
    sa.Column('application_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('application_no', sa.String(length=32), nullable=False),
    sa.Column('business_type', sa.String(length=16), nullable=False),
    sa.Column('partner_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('vehicle_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('product_version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='draft', nullable=False),
    sa.Column('price_minor', sa.BigInteger(), nullable=False),
    sa.Column('down_payment_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('deposit_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('financed_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('currency', sa.String(length=3), server_default='CNY', nullable=False),
    sa.Column('term_months', sa.Integer(), nullable=False),
    sa.Column('plan', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('is_flagged', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['app_user.user_id'], name=op.f('fk_application_created_by_app_user')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.customer_id'], name=op.f('fk_application_customer_id_customer')),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.partner_id'], name=op.f('fk_application_partner_id_partner')),
    sa.ForeignKeyConstraint(['product_version_id'], ['product_version.product_version_id'], name=op.f('fk_application_product_version_id_product_version')),
    sa.ForeignKeyConstraint(['vehicle_id'], ['vehicle.vehicle_id'], name=op.f('fk_application_vehicle_id_vehicle')),
    sa.PrimaryKeyConstraint('application_id', name=op.f('pk_application')),
    sa.UniqueConstraint('application_no', name=op.f('uq_application_application_no'))
    )
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_application_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_application_partner_id'), ['partner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_application_product_version_id'), ['product_version_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_application_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_application_vehicle_id'), ['vehicle_id'], unique=False)

    op.create_table('application_item',
    sa.Column('application_item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('application_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('item_key', sa.String(length=32), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('is_financed', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['application.application_id'], name=op.f('fk_application_item_application_id_application')),
    sa.PrimaryKeyConstraint('application_item_id', name=op.f('pk_application_item'))
    )
    with op.batch_alter_table('application_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_application_item_application_id'), ['application_id'], unique=False)

    op.create_table('approval_task',
    sa.Column('approval_task_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('application_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tier', sa.String(length=24), nullable=False),
    sa.Column('tier_seq', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='open', nullable=False),
    sa.Column('assignee_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('lock_owner_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('lock_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tags', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('reason_code', sa.String(length=32), nullable=True),
    sa.Column('decided_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['application.application_id'], name=op.f('fk_approval_task_application_id_application')),
    sa.ForeignKeyConstraint(['assignee_user_id'], ['app_user.user_id'], name=op.f('fk_approval_task_assignee_user_id_app_user')),
    sa.ForeignKeyConstraint(['decided_by'], ['app_user.user_id'], name=op.f('fk_approval_task_decided_by_app_user')),
    sa.ForeignKeyConstraint(['lock_owner_user_id'], ['app_user.user_id'], name=op.f('fk_approval_task_lock_owner_user_id_app_user')),
    sa.PrimaryKeyConstraint('approval_task_id', name=op.f('pk_approval_task'))
    )
    with op.batch_alter_table('approval_task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_approval_task_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_approval_task_status'), ['status'], unique=False)

    op.create_table('contract',
    sa.Column('contract_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('contract_no', sa.String(length=32), nullable=False),
    sa.Column('application_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('partner_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('vehicle_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('product_version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('business_type', sa.String(length=16), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('currency', sa.String(length=3), server_default='CNY', nullable=False),
    sa.Column('price_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('down_payment_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('deposit_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('financed_minor', sa.BigInteger(), nullable=False),
    sa.Column('balloon_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('term_months', sa.Integer(), nullable=False),
    sa.Column('annual_rate_ppm', sa.Integer(), nullable=False),
    sa.Column('penalty_rate_ppm', sa.Integer(), nullable=False),
    sa.Column('penalty_basis', sa.String(length=20), nullable=False),
    sa.Column('penalty_cap_ppm', sa.Integer(), nullable=True),
    sa.Column('grace_days', sa.Integer(), nullable=False),
    sa.Column('vat_rate_ppm', sa.Integer(), nullable=False),
    sa.Column('allocation_order', sa.String(length=64), nullable=False),
    sa.Column('is_roll_due_dates', sa.Boolean(), nullable=False),
    sa.Column('terms', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('maturity_date', sa.Date(), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('activated_date', sa.Date(), nullable=True),
    sa.Column('closed_date', sa.Date(), nullable=True),
    sa.Column('credit_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('dpd', sa.Integer(), server_default='0', nullable=False),
    sa.Column('bucket', sa.String(length=8), server_default='current', nullable=False),
    sa.Column('is_migrated', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['application.application_id'], name=op.f('fk_contract_application_id_application')),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.customer_id'], name=op.f('fk_contract_customer_id_customer')),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.partner_id'], name=op.f('fk_contract_partner_id_partner')),
    sa.ForeignKeyConstraint(['product_version_id'], ['product_version.product_version_id'], name=op.f('fk_contract_product_version_id_product_version')),
    sa.ForeignKeyConstraint(['vehicle_id'], ['vehicle.vehicle_id'], name=op.f('fk_contract_vehicle_id_vehicle')),
    sa.PrimaryKeyConstraint('contract_id', name=op.f('pk_contract')),
    sa.UniqueConstraint('contract_no', name=op.f('uq_contract_contract_no'))
    )
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contract_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contract_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contract_partner_id'), ['partner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contract_product_version_id'), ['product_version_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contract_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_contract_vehicle_id'), ['vehicle_id'], unique=False)

    op.create_table('decision',
    sa.Column('decision_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('application_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('reason_code', sa.String(length=32), nullable=True),
    sa.Column('rule_set_version', sa.String(length=32), nullable=True),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('grade', sa.String(length=4), nullable=True),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('decided_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['application.application_id'], name=op.f('fk_decision_application_id_application')),
    sa.ForeignKeyConstraint(['decided_by'], ['app_user.user_id'], name=op.f('fk_decision_decided_by_app_user')),
    sa.PrimaryKeyConstraint('decision_id', name=op.f('pk_decision'))
    )
    with op.batch_alter_table('decision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_decision_application_id'), ['application_id'], unique=False)

    op.create_table('instalment',
    sa.Column('instalment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('contract_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('principal_minor', sa.BigInteger(), nullable=False),
    sa.Column('interest_minor', sa.BigInteger(), nullable=False),
    sa.Column('fee_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('paid_principal_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('paid_interest_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('paid_fee_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('penalty_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('paid_penalty_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('billed_date', sa.Date(), nullable=True),
    sa.Column('paid_date', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.contract_id'], name=op.f('fk_instalment_contract_id_contract')),
    sa.PrimaryKeyConstraint('instalment_id', name=op.f('pk_instalment')),
    sa.UniqueConstraint('contract_id', 'seq', name=op.f('uq_instalment_contract_id_seq'))
    )
    with op.batch_alter_table('instalment', schema=None) as batch_op:
        batch_op.create_index('ix_instalment_billed_contract', ['contract_id'], unique=False, sqlite_where=sa.text("status = 'billed'"), postgresql_where=sa.text("status = 'billed'"))
        batch_op.create_index('ix_instalment_scheduled_due', ['due_date'], unique=False, sqlite_where=sa.text("status = 'scheduled'"), postgresql_where=sa.text("status = 'scheduled'"))

    op.create_table('mandate',
    sa.Column('mandate_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('contract_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('mandate_ref', sa.String(length=35), nullable=False),
    sa.Column('bank_code', sa.String(length=16), nullable=False),
    sa.Column('debtor_name', sa.String(length=200), nullable=False),
    sa.Column('debtor_account', sa.String(length=34), nullable=False),
    sa.Column('signed_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=12), server_default='active', nullable=False),
    sa.Column('status_reason', sa.String(length=8), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.contract_id'], name=op.f('fk_mandate_contract_id_contract')),
    sa.PrimaryKeyConstraint('mandate_id', name=op.f('pk_mandate')),
    sa.UniqueConstraint('mandate_ref', name=op.f('uq_mandate_mandate_ref'))
    )
    with op.batch_alter_table('mandate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mandate_contract_id'), ['contract_id'], unique=False)

    op.create_table('money_event',
    sa.Column('money_event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('event_type', sa.String(length=24), nullable=False),
    sa.Column('event_key', sa.String(length=96), nullable=False),
    sa.Column('contract_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('currency', sa.String(length=3), server_default='CNY', nullable=False),
    sa.Column('principal_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('interest_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('fee_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('penalty_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('vat_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('credit_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('outstanding_principal_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('batch_id', sa.String(length=48), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.contract_id'], name=op.f('fk_money_event_contract_id_contract')),
    sa.PrimaryKeyConstraint('money_event_id', name=op.f('pk_money_event')),
    sa.UniqueConstraint('event_key', name=op.f('uq_money_event_event_key'))
    )
    with op.batch_alter_table('money_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_money_event_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_money_event_business_date'), ['business_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_money_event_contract_id'), ['contract_id'], unique=False)

    op.create_table('receipt',
    sa.Column('receipt_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('contract_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('source', sa.String(length=12), nullable=False),
    sa.Column('source_ref', sa.String(length=64), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), server_default='CNY', nullable=False),
    sa.Column('value_date', sa.Date(), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=12), server_default='unapplied', nullable=False),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.contract_id'], name=op.f('fk_receipt_contract_id_contract')),
    sa.ForeignKeyConstraint(['created_by'], ['app_user.user_id'], name=op.f('fk_receipt_created_by_app_user')),
    sa.PrimaryKeyConstraint('receipt_id', name=op.f('pk_receipt')),
    sa.UniqueConstraint('source_ref', name=op.f('uq_receipt_source_ref'))
    )
    with op.batch_alter_table('receipt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_receipt_contract_id'), ['contract_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_receipt_status'), ['status'], unique=False)

    op.create_table('allocation',
    sa.Column('allocation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('receipt_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('instalment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('component', sa.String(length=12), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['instalment_id'], ['instalment.instalment_id'], name=op.f('fk_allocation_instalment_id_instalment')),
    sa.ForeignKeyConstraint(['receipt_id'], ['receipt.receipt_id'], name=op.f('fk_allocation_receipt_id_receipt')),
    sa.PrimaryKeyConstraint('allocation_id', name=op.f('pk_allocation'))
    )
    with op.batch_alter_table('allocation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_allocation_instalment_id'), ['instalment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_allocation_receipt_id'), ['receipt_id'], unique=False)

    op.create_table('debit_order',
    sa.Column('debit_order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('debit_batch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('contract_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('mandate_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('end_to_end_id', sa.String(length=35), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), server_default='CNY', nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=12), server_default='pending', nullable=False),
    sa.Column('reason_code', sa.String(length=8), nullable=True),
    sa.Column('attempt', sa.Integer(), server_default='1', nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.contract_id'], name=op.f('fk_debit_order_contract_id_contract')),
    sa.ForeignKeyConstraint(['debit_batch_id'], ['debit_batch.debit_batch_id'], name=op.f('fk_debit_order_debit_batch_id_debit_batch')),
    sa.ForeignKeyConstraint(['mandate_id'], ['mandate.mandate_id'], name=op.f('fk_debit_order_mandate_id_mandate')),
    sa.PrimaryKeyConstraint('debit_order_id', name=op.f('pk_debit_order')),
    sa.UniqueConstraint('end_to_end_id', name=op.f('uq_debit_order_end_to_end_id'))
    )
    with op.batch_alter_table('debit_order', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_debit_order_contract_id'), ['contract_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_debit_order_debit_batch_id'), ['debit_batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_debit_order_status'), ['status'], unique=False)

    op.create_table('journal_entry',
    sa.Column('journal_entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('money_event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entry_date', sa.Date(), nullable=False),
    sa.Column('event_type', sa.String(length=24), nullable=False),
    sa.Column('contract_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['money_event_id'], ['money_event.money_event_id'], name=op.f('fk_journal_entry_money_event_id_money_event')),
    sa.PrimaryKeyConstraint('journal_entry_id', name=op.f('pk_journal_entry')),
    sa.UniqueConstraint('money_event_id', name=op.f('uq_journal_entry_money_event_id'))
    )
    with op.batch_alter_table('journal_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_journal_entry_entry_date'), ['entry_date'], unique=False)

    op.create_table('journal_line',
    sa.Column('journal_line_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('journal_entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('account_code', sa.String(length=16), nullable=False),
    sa.Column('entry_date', sa.Date(), nullable=False),
    sa.Column('debit_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('credit_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('currency', sa.String(length=3), server_default='CNY', nullable=False),
    sa.ForeignKeyConstraint(['journal_entry_id'], ['journal_entry.journal_entry_id'], name=op.f('fk_journal_line_journal_entry_id_journal_entry')),
    sa.PrimaryKeyConstraint('journal_line_id', name=op.f('pk_journal_line'))
    )
    with op.batch_alter_table('journal_line', schema=None) as batch_op:
        batch_op.create_index('ix_journal_line_account_date', ['account_code', 'entry_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_journal_line_journal_entry_id'), ['journal_entry_id'], unique=False)


    # Contracts freeze their product terms by pointing at an immutable version: enforce it here.
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("update", "delete"):
            op.execute(IMMUTABLE_SQLITE.format(op=verb, OP=verb.upper()))
    else:
        op.execute(IMMUTABLE_PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER product_version_immutable BEFORE UPDATE OR DELETE ON product_version "
            "FOR EACH ROW EXECUTE FUNCTION product_version_immutable()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS product_version_immutable_update")
        op.execute("DROP TRIGGER IF EXISTS product_version_immutable_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS product_version_immutable ON product_version")
        op.execute("DROP FUNCTION IF EXISTS product_version_immutable()")
    with op.batch_alter_table('journal_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_journal_line_journal_entry_id'))
        batch_op.drop_index('ix_journal_line_account_date')

    op.drop_table('journal_line')
    with op.batch_alter_table('journal_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_journal_entry_entry_date'))

    op.drop_table('journal_entry')
    with op.batch_alter_table('debit_order', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_debit_order_status'))
        batch_op.drop_index(batch_op.f('ix_debit_order_debit_batch_id'))
        batch_op.drop_index(batch_op.f('ix_debit_order_contract_id'))

    op.drop_table('debit_order')
    with op.batch_alter_table('allocation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_allocation_receipt_id'))
        batch_op.drop_index(batch_op.f('ix_allocation_instalment_id'))

    op.drop_table('allocation')
    with op.batch_alter_table('receipt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_receipt_status'))
        batch_op.drop_index(batch_op.f('ix_receipt_contract_id'))

    op.drop_table('receipt')
    with op.batch_alter_table('money_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_money_event_contract_id'))
        batch_op.drop_index(batch_op.f('ix_money_event_business_date'))
        batch_op.drop_index(batch_op.f('ix_money_event_batch_id'))

    op.drop_table('money_event')
    with op.batch_alter_table('mandate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mandate_contract_id'))

    op.drop_table('mandate')
    with op.batch_alter_table('instalment', schema=None) as batch_op:
        batch_op.drop_index('ix_instalment_scheduled_due', sqlite_where=sa.text("status = 'scheduled'"), postgresql_where=sa.text("status = 'scheduled'"))
        batch_op.drop_index('ix_instalment_billed_contract', sqlite_where=sa.text("status = 'billed'"), postgresql_where=sa.text("status = 'billed'"))

    op.drop_table('instalment')
    with op.batch_alter_table('decision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_decision_application_id'))

    op.drop_table('decision')
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contract_vehicle_id'))
        batch_op.drop_index(batch_op.f('ix_contract_status'))
        batch_op.drop_index(batch_op.f('ix_contract_product_version_id'))
        batch_op.drop_index(batch_op.f('ix_contract_partner_id'))
        batch_op.drop_index(batch_op.f('ix_contract_customer_id'))
        batch_op.drop_index(batch_op.f('ix_contract_application_id'))

    op.drop_table('contract')
    with op.batch_alter_table('approval_task', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_approval_task_status'))
        batch_op.drop_index(batch_op.f('ix_approval_task_application_id'))

    op.drop_table('approval_task')
    with op.batch_alter_table('application_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_application_item_application_id'))

    op.drop_table('application_item')
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_application_vehicle_id'))
        batch_op.drop_index(batch_op.f('ix_application_status'))
        batch_op.drop_index(batch_op.f('ix_application_product_version_id'))
        batch_op.drop_index(batch_op.f('ix_application_partner_id'))
        batch_op.drop_index(batch_op.f('ix_application_customer_id'))

    op.drop_table('application')
    with op.batch_alter_table('vehicle', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vehicle_partner_id'))

    op.drop_table('vehicle')
    with op.batch_alter_table('product_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_product_version_product_id'))

    op.drop_table('product_version')
    op.drop_table('app_user')
    op.drop_table('step_run')
    op.drop_table('product')
    op.drop_table('partner')
    with op.batch_alter_table('debit_batch', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_debit_batch_business_date'))

    op.drop_table('debit_batch')
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_mobile'))

    op.drop_table('customer')
    op.drop_table('business_day')
    op.drop_table('bank_file')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_entity')

    op.drop_table('audit_event')
