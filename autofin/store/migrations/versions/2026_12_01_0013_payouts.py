"""payouts as bank files: pain.001 batches and the payouts they carry

Money going out (a disbursement split by payee, a refund of customer credit or of a deposit) was
marked paid by a simulated gateway. Each payee's share is now a payout row, written into a pain.001
file per night and paying bank, and answered by the bank's pain.002.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 14:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def created() -> sa.Column:
    return sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    op.create_table(
        'payout_batch',
        sa.Column('payout_batch_id', BigId, autoincrement=True, nullable=False),
        sa.Column('bank_code', sa.String(16), nullable=False),
        sa.Column('business_date', sa.Date(), nullable=False),
        sa.Column('message_id', sa.String(35), nullable=False),
        sa.Column('file_name', sa.String(200), nullable=False),
        sa.Column('tx_count', sa.Integer(), nullable=False),
        sa.Column('ctrl_sum_minor', sa.BigInteger(), nullable=False),
        sa.Column('currency', sa.String(3), nullable=False, server_default='CNY'),
        sa.Column('status', sa.String(12), nullable=False, server_default='written'),
        created(),
        sa.PrimaryKeyConstraint('payout_batch_id', name=op.f('pk_payout_batch')),
        sa.UniqueConstraint('message_id', name=op.f('uq_payout_batch_message_id')),
    )
    op.create_index(op.f('ix_payout_batch_business_date'), 'payout_batch', ['business_date'])
    op.create_table(
        'payout',
        sa.Column('payout_id', BigId, autoincrement=True, nullable=False),
        sa.Column('kind', sa.String(16), nullable=False),
        sa.Column('contract_id', BigId, nullable=False),
        sa.Column('disbursement_id', BigId, nullable=True),
        sa.Column('post_lease_request_id', BigId, nullable=True),
        sa.Column('payee_kind', sa.String(16), nullable=False),
        sa.Column('payee_name', sa.String(140), nullable=False),
        sa.Column('payee_account_no', sa.String(34), nullable=False),
        sa.Column('payee_bank', sa.String(140), nullable=False),
        sa.Column('amount_minor', sa.BigInteger(), nullable=False),
        sa.Column('currency', sa.String(3), nullable=False, server_default='CNY'),
        sa.Column('bank_code', sa.String(16), nullable=False),
        sa.Column('end_to_end_id', sa.String(35), nullable=True),
        sa.Column('attempt', sa.Integer(), nullable=False, server_default='1'),
        sa.Column('payout_batch_id', BigId, nullable=True),
        sa.Column('business_date', sa.Date(), nullable=False),
        sa.Column('status', sa.String(12), nullable=False, server_default='pending'),
        sa.Column('reason_code', sa.String(8), nullable=True),
        sa.Column('paid_date', sa.Date(), nullable=True),
        sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
        created(),
        sa.ForeignKeyConstraint(['contract_id'], ['contract.contract_id'], name=op.f('fk_payout_contract_id_contract')),
        sa.ForeignKeyConstraint(['disbursement_id'], ['disbursement.disbursement_id'], name=op.f('fk_payout_disbursement_id_disbursement')),
        sa.ForeignKeyConstraint(['post_lease_request_id'], ['post_lease_request.post_lease_request_id'],
                                name=op.f('fk_payout_post_lease_request_id_post_lease_request')),
        sa.ForeignKeyConstraint(['payout_batch_id'], ['payout_batch.payout_batch_id'], name=op.f('fk_payout_payout_batch_id_payout_batch')),
        sa.PrimaryKeyConstraint('payout_id', name=op.f('pk_payout')),
        sa.UniqueConstraint('end_to_end_id', name=op.f('uq_payout_end_to_end_id')),
    )
    for column in ('contract_id', 'disbursement_id', 'post_lease_request_id', 'payout_batch_id', 'status'):
        op.create_index(op.f(f'ix_payout_{column}'), 'payout', [column])


def downgrade() -> None:
    op.drop_table('payout')
    op.drop_table('payout_batch')
