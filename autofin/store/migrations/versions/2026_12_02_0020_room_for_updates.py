"""PostgreSQL: room on each page of the tables the night updates row by row (fillfactor)

PostgreSQL writes an updated row as a new version. When the row's page has room and no indexed
column changed, the version stays on the page and no index is touched (a HOT update). The store's
pages were filled to the brim (fillfactor 100), so each nightly update of an instalment's penalty,
a contract's kept sub-ledger balance or an open case's worst DPD wrote its new version on another
page and an entry in every index of its table: after the 1M bench's Sunday, 6,543 of 460,887
instalment updates were HOT. A 200k A/B with the room set before the seed: 118,480 of 186,856
HOT, the penalties step 4.5-5.4 s -> 1.7-1.8 s a night, the Sunday 19.4 -> 12.0 s; the instalment
table 18% larger. SQLite has no such setting: nothing changes there.

The setting applies to pages written from now on. The pages of a store migrated here keep their
layout until rewritten: their room comes as autovacuum reclaims the old versions the updates leave,
or at once with `VACUUM FULL instalment` (and the others) in a maintenance window (it locks the
table while it runs).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 04:00:00
"""
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

# frozen here (autofin.store.models.HOT_UPDATES may change later)
FILLFACTOR = {"instalment": 80, "subledger_balance": 70, "collection_case": 80}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, percent in FILLFACTOR.items():
        op.execute(f"ALTER TABLE {table} SET (fillfactor = {percent})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in FILLFACTOR:
        op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
