"""nightly cycle

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 12:11:20.824035
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reconciliation_break',
    sa.Column('reconciliation_break_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('bank_code', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=True),
    sa.Column('bank_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('book_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('status', sa.String(length=8), server_default='open', nullable=False),
    sa.PrimaryKeyConstraint('reconciliation_break_id', name=op.f('pk_reconciliation_break'))
    )
    with op.batch_alter_table('reconciliation_break', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reconciliation_break_business_date'), ['business_date'], unique=False)

    op.create_table('voucher_export',
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('entries', sa.Integer(), nullable=False),
    sa.Column('lines', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.PrimaryKeyConstraint('business_date', name=op.f('pk_voucher_export'))
    )
    op.create_table('bank_statement_line',
    sa.Column('bank_statement_line_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('bank_file_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('bank_code', sa.String(length=16), nullable=False),
    sa.Column('booking_date', sa.Date(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), server_default='CNY', nullable=False),
    sa.Column('is_credit', sa.Boolean(), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=8), server_default='break', nullable=False),
    sa.ForeignKeyConstraint(['bank_file_id'], ['bank_file.bank_file_id'], name=op.f('fk_bank_statement_line_bank_file_id_bank_file')),
    sa.PrimaryKeyConstraint('bank_statement_line_id', name=op.f('pk_bank_statement_line'))
    )
    with op.batch_alter_table('bank_statement_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_statement_line_bank_file_id'), ['bank_file_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_statement_line_booking_date'), ['booking_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_statement_line_reference'), ['reference'], unique=False)

    op.create_table('collection_case',
    sa.Column('collection_case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('contract_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('opened_date', sa.Date(), nullable=False),
    sa.Column('closed_date', sa.Date(), nullable=True),
    sa.Column('bucket_at_open', sa.String(length=8), nullable=False),
    sa.Column('worst_bucket', sa.String(length=8), nullable=False),
    sa.Column('worst_dpd', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['contract.contract_id'], name=op.f('fk_collection_case_contract_id_contract')),
    sa.PrimaryKeyConstraint('collection_case_id', name=op.f('pk_collection_case'))
    )
    with op.batch_alter_table('collection_case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_collection_case_contract_id'), ['contract_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_collection_case_status'), ['status'], unique=False)

    with op.batch_alter_table('instalment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('penalty_through_date', sa.Date(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('instalment', schema=None) as batch_op:
        batch_op.drop_column('penalty_through_date')

    with op.batch_alter_table('collection_case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_collection_case_status'))
        batch_op.drop_index(batch_op.f('ix_collection_case_contract_id'))

    op.drop_table('collection_case')
    with op.batch_alter_table('bank_statement_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_statement_line_reference'))
        batch_op.drop_index(batch_op.f('ix_bank_statement_line_booking_date'))
        batch_op.drop_index(batch_op.f('ix_bank_statement_line_bank_file_id'))

    op.drop_table('bank_statement_line')
    op.drop_table('voucher_export')
    with op.batch_alter_table('reconciliation_break', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reconciliation_break_business_date'))

    op.drop_table('reconciliation_break')
