"""The API's sessions with the store (autofin.api.deps.Store)."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, select, text

from autofin.api.deps import Store
from autofin.store.models import Partner
from tests.api.conftest import make_world
from tests.support.postgres import terminate_sessions


@pytest.mark.postgres
def test_a_read_keeps_the_statements_postgresql_prepared(pg_store):
    """psycopg prepares a statement from its sixth use on a connection, and forgets every one it
    prepared at a ROLLBACK: reads that ended in the pool's ROLLBACK had PostgreSQL parse and plan
    every statement of every request again. A read now has no transaction to end."""
    store = Store(pg_store)
    by_id = select(Partner.partner_code).where(Partner.partner_id == bindparam("id"))
    for n in range(8):  # one after the other: the pool hands out its one connection each time
        with store.read() as conn:
            assert conn.execute(by_id, {"id": n}).all() == []
    with store.read() as conn:
        prepared = conn.exec_driver_sql("SELECT statement FROM pg_prepared_statements").scalars().all()
    assert [s for s in prepared if "FROM partner" in s and "partner_id = $1" in s], prepared


@pytest.mark.postgres
def test_a_read_on_postgresql_runs_without_a_transaction_and_leaves_none_to_the_next_user_of_its_connection(pg_store):
    """At READ COMMITTED each statement reads its own snapshot anyway: a read's BEGIN and COMMIT were
    two round trips that changed nothing. Outside a transaction each statement is one of its own."""
    now_is_the_statements = text("SELECT statement_timestamp() = transaction_timestamp()")
    with Store(pg_store).read() as conn:
        conn.execute(text("SELECT pg_sleep(0.01)"))
        assert conn.execute(now_is_the_statements).scalar_one()
    with pg_store.connect() as conn:  # the same pooled connection, in a transaction again
        conn.execute(text("SELECT pg_sleep(0.01)"))
        assert not conn.execute(now_is_the_statements).scalar_one()


@pytest.mark.postgres
def test_a_request_that_meets_a_lost_connection_answers_503_and_the_next_one_is_served(pg_store, tmp_path, monkeypatch):
    for pg in make_world(pg_store, tmp_path, monkeypatch, contracts=5):
        pg.call("GET", "/partners?limit=1", "admin", 200)
        assert terminate_sessions(pg_store) >= 1  # every connection of the API's pool, as a restart of the server would
        lost = pg.call("GET", "/partners?limit=1", "admin", 503)
        assert lost.headers["Retry-After"] == "1" and "connection to the store was lost" in lost.json()["detail"]
        pg.call("GET", "/partners?limit=1", "admin", 200)
