"""the receipts still to apply, by contract: a partial index in place of the index of every receipt's status

The night's allocation reads the unapplied receipts (each contract's oldest first); the post-lease
checks ask whether a contract has one. The index of every receipt's status held every receipt ever,
and applying a receipt moved its entry from 'unapplied' to 'applied' (828k on the worst Tuesday at
1M). The partial index holds only the receipts still to apply, keyed (contract_id, business_date):
an applied receipt leaves it, and it stays as small as a night's receipts.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-03 14:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0034'
down_revision = '0033'
branch_labels = None
depends_on = None

UNAPPLIED = sa.text("status = 'unapplied'")


def upgrade() -> None:
    op.drop_index('ix_receipt_status', table_name='receipt')
    op.create_index('ix_receipt_unapplied', 'receipt', ['contract_id', 'business_date'], sqlite_where=UNAPPLIED, postgresql_where=UNAPPLIED)


def downgrade() -> None:
    op.drop_index('ix_receipt_unapplied', table_name='receipt')
    op.create_index('ix_receipt_status', 'receipt', ['status'])
