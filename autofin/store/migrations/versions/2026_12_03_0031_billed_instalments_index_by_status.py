"""the billed instalments' partial index keyed (contract_id, status, due_date): a contract's billed
instalments are read from it, not from every instalment of the contract

Allocation, the debit orders, the arrears of a collection case and the deposits at term end read a
contract's billed instalments: `contract_id = X AND status = 'billed'`. SQLite plans without
statistics; with the index as 0029 made it, (contract_id, due_date, status), it and the
(contract_id, seq) index each matched one equality, and SQLite took the latter (with 0026's
(contract_id, due_date) it had taken the partial index), reading every instalment of the contract.
Since 0028 keeps the instalments in due-date order, that is a page for each: at 1M the typical
Tuesday's allocation went from 23 to 79 s and the worst Tuesday's from 83 to 194 s. With the status
second the partial index matches two equalities and is taken; the DPD reads (`status = 'billed' AND
due_date < D`, by contract) stay covered by it.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-03 07:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None

BILLED = sa.text("status = 'billed'")


def upgrade() -> None:
    op.drop_index('ix_instalment_billed_contract', table_name='instalment')
    op.create_index('ix_instalment_billed_contract', 'instalment', ['contract_id', 'status', 'due_date'], sqlite_where=BILLED,
                    postgresql_where=BILLED)


def downgrade() -> None:
    op.drop_index('ix_instalment_billed_contract', table_name='instalment')
    op.create_index('ix_instalment_billed_contract', 'instalment', ['contract_id', 'due_date', 'status'], sqlite_where=BILLED,
                    postgresql_where=BILLED)
