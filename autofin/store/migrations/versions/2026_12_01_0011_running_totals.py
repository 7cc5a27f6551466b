"""running totals for the day close: ledger totals per batch, sub-ledger balances per contract

The nightly trial balance and sub-ledger tie summed every journal line and every instalment of
the book (15 s of a 1M-contract night, growing with history). The ledger now keeps each posted
batch's totals per date and account (ledger_total), and each contract's sub-ledger balance as of
its last money event (subledger_balance, with the queue of contracts posted to since:
subledger_dirty). Both are filled here from the lines and instalments already in the store.
Indexes let the nightly steps find the past-due contracts, the open statement lines, the
reconciliation breaks by reference and the recent receipts without a scan of the book or of
its history (a day of a 20k-contract book cost 0.5 s in its first month, 3.5 s two years on).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
SUBLEDGER = {
    "unbilled_principal_minor": "CASE WHEN i.status = 'scheduled' THEN i.principal_minor ELSE 0 END",
    "principal_minor": "CASE WHEN i.status IN ('billed', 'paid') THEN i.principal_minor - i.paid_principal_minor ELSE 0 END",
    "interest_minor": "CASE WHEN i.status IN ('billed', 'paid') THEN i.interest_minor - i.paid_interest_minor ELSE 0 END",
    "fee_minor": "CASE WHEN i.status IN ('billed', 'paid') THEN i.fee_minor - i.paid_fee_minor ELSE 0 END",
    "penalty_minor": "i.penalty_minor - i.paid_penalty_minor",
}


def money(name: str) -> sa.Column:
    return sa.Column(name, sa.BigInteger(), nullable=False, server_default="0")


def upgrade() -> None:
    op.create_table(
        'ledger_total',
        sa.Column('ledger_total_id', BigId, primary_key=True, autoincrement=True),
        sa.Column('batch_id', sa.String(48), nullable=False),
        sa.Column('entry_date', sa.Date(), nullable=False),
        sa.Column('account_code', sa.String(16), nullable=False),
        sa.Column('currency', sa.String(3), nullable=False, server_default='CNY'),
        money('debit_minor'),
        money('credit_minor'),
        sa.UniqueConstraint('batch_id', 'entry_date', 'account_code', 'currency', name='uq_ledger_total'),
    )
    op.create_index('ix_ledger_total_entry_date', 'ledger_total', ['entry_date'])
    op.create_table(
        'subledger_balance',
        sa.Column('contract_id', BigId, sa.ForeignKey('contract.contract_id'), primary_key=True, autoincrement=False),
        *(money(name) for name in [*SUBLEDGER, 'credit_minor']),
    )
    op.create_index('ix_contract_past_due', 'contract', ['status', 'bucket'], sqlite_where=sa.text("dpd > 0"),
                    postgresql_where=sa.text("dpd > 0"))
    # what reconciliation reads every night, found without a scan of the book's history
    op.create_index('ix_bank_statement_line_open', 'bank_statement_line', ['booking_date'], sqlite_where=sa.text("status = 'break'"),
                    postgresql_where=sa.text("status = 'break'"))
    op.create_index('ix_reconciliation_break_reference', 'reconciliation_break', ['reference'])
    op.create_index('ix_receipt_business_date', 'receipt', ['business_date'])
    op.create_table('subledger_dirty', sa.Column('contract_id', BigId, primary_key=True, autoincrement=False))
    op.execute(
        "INSERT INTO ledger_total (batch_id, entry_date, account_code, currency, debit_minor, credit_minor) "
        "SELECT me.batch_id, jl.entry_date, jl.account_code, jl.currency, SUM(jl.debit_minor), SUM(jl.credit_minor) FROM journal_line jl "
        "JOIN journal_entry je ON je.journal_entry_id = jl.journal_entry_id JOIN money_event me ON me.money_event_id = je.money_event_id "
        "GROUP BY me.batch_id, jl.entry_date, jl.account_code, jl.currency"
    )
    picks = ", ".join(f"COALESCE(s.c{k}, 0)" for k in range(len(SUBLEDGER)))
    inner = ", ".join(f"SUM({expr}) AS c{k}" for k, expr in enumerate(SUBLEDGER.values()))
    op.execute(
        f"INSERT INTO subledger_balance (contract_id, {', '.join(SUBLEDGER)}, credit_minor) "
        f"SELECT c.contract_id, {picks}, c.credit_minor FROM contract c LEFT JOIN "
        f"(SELECT i.contract_id, {inner} FROM instalment i GROUP BY i.contract_id) s ON s.contract_id = c.contract_id"
    )


def downgrade() -> None:
    op.drop_index('ix_receipt_business_date', table_name='receipt')
    op.drop_index('ix_reconciliation_break_reference', table_name='reconciliation_break')
    op.drop_index('ix_bank_statement_line_open', table_name='bank_statement_line')
    op.drop_index('ix_contract_past_due', table_name='contract')
    op.drop_table('subledger_dirty')
    op.drop_table('subledger_balance')
    op.drop_index('ix_ledger_total_entry_date', table_name='ledger_total')
    op.drop_table('ledger_total')
