"""summary vouchers: the night's bulk batches post one voucher per day, event type and currency

Billing, penalty accrual and the allocation of receipts wrote a voucher per money event: at 1M
contracts a million vouchers and 5.6M journal lines on a one-due-day night, and 100k vouchers on
any day for the penalties alone. Those batches now record their events and running totals as
before and register their groups in summary_batch; the vouchers step writes one summary voucher
per date, event type and currency that carries them (journal_entry.events says how many, its
money_event_id is NULL). A voucher of one event keeps its money_event_id and now also its batch.
money_event's date index also holds the batch, so the day's batches are counted from the index.
A contract has one open collection case, now an index the night finds it by. The queue of contracts
posted to since the last close says which of them the night has already recomputed (refreshed), so
the provisioning and the close do not both recompute them. Each active contract's exposure and
bucket as the provisioning last saw them (provision_exposure), so a night adds up those rows and
updates only the contracts that can have changed, instead of reading every contract's balance.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 16:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
EXPOSURE = "b.unbilled_principal_minor + b.principal_minor + b.interest_minor + b.fee_minor + b.penalty_minor"


ENTRY_COLUMNS = "journal_entry_id, money_event_id, entry_date, event_type, contract_id, created_at, exported_on, voucher_no"
LINE_COLUMNS = "journal_line_id, journal_entry_id, line_no, account_code, entry_date, debit_minor, credit_minor, currency"


def _sqlite_rebuild() -> None:
    """SQLite relaxes a NOT NULL only by copying the table, and journal_line refers to it: dropping
    the old journal_entry under its lines would break their foreign keys. So both are copied, the
    lines pointing at the new entries, the old ones dropped lines first, and the copies renamed."""
    op.execute(
        "CREATE TABLE journal_entry_new (journal_entry_id INTEGER NOT NULL, money_event_id INTEGER, entry_date DATE NOT NULL, "
        "event_type VARCHAR(24) NOT NULL, contract_id INTEGER, created_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, exported_on DATE, "
        "voucher_no VARCHAR(20), batch_id VARCHAR(48), events INTEGER DEFAULT '1' NOT NULL, "
        "CONSTRAINT pk_journal_entry PRIMARY KEY (journal_entry_id), "
        "CONSTRAINT fk_journal_entry_money_event_id_money_event FOREIGN KEY(money_event_id) REFERENCES money_event (money_event_id), "
        "CONSTRAINT uq_journal_entry_money_event_id UNIQUE (money_event_id))"
    )
    op.execute(f"INSERT INTO journal_entry_new ({ENTRY_COLUMNS}, batch_id, events) SELECT {ENTRY_COLUMNS}, "
               "(SELECT me.batch_id FROM money_event me WHERE me.money_event_id = journal_entry.money_event_id), 1 FROM journal_entry")
    op.execute(
        "CREATE TABLE journal_line_new (journal_line_id INTEGER NOT NULL, journal_entry_id INTEGER NOT NULL, line_no INTEGER NOT NULL, "
        "account_code VARCHAR(16) NOT NULL, entry_date DATE NOT NULL, debit_minor BIGINT DEFAULT '0' NOT NULL, "
        "credit_minor BIGINT DEFAULT '0' NOT NULL, currency VARCHAR(3) DEFAULT 'CNY' NOT NULL, "
        "CONSTRAINT pk_journal_line PRIMARY KEY (journal_line_id), "
        "CONSTRAINT fk_journal_line_journal_entry_id_journal_entry FOREIGN KEY(journal_entry_id) REFERENCES journal_entry_new (journal_entry_id))"
    )
    op.execute(f"INSERT INTO journal_line_new ({LINE_COLUMNS}) SELECT {LINE_COLUMNS} FROM journal_line")
    op.execute("DROP TABLE journal_line")
    op.execute("DROP TABLE journal_entry")
    op.execute("ALTER TABLE journal_entry_new RENAME TO journal_entry")  # journal_line_new now refers to journal_entry
    op.execute("ALTER TABLE journal_line_new RENAME TO journal_line")
    op.create_index('ix_journal_entry_entry_date', 'journal_entry', ['entry_date'])
    op.create_index('uq_journal_entry_voucher_no', 'journal_entry', ['voucher_no'], unique=True)
    op.create_index('ix_journal_entry_unexported', 'journal_entry', ['entry_date'], sqlite_where=sa.text('exported_on IS NULL'))
    op.create_index('ix_journal_line_account_date', 'journal_line', ['account_code', 'entry_date'])
    op.create_index('ix_journal_line_journal_entry_id', 'journal_line', ['journal_entry_id'])


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rebuild()
    else:
        op.alter_column('journal_entry', 'money_event_id', existing_type=BigId, nullable=True)
        op.add_column('journal_entry', sa.Column('batch_id', sa.String(48), nullable=True))
        op.add_column('journal_entry', sa.Column('events', sa.Integer(), nullable=False, server_default='1'))
        op.execute("UPDATE journal_entry SET batch_id = me.batch_id FROM money_event me WHERE me.money_event_id = journal_entry.money_event_id")
    op.create_index('ix_journal_entry_batch_id', 'journal_entry', ['batch_id'])
    op.create_table(
        'summary_batch',
        sa.Column('batch_id', sa.String(48), nullable=False),
        sa.Column('event_type', sa.String(24), nullable=False),
        sa.Column('entry_date', sa.Date(), nullable=False),
        sa.Column('currency', sa.String(3), nullable=False),
        sa.Column('events', sa.Integer(), nullable=False),
        sa.Column('journal_entry_id', BigId, nullable=True),
        sa.ForeignKeyConstraint(['journal_entry_id'], ['journal_entry.journal_entry_id'],
                                name=op.f('fk_summary_batch_journal_entry_id_journal_entry')),
        sa.PrimaryKeyConstraint('batch_id', 'event_type', 'entry_date', 'currency', name=op.f('pk_summary_batch')),
    )
    op.create_index('ix_summary_batch_unwritten', 'summary_batch', ['entry_date'], sqlite_where=sa.text('journal_entry_id IS NULL'),
                    postgresql_where=sa.text('journal_entry_id IS NULL'))
    op.drop_index('ix_money_event_business_date', table_name='money_event')
    op.create_index('ix_money_event_date_batch', 'money_event', ['business_date', 'batch_id'])
    op.create_index('uq_collection_case_open', 'collection_case', ['contract_id'], unique=True, sqlite_where=sa.text("status = 'open'"),
                    postgresql_where=sa.text("status = 'open'"))
    op.add_column('subledger_dirty', sa.Column('refreshed', sa.Boolean(), nullable=False, server_default=sa.text('false')))
    op.create_table(
        'provision_exposure',
        sa.Column('contract_id', BigId, nullable=False, autoincrement=False),
        sa.Column('currency', sa.String(3), nullable=False, server_default='CNY'),
        sa.Column('bucket', sa.String(8), nullable=False),
        sa.Column('exposure_minor', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('contract_id', name=op.f('pk_provision_exposure')),
    )
    op.create_index('ix_provision_exposure_bucket', 'provision_exposure', ['currency', 'bucket', 'exposure_minor'])
    op.create_index('ix_provision_exposure_past_due', 'provision_exposure', ['contract_id'], sqlite_where=sa.text("bucket <> 'current'"),
                    postgresql_where=sa.text("bucket <> 'current'"))
    # as the provisioning would see the book now (a contract posted to since the last close is seen again the next night)
    op.execute(f"INSERT INTO provision_exposure (contract_id, currency, bucket, exposure_minor) SELECT c.contract_id, c.currency, c.bucket, "
               f"{EXPOSURE} FROM subledger_balance b JOIN contract c ON c.contract_id = b.contract_id WHERE c.status = 'active'")


def downgrade() -> None:
    """Back to 0015 (a store without summary vouchers: their entries have no event to hang on)."""
    op.drop_table('provision_exposure')
    op.drop_column('subledger_dirty', 'refreshed')
    op.drop_index('uq_collection_case_open', table_name='collection_case')
    op.drop_index('ix_money_event_date_batch', table_name='money_event')
    op.create_index('ix_money_event_business_date', 'money_event', ['business_date'])
    op.drop_index('ix_summary_batch_unwritten', table_name='summary_batch')
    op.drop_table('summary_batch')
    op.drop_index('ix_journal_entry_batch_id', table_name='journal_entry')
    op.drop_column('journal_entry', 'events')
    op.drop_column('journal_entry', 'batch_id')
    if op.get_bind().dialect.name != "sqlite":  # SQLite keeps the relaxed NOT NULL: a copy of every voucher is not worth it
        op.alter_column('journal_entry', 'money_event_id', existing_type=BigId, nullable=False)
