"""one active direct-debit mandate per contract, kept by the store

The code has always kept one: a contract's mandate is created at activation, and replacing it
revokes the one in force in the same transaction. The nightly debit orders now read every bank's
mandates in one pass over the billed instalments (a pass per bank read them all once for each),
which relies on it; the unique partial index makes it a rule of the store. A store holding a
contract with two active mandates is refused by name, not repaired: which one the customer means
is for operations to say (replace the mandate through the API, which revokes the others).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 01:45:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    doubled = op.get_bind().execute(sa.text(
        "SELECT c.contract_no FROM mandate m JOIN contract c ON c.contract_id = m.contract_id WHERE m.status = 'active' "
        "GROUP BY c.contract_no HAVING COUNT(*) > 1 ORDER BY c.contract_no LIMIT 20")).scalars().all()
    if doubled:
        raise RuntimeError(f"contracts with more than one active mandate: {', '.join(doubled)}; replace each contract's mandate "
                           "(POST /contracts/{no}/mandates), which revokes the others, then migrate again")
    op.create_index('uq_mandate_active', 'mandate', ['contract_id'], unique=True, sqlite_where=sa.text("status = 'active'"),
                    postgresql_where=sa.text("status = 'active'"))


def downgrade() -> None:
    op.drop_index('uq_mandate_active', table_name='mandate')
