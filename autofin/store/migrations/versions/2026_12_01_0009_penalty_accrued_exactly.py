"""penalty accrued exactly: the unrounded accrual beside the booked penalty

Penalty interest was booked night by night as round(basis × rate × days since last night), so a
sum of nightly roundings drifted 1–4 fen below round(basis × rate × days). The instalment now
keeps the exact accrual (Σ basis × rate in ppm × days, an integer in millionths of the minor unit)
and each night books the rounded total less what is booked. Existing rows start from what they
have booked (penalty_minor × 10^6): nothing booked before is restated.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('instalment', sa.Column('penalty_accrued_micro', sa.BigInteger(), server_default='0', nullable=False))
    op.execute("UPDATE instalment SET penalty_accrued_micro = penalty_minor * 1000000 WHERE penalty_minor <> 0")


def downgrade() -> None:
    with op.batch_alter_table('instalment') as batch_op:
        batch_op.drop_column('penalty_accrued_micro')
