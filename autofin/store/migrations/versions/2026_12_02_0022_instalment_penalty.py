"""the penalty booked on an instalment, and its accrual, in a narrow table beside it

The penalties step rewrites, every night, the booked penalty, the exact accrual and the date
accrued through of every overdue instalment: ~220k rows at 1M. On the instalment they were three
columns of a wide row; an overdue contract's instalments share a page, so the night dirtied a page
of the instalment table for each contract past due, and the commit wrote them all (4.0-4.7 s a
night on SQLite with the commit, against 0.2 s for the same rows in a narrow table). They move to
`instalment_penalty` (a row for each instalment that has ever accrued a penalty); the instalment
keeps what was paid of it (paid_penalty_minor), which allocation writes with the other components.

On PostgreSQL the room for the nightly updates (0020) moves with them, from instalment to
instalment_penalty. SQLite 3.35 or later drops the columns in place (Python 3.11's is 3.40 here).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02 05:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'instalment_penalty',
        sa.Column('instalment_id', ID, autoincrement=False, nullable=False),
        sa.Column('penalty_minor', sa.BigInteger(), server_default='0', nullable=False),
        sa.Column('accrued_micro', sa.BigInteger(), server_default='0', nullable=False),
        sa.Column('through_date', sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(['instalment_id'], ['instalment.instalment_id'], name=op.f('fk_instalment_penalty_instalment_id_instalment')),
        sa.PrimaryKeyConstraint('instalment_id', name=op.f('pk_instalment_penalty')),
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:  # before the rows go in, so their pages keep the room
        op.execute("ALTER TABLE instalment_penalty SET (fillfactor = 70)")
    op.execute("INSERT INTO instalment_penalty (instalment_id, penalty_minor, accrued_micro, through_date) "
               "SELECT instalment_id, penalty_minor, penalty_accrued_micro, penalty_through_date FROM instalment "
               "WHERE penalty_minor <> 0 OR penalty_accrued_micro <> 0 OR penalty_through_date IS NOT NULL")
    for column in ('penalty_minor', 'penalty_through_date', 'penalty_accrued_micro'):
        op.execute(f"ALTER TABLE instalment DROP COLUMN {column}")
    if postgresql:
        op.execute("ALTER TABLE instalment RESET (fillfactor)")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.add_column('instalment', sa.Column('penalty_minor', sa.BigInteger(), server_default='0', nullable=False))
    op.add_column('instalment', sa.Column('penalty_through_date', sa.Date(), nullable=True))
    op.add_column('instalment', sa.Column('penalty_accrued_micro', sa.BigInteger(), server_default='0', nullable=False))
    op.execute("UPDATE instalment SET penalty_minor = p.penalty_minor, penalty_accrued_micro = p.accrued_micro, "
               "penalty_through_date = p.through_date FROM instalment_penalty p WHERE p.instalment_id = instalment.instalment_id")
    op.drop_table('instalment_penalty')
    if postgresql:
        op.execute("ALTER TABLE instalment SET (fillfactor = 80)")
