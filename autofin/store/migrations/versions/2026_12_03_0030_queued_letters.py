"""a partial index of the letters still queued, by business date

The letters step, after each night's close, reads the default notices queued up to that night. It
went through the index of every notification's business date, `business_date <= D`: every
notification of the store's history (reminders and notices, a row each a night) to find the night's
few queued letters. The partial index holds only the queued letters.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-03 05:45:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None

QUEUED_LETTERS = sa.text("status = 'queued' AND channel = 'letter'")


def upgrade() -> None:
    op.create_index('ix_notification_queued_letters', 'notification', ['business_date'], sqlite_where=QUEUED_LETTERS,
                    postgresql_where=QUEUED_LETTERS)


def downgrade() -> None:
    op.drop_index('ix_notification_queued_letters', table_name='notification')
