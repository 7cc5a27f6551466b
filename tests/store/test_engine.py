"""The one way to open the store: what every PostgreSQL session is given."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from sqlalchemy import text

from autofin.store.engine import make_engine


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
