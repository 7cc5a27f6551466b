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
from autofin.reporting.excel import AREAS, HEADER_ROW, YUAN, build_pack, words_for
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
    assert built.models == 35 and built.tests >= 21
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
    words = words_for("en")
    for area in AREAS:
        wb = load_workbook(pack.folder / f"{area}-{LAST}.xlsx")
        assert wb.worksheets[0]._charts, f"{area}: no chart"
        for ws in wb.worksheets:
            # a title and the as-of date on top, a labelled header, repeated on every printed page
            assert ws["A1"].value and ws["A2"].value == f"as of {LAST} · amounts in CNY", (area, ws.title)
            header = [c.value for c in ws[HEADER_ROW]]
            assert all(header) and not any("_" in h for h in header), (area, ws.title, header)  # labels, not column names
            assert ws.freeze_panes == f"A{HEADER_ROW + 1}" and ws.print_title_rows == f"$1:${HEADER_ROW}"
            assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage
            if ws.max_row == HEADER_ROW + 1 and ws.cell(row=HEADER_ROW + 1, column=2).value is None:  # a sheet without rows says why
                assert isinstance(ws.cell(row=HEADER_ROW + 1, column=1).value, str) and len(ws.cell(row=HEADER_ROW + 1, column=1).value) > 20
            for row in ws.iter_rows(min_row=HEADER_ROW + 1, values_only=True):
                for value in row:
                    assert not (isinstance(value, str) and re.fullmatch(r"\d{17}[\dX]", value)), f"unmasked id in {area}/{ws.title}"
    sales = load_workbook(pack.folder / f"sales-{LAST}.xlsx")[words.sheet("originations_monthly")]
    header = [c.value for c in sales[HEADER_ROW]]
    col = header.index("Financed amount")
    total = sum(r[col] for r in sales.iter_rows(min_row=HEADER_ROW + 1, values_only=True))
    assert total == con.execute("SELECT SUM(financed_amount) FROM sales.rpt_sales__originations_monthly").fetchone()[0]
    assert sales.cell(row=HEADER_ROW + 1, column=col + 1).number_format == YUAN
    assert sales.cell(row=HEADER_ROW + 1, column=header.index("Contracts") + 1).number_format == "#,##0"  # counts are not money
    assert sales.auto_filter.ref.startswith(f"A{HEADER_ROW}:")
    finance = load_workbook(pack.folder / f"finance-{LAST}.xlsx")
    tb = finance[words.sheet("trial_balance")]
    header = [c.value for c in tb[HEADER_ROW]]
    assert "Debit balance" in header and not any("minor" in h.lower() for h in header)  # yuan, never fen
    rows = list(tb.iter_rows(min_row=HEADER_ROW + 1, values_only=True))
    *accounts, total_row = rows
    debit, credit = header.index("Debit balance"), header.index("Credit balance")
    assert total_row[0] == "Total" and total_row[debit] == total_row[credit] == sum(r[debit] for r in accounts) > 0
    gl = finance[words.sheet("fct_gl_daily")]
    assert not any("minor" in str(c.value).lower() for c in gl[HEADER_ROW])
    collections = load_workbook(pack.folder / f"operations-{LAST}.xlsx")[words.sheet("collections")]
    ages = [c.value for c in collections[HEADER_ROW]].index("Average case age (days)") + 1
    assert collections.cell(row=HEADER_ROW + 1, column=ages).number_format == "#,##0.0"  # days are not money
    kpi = load_workbook(pack.folder / f"kpi-summary-{LAST}.xlsx").worksheets[0]
    figures = {r[0]: r[1] for r in kpi.iter_rows(min_row=HEADER_ROW + 1, max_col=2, values_only=True) if r[0]}
    assert figures["Trial balance difference (CNY)"] == 0 and figures["Sub-ledger vs GL difference (CNY)"] == 0
    assert figures["Active contracts"] == con.execute("SELECT COUNT(*) FROM asset.fct_contracts WHERE contract_status = 'active'").fetchone()[0]
    assert kpi._charts
    # the delinquency chart leaves the current bucket out
    assert {r[0] for r in load_workbook(pack.folder / f"asset-{LAST}.xlsx").worksheets[0].iter_rows(min_row=HEADER_ROW + 1, max_col=1,
                                                                                               values_only=True)} <= {"M1", "M2", "M3", "M4+"}


def test_every_mart_column_has_its_words_in_both_languages(book):
    home, _ = book
    con = wh(home)
    columns = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE table_schema IN "
                                         "('sales', 'approval', 'asset', 'operations', 'finance') AND (table_name LIKE 'rpt_%' "
                                         "OR table_name = 'fct_gl_daily')").fetchall()}
    for language in ("en", "zh"):
        words = words_for(language)
        assert [c for c in sorted(columns) if not c.endswith("_minor") and not words.column(c)] == []
    pack = build_pack(LAST, folder=home / "zh", language="zh")
    tb = load_workbook(pack.folder / f"finance-{LAST}.xlsx")["试算平衡表"]
    assert [c.value for c in tb[HEADER_ROW]][:2] == ["科目代码", "科目名称"] and tb["A2"].value.startswith(f"截至 {LAST}")
    assert any(r[0] == "合计" for r in tb.iter_rows(min_row=HEADER_ROW + 1, values_only=True))


def test_the_pack_prints_legibly(book, tmp_path):
    """LibreOffice turns the workbooks into PDF as a reader would print them: one landscape page
    per short sheet, page numbers, and the trial balance's totals on its page, equal."""
    import pypdfium2 as pdfium

    from tests.support.office import to_pdf

    pack = build_pack(LAST, folder=tmp_path)
    finance = to_pdf(pack.folder / f"finance-{LAST}.xlsx", tmp_path / "pdf")
    kpi = to_pdf(pack.folder / f"kpi-summary-{LAST}.xlsx", tmp_path / "pdf")
    pdf = pdfium.PdfDocument(finance)
    texts = [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
    sheets = load_workbook(pack.folder / f"finance-{LAST}.xlsx").sheetnames
    assert len(sheets) <= len(pdf) <= len(sheets) + 6, len(pdf)  # the daily GL may take a few pages; nothing else does
    width, height = pdf[0].get_size()
    assert width > height  # landscape
    assert all(f"Page {i + 1} of {len(pdf)}" in t for i, t in enumerate(texts))
    tb_page = next(t for t in texts if "Trial balance" in t and "Total" in t)
    tb = load_workbook(pack.folder / f"finance-{LAST}.xlsx")["Trial balance"]
    total = next(r for r in tb.iter_rows(min_row=HEADER_ROW + 1, values_only=True) if r[0] == "Total")
    shown = f"¥{total[3]:,.2f}"
    assert tb_page.count(shown) == 2, (shown, tb_page[-400:])  # debit and credit totals, the same figure
    assert len(pdfium.PdfDocument(kpi)) == 1


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


def test_the_warehouse_documents_every_column_and_its_date(book):
    """Every mart column carries its description as a comment (persist_docs), every mart says the
    business date it reflects, and the dbt docs site is generated as one page for analysts."""
    from autofin.reporting.warehouse import build_docs

    home, _ = book
    con = wh(home)
    marts = ("sales", "approval", "asset", "operations", "finance")
    undocumented = con.execute("SELECT schema_name || '.' || table_name || '.' || column_name FROM duckdb_columns() "
                               f"WHERE schema_name IN {marts} AND (comment IS NULL OR comment = '')").fetchall()
    assert undocumented == []
    tables = con.execute(f"SELECT schema_name, table_name, comment FROM duckdb_tables() WHERE schema_name IN {marts}").fetchall()
    assert len(tables) >= 25 and all(comment for _, _, comment in tables)
    for schema, table, _ in tables:
        assert con.execute(f'SELECT DISTINCT as_of_date FROM "{schema}"."{table}"').fetchall() in ([(LAST,)], []), table
    con.close()
    page = build_docs()
    html = page.read_text(encoding="utf-8")
    # one self-contained page: the manifest and the catalog inside it (JSON, non-ASCII escaped)
    assert page.name == "static_index.html" and "rpt_finance__trial_balance" in html
    assert '"description": "Debit balance (\\u501f\\u65b9\\u4f59\\u989d). Yuan (CNY), exact to the fen."' in html
