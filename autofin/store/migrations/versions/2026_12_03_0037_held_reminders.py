"""overdue reminders held while a debit is at the bank: held_since, and a partial index of the held

The night held a contract's penalty and its collection case while a debit for all it owed waited
for the bank's answer, but sent its overdue reminders (已逾期3天…以免产生更多罚息) all the same: after a
silent week at 1M, 60,943 of 65,861 such text messages and 187 of 420 default notices went to
customers whose debit was still at the bank. A reminder that falls due then is now written as
held (held_since: the night it fell due) and sent, or cancelled, on the night the answer is in;
business_date stays the night the row last changed (handed over, queued or cancelled). Each night
reads the held reminders through their own partial index, not every notification of the store's history.
The status widens to 12 characters for 'cancelled' (PostgreSQL widens a varchar in place; SQLite
rebuilds the table, once).

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-03 23:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0037'
down_revision = '0036'
branch_labels = None
depends_on = None

HELD = sa.text("status = 'held'")


def upgrade() -> None:
    with op.batch_alter_table('notification') as batch:
        batch.add_column(sa.Column('held_since', sa.Date(), nullable=True))
        batch.alter_column('status', existing_type=sa.String(8), type_=sa.String(12), existing_server_default=sa.text("'queued'"),
                           existing_nullable=False)
    op.create_index('ix_notification_held', 'notification', ['rule_code', 'contract_id'], sqlite_where=HELD, postgresql_where=HELD)


def downgrade() -> None:
    op.drop_index('ix_notification_held', table_name='notification')
    # the code before 0037 knows no cancelled reminder (it was never sent: failed is the nearest), and
    # never looks at a held one again: those stay held, unsent
    op.execute("UPDATE notification SET status = 'failed' WHERE status = 'cancelled'")
    with op.batch_alter_table('notification') as batch:
        batch.drop_column('held_since')
        batch.alter_column('status', existing_type=sa.String(12), type_=sa.String(8), existing_server_default=sa.text("'queued'"),
                           existing_nullable=False)
