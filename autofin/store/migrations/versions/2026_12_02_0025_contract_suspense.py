"""the interest and penalty a non-accrual contract holds in suspense, in a narrow table beside the contract

The penalties step adds each night the penalty of every non-accrual contract to what it holds in
suspense (~20k contracts at 1M, 2241.03). On the contract they were two columns of its wide row:
each addition dirtied a page of the contract table, 18,350 of the 35,473 pages the 1M Sunday's
penalties step wrote. They move to `contract_suspense`: a row for each contract holding some, none
for the others, deleted when released. The table is the holding set itself, so the partial index
of the contracts holding suspense goes.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-02 21:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
MONEY = sa.BigInteger()
SUSPENSE = "suspended_interest_minor + suspended_penalty_minor > 0"


def upgrade() -> None:
    op.create_table(
        'contract_suspense',
        sa.Column('contract_id', ID, autoincrement=False, nullable=False),
        sa.Column('interest_minor', MONEY, server_default='0', nullable=False),
        sa.Column('penalty_minor', MONEY, server_default='0', nullable=False),
        sa.ForeignKeyConstraint(['contract_id'], ['contract.contract_id'], name=op.f('fk_contract_suspense_contract_id_contract')),
        sa.PrimaryKeyConstraint('contract_id', name=op.f('pk_contract_suspense')),
    )
    if op.get_bind().dialect.name == "postgresql":  # before the rows go in, so their pages keep the room
        op.execute("ALTER TABLE contract_suspense SET (fillfactor = 70)")
    op.execute("INSERT INTO contract_suspense (contract_id, interest_minor, penalty_minor) "
               f"SELECT contract_id, suspended_interest_minor, suspended_penalty_minor FROM contract WHERE {SUSPENSE}")
    op.drop_index('ix_contract_suspense', table_name='contract')
    for column in ('suspended_interest_minor', 'suspended_penalty_minor'):
        op.execute(f"ALTER TABLE contract DROP COLUMN {column}")


def downgrade() -> None:
    for column in ('suspended_interest_minor', 'suspended_penalty_minor'):
        op.add_column('contract', sa.Column(column, MONEY, server_default='0', nullable=False))
    op.execute("UPDATE contract SET suspended_interest_minor = s.interest_minor, suspended_penalty_minor = s.penalty_minor "
               "FROM contract_suspense s WHERE s.contract_id = contract.contract_id")
    op.drop_table('contract_suspense')
    op.create_index('ix_contract_suspense', 'contract', ['status'], sqlite_where=sa.text(SUSPENSE), postgresql_where=sa.text(SUSPENSE))
