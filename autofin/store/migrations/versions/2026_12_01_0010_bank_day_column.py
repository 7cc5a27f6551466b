"""the bank-day flag a column of the business day

Whether the banks work on a business date was kept only inside the counts (JSON) of the date's
business_day step run; the steps that talk to banks read it from there. It is now a column of
business_day, filled from those counts for the days the cycle has opened. The cut-over day, closed
by a book load without opening, stays NULL.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 14:00:00
"""
import json

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('business_day', sa.Column('is_bank_day', sa.Boolean(), nullable=True))
    conn = op.get_bind()
    runs = conn.execute(sa.text("SELECT business_date, counts FROM step_run WHERE step = 'business_day' AND shard = 'all'")).all()
    for business_date, counts in runs:
        counts = json.loads(counts) if isinstance(counts, str) else (counts or {})
        conn.execute(sa.text("UPDATE business_day SET is_bank_day = :flag WHERE business_date = :d"),
                     {"flag": bool(counts.get("bank_business_day")), "d": business_date})


def downgrade() -> None:
    with op.batch_alter_table('business_day') as batch_op:
        batch_op.drop_column('is_bank_day')
