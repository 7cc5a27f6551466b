"""the billed instalments' partial index holds their status too: the DPD read from it alone

Every night delinquency computes each contract's DPD from the oldest due date it owes on, and the
day close checks it the same way: `status = 'billed' AND due_date < D`, grouped by contract. The
partial index (contract_id, due_date) WHERE status = 'billed' has every column that reading needs
but the status, and the SQLite this store runs on (3.40) does not take a column named only in the
index's own condition as covered: each billed instalment was looked up in the table by its key
("SCAN i USING INDEX", a million lookups on the one-due-day book's Tuesday). With the status in the
index the plan reads it alone ("USING COVERING INDEX").

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-03 05:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None

BILLED = sa.text("status = 'billed'")


def upgrade() -> None:
    op.drop_index('ix_instalment_billed_contract', table_name='instalment')
    op.create_index('ix_instalment_billed_contract', 'instalment', ['contract_id', 'due_date', 'status'], sqlite_where=BILLED,
                    postgresql_where=BILLED)


def downgrade() -> None:
    op.drop_index('ix_instalment_billed_contract', table_name='instalment')
    op.create_index('ix_instalment_billed_contract', 'instalment', ['contract_id', 'due_date'], sqlite_where=BILLED, postgresql_where=BILLED)
