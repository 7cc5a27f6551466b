"""the billed instalments' partial index carries their sequence, amounts and what was paid of them

The billed-and-unpaid instalments (~200k of the 1M book's 36M) are read by every night's
penalties (each one's basis), the close's check of overpayment, the arrears of reminders and
collection cases, and the debit orders' amounts due. The index gave their keys; each row's
amounts were then looked up in the table, which SQLite keeps in due-date order (0028): a page
each. With the amounts in the index the reads are the index alone. The sequence is there too: the
allocation's waterfall orders a contract's bills by due date and sequence, and without it (the
index then covering nothing it read) SQLite, planning without statistics, took the wider index
for the costlier and read every instalment of the contract by (contract_id, seq) instead: the 1M
Tuesday's allocation 16–18 → 38–39 s. On a copy of the 1M Sunday
(2026-11-22): penalties 2.7–3.5 → 1.7–1.9 s, the close 0.81–0.87 → 0.44–0.46 s, delinquency
0.88–1.01 → 0.61–0.62 s. The index holds only billed instalments, so it stays small (~200k
entries); an instalment paid in full leaves it as before. PostgreSQL has the same index (one
definition; its updates of what was paid were not HOT before either: the overpayment candidates'
partial index names those columns).

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-04 05:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0038'
down_revision = '0037'
branch_labels = None
depends_on = None

BILLED = sa.text("status = 'billed'")
KEY = ['contract_id', 'status', 'due_date']
AMOUNTS = ['seq', 'principal_minor', 'interest_minor', 'fee_minor', 'paid_principal_minor', 'paid_interest_minor', 'paid_fee_minor',
           'paid_penalty_minor']


def upgrade() -> None:
    op.drop_index('ix_instalment_billed_contract', table_name='instalment')
    op.create_index('ix_instalment_billed_contract', 'instalment', KEY + AMOUNTS, sqlite_where=BILLED, postgresql_where=BILLED)


def downgrade() -> None:
    op.drop_index('ix_instalment_billed_contract', table_name='instalment')
    op.create_index('ix_instalment_billed_contract', 'instalment', KEY, sqlite_where=BILLED, postgresql_where=BILLED)
