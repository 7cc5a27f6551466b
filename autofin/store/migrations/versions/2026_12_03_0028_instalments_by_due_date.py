"""SQLite: the instalments kept in due-date order (WITHOUT ROWID, keyed by due date and id)

A night bills the instalments due that day and the next applies what was paid of them: rows of one
due date. Kept in id order, a contract's instalments sat together and those of one due date were one
per page, so billing or paying them rewrote a 4 KiB page each: on the one-due-day book a million
pages a night. Kept by (due_date, instalment_id) they fill whole pages side by side. On the 1M
one-due-day book, the same store in both layouts, one after the other: the worst Monday to its close
69.4 → 49.5 s (billing 42.3 → 17.3 s), the Tuesday 146.7 → 111.6 s (allocation 81.2 → 48.8 s)
(`bench/results.md`, 2026-12-03 05:00).

instalment_id stays what every reference names, unique by an index of its own; a WITHOUT ROWID
table gives out no ids, so new instalments take theirs from `store.bulk.insert_assigning_ids`. The
unique keys are indexes, not table constraints, so a bulk load can drop and rebuild them
(`store.bulk.indexes_rebuilt_after`). PostgreSQL keeps its heap table: it has no index-organised
tables, and its rows move on update anyway.
The copy runs once, in due-date order, its indexes built after it (3.3 minutes for the 33M
instalments of 1M contracts); `store.migrate.upgrade` holds foreign keys unenforced around it and
checks every reference before the commit, as SQLite's procedure for rebuilding a table asks.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-03 05:30:00
"""
from alembic import op

revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None

COLUMNS = ("instalment_id, contract_id, seq, due_date, status, principal_minor, interest_minor, fee_minor, paid_principal_minor, "
           "paid_interest_minor, paid_fee_minor, paid_penalty_minor, billed_date, paid_date, principal_vat_minor")
UNIQUE_KEYS = ("CREATE UNIQUE INDEX uq_instalment_instalment_id ON instalment (instalment_id)",
               "CREATE UNIQUE INDEX ux_instalment_contract_id_seq ON instalment (contract_id, seq)")


def _table(key: str, unique_in_table: bool, rowid: bool) -> str:
    return (
        "CREATE TABLE instalment_new (\n"
        "\tinstalment_id INTEGER NOT NULL, \n\tcontract_id INTEGER NOT NULL, \n\tseq INTEGER NOT NULL, \n\tdue_date DATE NOT NULL, \n"
        "\tstatus VARCHAR(12) NOT NULL, \n\tprincipal_minor BIGINT NOT NULL, \n\tinterest_minor BIGINT NOT NULL, \n"
        "\tfee_minor BIGINT DEFAULT '0' NOT NULL, \n\tpaid_principal_minor BIGINT DEFAULT '0' NOT NULL, \n"
        "\tpaid_interest_minor BIGINT DEFAULT '0' NOT NULL, \n\tpaid_fee_minor BIGINT DEFAULT '0' NOT NULL, \n"
        "\tpaid_penalty_minor BIGINT DEFAULT '0' NOT NULL, \n\tbilled_date DATE, \n\tpaid_date DATE, \n"
        "\tprincipal_vat_minor BIGINT DEFAULT '0' NOT NULL, \n"
        f"\tCONSTRAINT pk_instalment PRIMARY KEY ({key}), \n"
        "\tCONSTRAINT fk_instalment_contract_id_contract FOREIGN KEY(contract_id) REFERENCES contract (contract_id)"
        + (", \n\tCONSTRAINT uq_instalment_contract_id_seq UNIQUE (contract_id, seq)" if unique_in_table else "")
        + "\n)" + ("" if rowid else " WITHOUT ROWID")
    )


def _rebuild(create: str, order: str, unique_keys: tuple[str, ...]) -> None:
    """The table made anew by `create`, filled in `order`, then its indexes built: the unique keys
    given, and every partial index the old table had (read back from the schema, as they were)."""
    bind = op.get_bind()
    partial = [sql for (sql,) in bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'instalment' AND sql LIKE '% WHERE %' ORDER BY name")]
    op.execute(create)
    op.execute(f"INSERT INTO instalment_new ({COLUMNS}) SELECT {COLUMNS} FROM instalment ORDER BY {order}")
    op.execute("DROP TABLE instalment")  # its indexes go with it
    op.execute("ALTER TABLE instalment_new RENAME TO instalment")
    for sql in (*unique_keys, *partial):
        op.execute(sql)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    _rebuild(_table("due_date, instalment_id", unique_in_table=False, rowid=False), "due_date, instalment_id", UNIQUE_KEYS)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    _rebuild(_table("instalment_id", unique_in_table=True, rowid=True), "instalment_id", ())
