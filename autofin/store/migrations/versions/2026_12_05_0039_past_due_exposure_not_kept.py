"""provision_exposure keeps a past-due contract's bucket, not its exposure

Every contract past due accrues a penalty every night, so the provisioning rewrote each one's kept
exposure every night and moved the kept totals by it, out and in: on a 1M Sunday ~110k rows and
0.64 s for the whole provisioning. Those contracts' exposures are now added up each night from
their sub-ledger balances through the index of the rows past due (0.1 s), and only the current
contracts' exposures are kept, with their totals. A row past due keeps its bucket (the days move
it without an event, and the provisioning finds those by it); its exposure becomes NULL, and
provision_total keeps the current bucket alone.

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-05 04:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0039'
down_revision = '0038'
branch_labels = None
depends_on = None

EXPOSURE = "b.unbilled_principal_minor + b.principal_minor + b.interest_minor + b.fee_minor + b.penalty_minor"


def upgrade() -> None:
    with op.batch_alter_table('provision_exposure') as batch:
        batch.alter_column('exposure_minor', existing_type=sa.BigInteger(), nullable=True)
    op.execute("UPDATE provision_exposure SET exposure_minor = NULL WHERE bucket <> 'current'")
    op.execute("DELETE FROM provision_total WHERE bucket <> 'current'")


def downgrade() -> None:
    # the rows past due take their exposure from the kept sub-ledger balances again, and their totals
    op.execute(f"UPDATE provision_exposure SET exposure_minor = (SELECT {EXPOSURE} FROM subledger_balance b "
               "WHERE b.contract_id = provision_exposure.contract_id) WHERE bucket <> 'current'")
    op.execute("INSERT INTO provision_total (currency, bucket, contracts, exposure_minor) SELECT currency, bucket, COUNT(*), "
               "SUM(exposure_minor) FROM provision_exposure WHERE bucket <> 'current' GROUP BY currency, bucket")
    with op.batch_alter_table('provision_exposure') as batch:
        batch.alter_column('exposure_minor', existing_type=sa.BigInteger(), nullable=False)
