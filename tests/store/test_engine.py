"""The one way to open the store: what every PostgreSQL session is given."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from autofin.store import engine as engine_module
from autofin.store.engine import make_engine
from tests.support.postgres import terminate_sessions


@pytest.mark.postgres
def test_a_postgres_session_runs_without_jit_and_keeps_the_options_of_its_url(pg_store):
    with pg_store.connect() as conn:
        assert conn.execute(text("SHOW jit")).scalar_one() == "off"
    with_options = make_engine(pg_store.url.render_as_string(hide_password=False) + "?options=" + quote("-c statement_timeout=12345"))
    try:
        with with_options.connect() as conn:
            assert conn.execute(text("SHOW jit")).scalar_one() == "off"
            assert conn.execute(text("SHOW statement_timeout")).scalar_one() == "12345ms"
    finally:
        with_options.dispose()


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


@pytest.mark.postgres
def test_a_connection_that_lay_idle_is_pinged_and_a_lost_one_replaced_before_it_is_used(pg_store, monkeypatch):
    first = _backend_pid(pg_store)
    assert terminate_sessions(pg_store, first) == 1
    monkeypatch.setattr(engine_module, "IDLE_BEFORE_PING_SECONDS", 0.0)  # as if it had lain in the pool long enough
    assert _backend_pid(pg_store) != first  # answered, by a new connection: no error reached the caller


@pytest.mark.postgres
def test_a_connection_in_steady_use_is_not_pinged(pg_store, monkeypatch):
    pings = []
    real_ping = pg_store.dialect.do_ping
    monkeypatch.setattr(pg_store.dialect, "do_ping", lambda dbapi_connection: pings.append(1) or real_ping(dbapi_connection))
    for _ in range(5):
        _backend_pid(pg_store)
    assert pings == []  # a round trip saved at each checkout
    monkeypatch.setattr(engine_module, "IDLE_BEFORE_PING_SECONDS", 0.0)
    _backend_pid(pg_store)
    assert pings == [1]


@pytest.mark.postgres
def test_a_connection_lost_within_the_idle_window_fails_its_statement_once_then_the_pool_starts_afresh(pg_store):
    """The price of pinging only after idleness: the statement that meets the lost connection fails
    (as a disconnect, which the entry API answers 503), and the next checkout gets a new one."""
    first = _backend_pid(pg_store)
    assert terminate_sessions(pg_store, first) == 1
    with pytest.raises(OperationalError) as lost, pg_store.connect() as conn:
        conn.execute(text("SELECT 1"))
    assert lost.value.connection_invalidated
    assert _backend_pid(pg_store) != first
