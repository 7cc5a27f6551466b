"""VAT on the whole rental of a direct lease: the contract's frozen VAT basis, each instalment's
VAT on principal, the money event's `principal_vat`, and the sub-ledger's deferred VAT (2221.05)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 16:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('contract', sa.Column('vat_basis', sa.String(8), nullable=False, server_default='interest'))
    op.add_column('instalment', sa.Column('principal_vat_minor', sa.BigInteger(), nullable=False, server_default='0'))
    op.add_column('money_event', sa.Column('principal_vat_minor', sa.BigInteger(), nullable=False, server_default='0'))
    op.add_column('subledger_balance', sa.Column('deferred_vat_minor', sa.BigInteger(), nullable=False, server_default='0'))


def downgrade() -> None:
    op.drop_column('subledger_balance', 'deferred_vat_minor')
    op.drop_column('money_event', 'principal_vat_minor')
    op.drop_column('instalment', 'principal_vat_minor')
    op.drop_column('contract', 'vat_basis')
