"""The Excel pack for management: reports/<date>/ with one workbook per area and a KPI summary.

Every sheet is a mart table from the warehouse (the `rpt_` tables of the area, plus the daily GL
for finance), formatted as people expect: header row frozen and filtered, yuan amounts as
¥#,##0.00, rates as percentages, dates as yyyy-mm-dd, widths to fit. Each workbook carries native
Excel charts. Personal data never reaches the pack: the marts hold masked ids and phones only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from autofin.settings import reports_dir, warehouse_path

AREAS = ("sales", "approval", "asset", "operations", "finance")
EXTRA = {"finance": ["fct_gl_daily"]}
YUAN = '"¥"#,##0.00'
PERCENT = "0.00%"
INTEGER = "#,##0"
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
HEADER_FONT = Font(bold=True, color="FFFFFF")
RATE_COLUMN = re.compile(r"(rate|ratio|share|utilisation)")
MAX_ROWS = 1_000_000  # below Excel's 1,048,576


@dataclass
class PackResult:
    folder: Path
    workbooks: dict[str, list[str]] = field(default_factory=dict)  # file → sheets


def _tables(con: duckdb.DuckDBPyConnection, area: str) -> list[str]:
    names = [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_name LIKE 'rpt_%' ORDER BY table_name", [area]
    ).fetchall()]
    return names + EXTRA.get(area, [])


def _sheet_name(table: str) -> str:
    return re.sub(r"^rpt_[a-z]+__", "", table)[:31]


def _table_sheet(wb: Workbook, title: str, cursor: duckdb.DuckDBPyConnection, index: int | None = None):  # noqa: ANN202
    """A sheet holding a query's result: header styled, frozen and filtered, columns formatted and sized."""
    columns = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    ws = wb.create_sheet(title, index)
    ws.append(columns)
    for row in rows:
        ws.append([_cell(v) for v in row])
    for cell in ws[1]:
        cell.fill, cell.font = HEADER_FILL, HEADER_FONT
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(max(len(columns), 1))}{max(len(rows) + 1, 2)}"
    sample = rows[:200]
    for i, name in enumerate(columns, start=1):
        values = [r[i - 1] for r in sample]
        fmt = _format(name, values)
        if fmt:
            for (cell,) in ws.iter_rows(min_row=2, max_row=len(rows) + 1, min_col=i, max_col=i):
                cell.number_format = fmt
        width = max([len(name)] + [len(_text(v)) for v in values]) + 2
        ws.column_dimensions[get_column_letter(i)].width = min(max(width, 10), 48)
    return ws, columns, len(rows)


def _cell(value):  # noqa: ANN001, ANN202
    if isinstance(value, datetime) and value.time() == datetime.min.time():
        return value.date()
    return value


def _text(value) -> str:  # noqa: ANN001
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return "" if value is None else str(value)


def _format(name: str, values: list) -> str | None:
    present = [v for v in values if v is not None]
    if not present:
        return None
    if isinstance(present[0], (date, datetime)):
        return "yyyy-mm-dd"
    if RATE_COLUMN.search(name) and isinstance(present[0], (Decimal, float)):
        return PERCENT
    if isinstance(present[0], Decimal):
        return YUAN
    if isinstance(present[0], int) and not name.endswith("_id") and name not in ("rank", "attempt", "vintage_year"):
        return INTEGER
    return None


def _chart(ws, kind: str, title: str, columns: list[str], n: int, x: str, ys: list[str], anchor: str = "") -> None:  # noqa: ANN001
    if n == 0 or any(c not in columns for c in [x, *ys]):
        return
    chart = LineChart() if kind == "line" else BarChart()
    chart.title, chart.height, chart.width = title, 8, 18
    for y in ys:
        col = columns.index(y) + 1
        chart.add_data(Reference(ws, min_col=col, min_row=1, max_row=n + 1), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=columns.index(x) + 1, min_row=2, max_row=n + 1))
    ws.add_chart(chart, anchor or f"{get_column_letter(len(columns) + 2)}2")


def _summary_sheet(wb: Workbook, con: duckdb.DuckDBPyConnection, title: str, sql: str, charts: list[tuple]) -> None:
    """A small aggregate sheet made for its charts (e.g. financed by month), placed first."""
    ws, columns, n = _table_sheet(wb, title, con.execute(sql), index=0)
    for k, (kind, chart_title, x, ys) in enumerate(charts):
        _chart(ws, kind, chart_title, columns, n, x, ys, anchor=f"{get_column_letter(len(columns) + 2)}{2 + 17 * k}")


CHART_SHEETS = {
    "sales": ("by month", "SELECT origination_month AS month, SUM(contracts) AS contracts, SUM(financed_amount) AS financed_amount "
              "FROM sales.rpt_sales__originations_monthly GROUP BY 1 ORDER BY 1",
              [("line", "Financed amount by month of origination", "month", ["financed_amount"]),
               ("bar", "Contracts by month of origination", "month", ["contracts"])]),
    "approval": ("funnel chart", "SELECT stage, applications FROM approval.rpt_approval__funnel ORDER BY stage_order",
                 [("bar", "Application funnel", "stage", ["applications"])]),
    "asset": ("by bucket", "SELECT bucket, SUM(contracts) AS contracts, SUM(principal_outstanding) AS principal_outstanding "
              "FROM asset.rpt_asset__portfolio GROUP BY 1 ORDER BY CASE bucket WHEN 'current' THEN 0 WHEN 'M1' THEN 1 WHEN 'M2' THEN 2 "
              "WHEN 'M3' THEN 3 ELSE 4 END",
              [("bar", "Principal outstanding by delinquency bucket", "bucket", ["principal_outstanding"]),
               ("bar", "Contracts by delinquency bucket", "bucket", ["contracts"])]),
    "operations": ("debit success", "SELECT business_date, "
                   "CAST(SUM(collected) * 1.0 / NULLIF(SUM(answered), 0) AS DECIMAL(9, 4)) AS success_rate, SUM(debits) AS debits "
                   "FROM operations.rpt_operations__debit_success GROUP BY 1 ORDER BY 1",
                   [("line", "Direct debit success rate", "business_date", ["success_rate"]),
                    ("bar", "Direct debits sent", "business_date", ["debits"])]),
    "finance": ("ageing chart", "SELECT bucket, principal, interest, fee, penalty FROM finance.rpt_finance__receivables_ageing",
                [("bar", "Billed receivables by bucket and component", "bucket", ["principal", "interest", "fee", "penalty"])]),
}

KPIS = [
    ("Active contracts", "SELECT COUNT(*) FROM asset.fct_contracts WHERE contract_status = 'active'", INTEGER),
    ("Principal outstanding (CNY)", "SELECT SUM(principal_outstanding) FROM asset.fct_contracts WHERE contract_status = 'active'", YUAN),
    ("Billed and unpaid (CNY)", "SELECT SUM(billed_unpaid) FROM asset.fct_contracts WHERE contract_status = 'active'", YUAN),
    ("30+ days past due, share of outstanding", "SELECT SUM(principal_outstanding) FILTER (WHERE dpd > 30) / SUM(principal_outstanding) "
     "FROM asset.fct_contracts WHERE contract_status = 'active'", PERCENT),
    ("Open collection cases", "SELECT COALESCE(SUM(open_cases), 0) FROM operations.rpt_operations__collections", INTEGER),
    ("Debit success rate (all answered)", "SELECT SUM(collected) * 1.0 / NULLIF(SUM(answered), 0) FROM operations.rpt_operations__debit_success", PERCENT),
    ("Cash received (CNY)", "SELECT COALESCE(SUM(received), 0) FROM finance.rpt_finance__cash_received", YUAN),
    ("Open reconciliation breaks", "SELECT COUNT(*) FROM finance.rpt_finance__reconciliation_breaks WHERE break_status = 'open'", INTEGER),
    ("Trial balance difference (CNY)", "SELECT (SUM(debit_minor) - SUM(credit_minor)) * 0.01 FROM finance.rpt_finance__trial_balance", YUAN),
    ("Sub-ledger vs GL difference (CNY)", "SELECT SUM(ABS(difference)) FROM finance.rpt_finance__subledger_vs_gl", YUAN),
]


def build_pack(business_date: date, *, warehouse: Path | None = None, folder: Path | None = None) -> PackResult:
    con = duckdb.connect(str(warehouse or warehouse_path()), read_only=True)
    out = PackResult((folder or reports_dir()) / business_date.isoformat())
    out.folder.mkdir(parents=True, exist_ok=True)
    try:
        for area in AREAS:
            wb = Workbook()
            wb.remove(wb.active)
            for table in _tables(con, area):
                _table_sheet(wb, _sheet_name(table), con.execute(f'SELECT * FROM "{area}"."{table}" LIMIT {MAX_ROWS}'))
            sheet_title, sql, charts = CHART_SHEETS[area]
            _summary_sheet(wb, con, sheet_title, sql, charts)
            wb.properties.title = f"autofin {area} report {business_date.isoformat()}"
            path = out.folder / f"{area}-{business_date.isoformat()}.xlsx"
            wb.save(path)
            out.workbooks[path.name] = wb.sheetnames
        path = out.folder / f"kpi-summary-{business_date.isoformat()}.xlsx"
        _kpi_workbook(con, business_date).save(path)
        out.workbooks[path.name] = ["KPI"]
    finally:
        con.close()
    return out


def _kpi_workbook(con: duckdb.DuckDBPyConnection, business_date: date) -> Workbook:
    wb = Workbook()
    ws = wb.active
    ws.title = "KPI"
    ws["A1"] = f"Key figures as of {business_date.isoformat()}"
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([])
    ws.append(["figure", "value"])
    for cell in ws[3]:
        cell.fill, cell.font = HEADER_FILL, HEADER_FONT
    for label, sql, fmt in KPIS:
        row = con.execute(sql).fetchone()
        value = None if row is None else row[0]
        ws.append([label, value if value is not None else 0])
        ws.cell(row=ws.max_row, column=2).number_format = fmt
    ws.column_dimensions["A"].width, ws.column_dimensions["B"].width = 42, 22
    ws.freeze_panes = "A4"
    rows = con.execute("SELECT bucket, SUM(principal_outstanding) FROM asset.rpt_asset__portfolio GROUP BY 1 "
                       "ORDER BY CASE bucket WHEN 'current' THEN 0 WHEN 'M1' THEN 1 WHEN 'M2' THEN 2 WHEN 'M3' THEN 3 ELSE 4 END").fetchall()
    ws["D3"], ws["E3"] = "bucket", "principal outstanding"
    for i, (bucket, amount) in enumerate(rows, start=4):
        ws.cell(row=i, column=4, value=bucket)
        ws.cell(row=i, column=5, value=amount).number_format = YUAN
    ws.column_dimensions["D"].width, ws.column_dimensions["E"].width = 12, 22
    chart = BarChart()
    chart.title, chart.height, chart.width = "Portfolio by delinquency bucket", 8, 16
    chart.add_data(Reference(ws, min_col=5, min_row=3, max_row=3 + len(rows)), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=4, min_row=4, max_row=3 + len(rows)))
    ws.add_chart(chart, "D12")
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    return wb
