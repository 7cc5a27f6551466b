"""every journal entry exported once: the export that carried it and the number it gave

The ledger export used to take the journal entries dated D, so an entry the API posted for a day
already exported (a refund, a reversal, a settlement after the night ran) reached no file. Each
entry now records the export that carried it (`exported_on`) and its voucher number there; an
export takes every entry not yet exported up to its date. Entries that an export already carried
(posted before that day's file was written) are marked with it and keep the number they had
(V + the entry id); later ones go out in the next export, marked late.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('journal_entry', sa.Column('exported_on', sa.Date(), nullable=True))
    op.add_column('journal_entry', sa.Column('voucher_no', sa.String(length=20), nullable=True))
    old_number = ("'V' || substr('000000000000' || journal_entry_id, -12, 12)" if op.get_bind().dialect.name == "sqlite"
                  else "'V' || lpad(CAST(journal_entry_id AS text), 12, '0')")
    op.execute(
        f"UPDATE journal_entry SET exported_on = entry_date, voucher_no = {old_number} WHERE EXISTS "
        "(SELECT 1 FROM voucher_export v WHERE v.business_date = journal_entry.entry_date AND journal_entry.created_at <= v.created_at)"
    )
    op.create_index('uq_journal_entry_voucher_no', 'journal_entry', ['voucher_no'], unique=True)
    op.create_index('ix_journal_entry_unexported', 'journal_entry', ['entry_date'],
                    sqlite_where=sa.text('exported_on IS NULL'), postgresql_where=sa.text('exported_on IS NULL'))


def downgrade() -> None:
    op.drop_index('ix_journal_entry_unexported', table_name='journal_entry')
    op.drop_index('uq_journal_entry_voucher_no', table_name='journal_entry')
    op.drop_column('journal_entry', 'voucher_no')
    op.drop_column('journal_entry', 'exported_on')
