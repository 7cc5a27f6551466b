"""The API's sessions with the store (autofin.api.deps.Store)."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, select

from autofin.api.deps import Store
from autofin.store.models import Partner


@pytest.mark.postgres
def test_a_read_ends_in_commit_so_postgresql_keeps_the_statements_it_prepared(pg_store):
    """psycopg prepares a statement from its sixth use on a connection, and forgets every one it
    prepared at a ROLLBACK: reads that ended in the pool's ROLLBACK had PostgreSQL parse and plan
    every statement of every request again."""
    store = Store(pg_store)
    by_id = select(Partner.partner_code).where(Partner.partner_id == bindparam("id"))
    for n in range(8):  # one after the other: the pool hands out its one connection each time
        with store.read() as conn:
            assert conn.execute(by_id, {"id": n}).all() == []
    with store.read() as conn:
        prepared = conn.exec_driver_sql("SELECT statement FROM pg_prepared_statements").scalars().all()
    assert [s for s in prepared if "FROM partner" in s and "partner_id = $1" in s], prepared
