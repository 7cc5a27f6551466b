"""partial indexes of the few rows that could be paid beyond what they owe or hold negative credit

The day close checked that no instalment is paid beyond what it owes and no contract holds negative
credit for the contracts posted to since the last close: on a 1M weekend night the ~110k the
penalties posted to, ~200k instalments and 110k contract rows read (0.5-0.6 s). The rows that could
break either rule are now in partial indexes (a billed instalment paid beyond an amount or with
penalty paid; a contract with credit below zero), and the close checks the whole book through them.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-02 22:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None

CANDIDATES = sa.text("status = 'billed' AND (paid_principal_minor > principal_minor OR paid_interest_minor > interest_minor "
                     "OR paid_fee_minor > fee_minor OR paid_penalty_minor > 0)")
NEGATIVE = sa.text("credit_minor < 0")


def upgrade() -> None:
    op.create_index('ix_instalment_overpaid_candidates', 'instalment', ['contract_id'], sqlite_where=CANDIDATES, postgresql_where=CANDIDATES)
    op.create_index('ix_contract_negative_credit', 'contract', ['credit_minor'], sqlite_where=NEGATIVE, postgresql_where=NEGATIVE)


def downgrade() -> None:
    op.drop_index('ix_contract_negative_credit', table_name='contract')
    op.drop_index('ix_instalment_overpaid_candidates', table_name='instalment')
