"""the sub-ledger balances kept by the money events, not recomputed from the instalments each night

Each contract's kept sub-ledger balance (subledger_balance) was recomputed from all its instalments
for every contract posted to, each night: 40 s of a night at 1M contracts when the whole book is
due, 5-11 s of a typical one for the contracts accruing penalty. `post_batch` now adds each batch's
events' effect on the control accounts to the kept rows, so nothing is recomputed at night; the
full-book check holds the rows to the instalments, and the close holds to theirs the contracts
posted to by a batch of per-event vouchers (the queue's new `recheck` mark: the API's money moves,
a few a night). The queue loses its `refreshed` mark. Every row is recomputed here once from the
instalments, so the kept balances start from the book as it is, and the queued contracts are all
rechecked at the next close.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 19:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

# the sub-ledger balances as the code of 0017 computes them (frozen here: later code may change)
FROM_INSTALMENTS = {
    "unbilled_principal_minor": "CASE WHEN i.status = 'scheduled' THEN i.principal_minor ELSE 0 END",
    "principal_minor": "CASE WHEN i.status IN ('billed', 'paid') THEN i.principal_minor - i.paid_principal_minor ELSE 0 END",
    "interest_minor": "CASE WHEN i.status IN ('billed', 'paid') THEN i.interest_minor - i.paid_interest_minor ELSE 0 END",
    "fee_minor": "CASE WHEN i.status IN ('billed', 'paid') THEN i.fee_minor - i.paid_fee_minor ELSE 0 END",
    "penalty_minor": "CASE WHEN i.status <> 'written_off' THEN i.penalty_minor - i.paid_penalty_minor ELSE 0 END",
    "deferred_vat_minor": "CASE WHEN i.status = 'scheduled' THEN i.principal_vat_minor ELSE 0 END",
}
FROM_CONTRACT = {"credit_minor": "c.credit_minor", "suspense_minor": "c.suspended_interest_minor + c.suspended_penalty_minor",
                 "deposit_minor": "c.deposit_held_minor"}


def upgrade() -> None:
    sums = ", ".join(f"SUM({expr}) AS {name}" for name, expr in FROM_INSTALMENTS.items())
    picks = ", ".join(f"COALESCE(s.{name}, 0)" for name in FROM_INSTALMENTS)
    held = ", ".join(FROM_CONTRACT.values())
    op.execute("DELETE FROM subledger_balance")
    op.execute(
        f"INSERT INTO subledger_balance (contract_id, {', '.join([*FROM_INSTALMENTS, *FROM_CONTRACT])}) "
        f"SELECT c.contract_id, {picks}, {held} FROM contract c LEFT JOIN "
        f"(SELECT i.contract_id, {sums} FROM instalment i GROUP BY i.contract_id) s ON s.contract_id = c.contract_id"
    )
    op.drop_column('subledger_dirty', 'refreshed')
    op.add_column('subledger_dirty', sa.Column('recheck', sa.Boolean(), nullable=False, server_default=sa.text('false')))
    op.execute("UPDATE subledger_dirty SET recheck = true")


def downgrade() -> None:
    op.drop_column('subledger_dirty', 'recheck')
    op.add_column('subledger_dirty', sa.Column('refreshed', sa.Boolean(), nullable=False, server_default=sa.text('false')))
