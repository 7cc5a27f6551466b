"""The warehouse, its dbt tests, the Excel pack and the GX suites, on a book the cycle has run."""

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from openpyxl import load_workbook

from autofin.bankfiles.simulator import simulate
from autofin.reference import bank_profiles
from autofin.reporting.excel import AREAS, YUAN, build_pack
from autofin.reporting.quality import run_suites
from autofin.reporting.warehouse import WarehouseError, build_warehouse
from autofin.servicing.context import default_context
from autofin.servicing.cycle import run_day
from autofin.store.engine import make_engine
from tests.support.books import seeded_sqlite

AS_OF = date(2026, 11, 18)
LAST = date(2026, 11, 21)
README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    home = tmp_path_factory.mktemp("reports")
    env = {"AUTOFIN_DATA_DIR": str(home), "AUTOFIN_BANK_DIR": str(home / "bank_files"), "AUTOFIN_REPORTS_DIR": str(home / "reports")}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    os.environ.pop("AUTOFIN_DATABASE_URL", None)
    try:
        engine = make_engine(seeded_sqlite(home / "autofin.db", contracts=1500, as_of=AS_OF, seed=12))
        ctx = default_context()
        d = AS_OF + timedelta(days=1)
        while d <= LAST:
            run_day(engine, d, ctx)
            for code, profile in bank_profiles().items():
                simulate(profile, ctx.bank_root / "remote" / code, d, seed=4)
            d += timedelta(days=1)
        engine.dispose()
        built = build_warehouse()
        yield home, built
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def wh(home):
    return duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)


def test_dbt_builds_every_model_and_passes_its_tests(book):
    home, built = book
    assert built.models == 29 and built.tests >= 21
    con = wh(home)
    for schema in ("sales", "approval", "asset", "operations", "finance"):
        assert con.execute("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ?", [schema]).fetchone()[0] >= 2
    assert not [t for (t,) in con.execute("SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'stg_%'").fetchall()]


def test_money_stays_exact_and_ties_to_the_store(book):
    home, _ = book
    con = wh(home)
    kind = con.execute("SELECT typeof(financed_amount) FROM asset.fct_contracts LIMIT 1").fetchone()[0]
    assert kind.startswith("DECIMAL")
    store = sqlite3.connect(home / "autofin.db")
    financed_minor = store.execute("SELECT SUM(financed_minor) FROM contract").fetchone()[0]
    assert con.execute("SELECT SUM(financed_amount) * 100 FROM asset.fct_contracts").fetchone()[0] == financed_minor
    debit = store.execute("SELECT SUM(debit_minor) FROM journal_line").fetchone()[0]
    assert con.execute("SELECT SUM(debit_minor), SUM(credit_minor) FROM finance.rpt_finance__trial_balance").fetchone() == (debit, debit)
    assert con.execute("SELECT SUM(ABS(difference)) FROM finance.rpt_finance__subledger_vs_gl").fetchone()[0] == 0
    # credit applied is not cash
    collected = store.execute("SELECT SUM(amount_minor) FROM receipt WHERE status <> 'reversed' AND source <> 'credit'").fetchone()[0]
    assert con.execute("SELECT SUM(received) * 100 FROM finance.rpt_finance__cash_received").fetchone()[0] == collected


def test_a_broken_store_fails_the_build_and_keeps_the_published_warehouse(book, tmp_path, monkeypatch):
    home, _ = book
    copy = tmp_path / "copy"
    shutil.copytree(home, copy, ignore=shutil.ignore_patterns("reports", "bank_files"))
    store = sqlite3.connect(copy / "autofin.db")
    store.execute("UPDATE journal_line SET debit_minor = debit_minor + 1 WHERE journal_line_id = "
                  "(SELECT MIN(journal_line_id) FROM journal_line WHERE debit_minor > 0)")
    store.commit()
    store.close()
    before = (copy / "warehouse.duckdb").stat().st_mtime_ns
    monkeypatch.setenv("AUTOFIN_DATA_DIR", str(copy))
    with pytest.raises(WarehouseError, match="assert_trial_balance_balances"):
        build_warehouse()
    assert (copy / "warehouse.duckdb").stat().st_mtime_ns == before


def readme_queries():
    text = README.read_text()
    block = text.split("## Analysts", 1)[1]
    return [q.strip() for q in re.findall(r"```sql\n(.*?)```", block, re.S)]


def test_the_readme_queries_answer(book):
    home, _ = book
    queries = readme_queries()
    assert len(queries) >= 4
    con = wh(home)
    for sql in queries:
        assert con.execute(sql).fetchall(), sql


def test_the_excel_pack(book):
    home, _ = book
    pack = build_pack(LAST)
    assert sorted(pack.workbooks) == sorted([f"{a}-{LAST}.xlsx" for a in AREAS] + [f"kpi-summary-{LAST}.xlsx"])
    con = wh(home)
    for area in AREAS:
        wb = load_workbook(pack.folder / f"{area}-{LAST}.xlsx")
        chart_sheet = wb.worksheets[0]
        assert chart_sheet._charts, f"{area}: no chart"
        for ws in wb.worksheets:
            assert ws.freeze_panes == "A2"
            header = [c.value for c in ws[1]]
            assert all(header)
            for row in ws.iter_rows(min_row=2, values_only=True):
                for value in row:
                    assert not (isinstance(value, str) and re.fullmatch(r"\d{17}[\dX]", value)), f"unmasked id in {area}/{ws.title}"
    sales = load_workbook(pack.folder / f"sales-{LAST}.xlsx")["originations_monthly"]
    header = [c.value for c in sales[1]]
    col = header.index("financed_amount")
    total = sum(r[col] for r in sales.iter_rows(min_row=2, values_only=True))
    assert total == con.execute("SELECT SUM(financed_amount) FROM sales.rpt_sales__originations_monthly").fetchone()[0]
    assert sales.cell(row=2, column=col + 1).number_format == YUAN
    assert sales.auto_filter.ref.startswith("A1:")
    tb = load_workbook(pack.folder / f"finance-{LAST}.xlsx")["trial_balance"]
    header = [c.value for c in tb[1]]
    rows = list(tb.iter_rows(min_row=2, values_only=True))
    assert sum(r[header.index("debit_balance")] for r in rows) == sum(r[header.index("credit_balance")] for r in rows)
    kpi = load_workbook(pack.folder / f"kpi-summary-{LAST}.xlsx")["KPI"]
    figures = {r[0]: r[1] for r in kpi.iter_rows(min_row=4, max_col=2, values_only=True) if r[0]}
    assert figures["Trial balance difference (CNY)"] == 0 and figures["Sub-ledger vs GL difference (CNY)"] == 0
    assert figures["Active contracts"] == con.execute("SELECT COUNT(*) FROM asset.fct_contracts WHERE contract_status = 'active'").fetchone()[0]
    assert kpi._charts


def test_great_expectations_suites(book, tmp_path):
    home, _ = book
    results = run_suites()
    assert [r.suite for r in results] == ["fct_contracts", "debit_orders", "debit_success", "trial_balance"]
    assert all(r.success for r in results), [(r.suite, r.failed) for r in results]
    broken = tmp_path / "broken.duckdb"
    shutil.copy(home / "warehouse.duckdb", broken)
    con = duckdb.connect(str(broken))
    con.execute("UPDATE asset.fct_contracts SET bucket = 'M9', dpd = -3 WHERE contract_id = (SELECT MIN(contract_id) FROM asset.fct_contracts)")
    con.close()
    failed = {r.suite: r.failed for r in run_suites(broken, only=["fct_contracts"])}
    assert failed != {} and set(failed["fct_contracts"]) >= {"expect_column_values_to_be_in_set(bucket)", "expect_column_values_to_be_between(dpd)"}


@pytest.mark.parametrize(("d", "message"), [
    (LAST + timedelta(days=1), f"{LAST + timedelta(days=1)} is not closed (the latest closed business date is {LAST})"),
    (LAST - timedelta(days=1), f"{LAST - timedelta(days=1)} is older than the latest closed business date {LAST}"),
])
def test_reports_are_built_only_for_the_latest_closed_date(book, d, message):
    home, _ = book
    env = {**os.environ, "AUTOFIN_DATA_DIR": str(home), "AUTOFIN_REPORTS_DIR": str(home / "reports-refused")}
    env.pop("AUTOFIN_DATABASE_URL", None)
    result = subprocess.run([sys.executable, "-m", "autofin.cli", "reports", "build", "--date", str(d), "--skip-warehouse"],
                            env=env, capture_output=True, text=True)
    assert result.returncode != 0 and message in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert not (home / "reports-refused").exists()  # nothing labelled with a date it does not show
