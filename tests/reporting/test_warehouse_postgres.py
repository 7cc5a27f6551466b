"""The warehouse over a PostgreSQL store: DuckDB's postgres scanner, loaded offline from its wheel."""

from datetime import date

import duckdb
import pytest

from autofin.reporting.warehouse import build_warehouse, store_attachment
from autofin.servicing.context import default_context
from autofin.servicing.cycle import run_day
from tests.support.books import seed_store


@pytest.mark.postgres
def test_the_warehouse_builds_from_postgresql(pg_store, tmp_path, monkeypatch):
    store = pg_store
    monkeypatch.setenv("AUTOFIN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AUTOFIN_BANK_DIR", str(tmp_path / "bank_files"))
    seed_store(store, contracts=300, as_of=date(2026, 11, 18), seed=3)
    run_day(store, date(2026, 11, 19), default_context())
    url = store.url.render_as_string(hide_password=False)
    kind, attach, schema = store_attachment(url)
    assert (kind, schema) == ("postgres", "public") and "dbname=" in attach
    built = build_warehouse(url)
    assert built.models == 35
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    assert con.execute("SELECT COUNT(*) FROM asset.fct_contracts").fetchone()[0] == 300
    assert con.execute("SELECT SUM(ABS(difference)) FROM finance.rpt_finance__subledger_vs_gl").fetchone()[0] == 0
