"""The Excel pack for management: reports/<date>/ with one workbook per area and a KPI summary.

Every sheet is a mart table from the warehouse (the `rpt_` tables of the area, plus the daily GL
for finance), laid out to be read and printed:
- a title and the as-of date on top, then one labelled header row (English or Chinese, as the
  pack's language says: assets/reports/labels.yaml), frozen, filtered and repeated on every page;
- the right format per column: yuan amounts as ¥#,##0.00 (never fen: the marts' *_minor columns
  stay in the warehouse), counts as whole numbers, days and hours as numbers, rates as
  percentages, dates as yyyy-mm-dd;
- a Total row where a reader adds up (trial balance, income, ageing, cash, the control accounts);
- landscape, fit to the page width, page numbers in the footer;
- a sheet with no rows says why, instead of staying silently empty.
Each workbook carries native Excel charts, bars unless a line has enough points to be one, never
smoothed; delinquency is shown without the current bucket. Personal data never reaches the pack:
the marts hold masked ids and phones only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.worksheet import Worksheet

from autofin.reference import report_labels
from autofin.settings import report_language, reports_dir, warehouse_path

AREAS = ("sales", "approval", "asset", "operations", "finance")
EXTRA = {"finance": ["fct_gl_daily"]}
LANGUAGES = ("en", "zh")
YUAN = '"¥"#,##0.00'
PERCENT = "0.00%"
INTEGER = "#,##0"
DECIMAL_1 = "#,##0.0"
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
HEADER_FONT = Font(bold=True, color="FFFFFF")
TITLE_FONT = Font(bold=True, size=14)
SUBTITLE_FONT = Font(italic=True, color="595959")
TOTAL_BORDER = Border(top=Side(style="thin"), bottom=Side(style="double"))
HEADER_ROW = 3  # title, as-of line, then the header
MAX_ROWS = 1_000_000  # below Excel's 1,048,576

RATE_COLUMN = re.compile(r"(rate|ratio|share|utilisation)")
COUNT_COLUMN = re.compile(r"^(contracts|applications|decisions|hits|debits|answered|collected|rejected|returned|insufficient_funds|"
                          r"receipts|files|lines|vehicles|open_cases|live_contracts|decided_tasks|approved|bytes|rank|attempt|stage_order|"
                          r"months_on_book|vintage_year|reconciliation_break_id|age_days)$")
DURATION_COLUMN = re.compile(r"(_days|_hours)$")
MONTH_COLUMN = re.compile(r"_month$")
# sheets a reader adds up: a Total row under the money and count columns
TOTALS = {"trial_balance", "income", "receivables_ageing", "cash_received", "subledger_vs_gl"}
NOT_SUMMED = re.compile(r"^(rank|attempt|stage_order|reconciliation_break_id|months_on_book|vintage_year|age_days)$")


@dataclass
class PackResult:
    folder: Path
    workbooks: dict[str, list[str]] = field(default_factory=dict)  # file → sheets


@dataclass(frozen=True)
class Words:
    """The pack's language: sheet titles, column labels and the few fixed words."""

    language: str
    labels: dict[str, Any]

    def word(self, key: str) -> str:
        return str(self.labels["words"][key][self.language])

    def column(self, name: str) -> str:
        label = self.labels["columns"].get(name)
        if label is None:
            raise KeyError(f"column {name!r} has no label in assets/reports/labels.yaml")
        return str(label[self.language])

    def sheet(self, key: str) -> str:
        return str(self.labels["sheets"][key][self.language])

    def empty(self, key: str) -> str:
        note = self.labels["sheets"][key].get("empty")
        return str(note[self.language]) if note else self.word("no_rows")

    def kpi(self, key: str) -> str:
        return str(self.labels["kpis"][key][self.language])


def words_for(language: str | None = None) -> Words:
    language = language or report_language()
    if language not in LANGUAGES:
        raise ValueError(f"the pack's language is one of {', '.join(LANGUAGES)}, not {language!r}")
    return Words(language, report_labels())


def _tables(con: duckdb.DuckDBPyConnection, area: str) -> list[str]:
    names = [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_name LIKE 'rpt_%' ORDER BY table_name", [area]
    ).fetchall()]
    return names + EXTRA.get(area, [])


def _sheet_key(table: str) -> str:
    return re.sub(r"^rpt_[a-z]+__", "", table)


def _shown_columns(columns: Sequence[str], words: Words) -> list[int]:
    """The columns a reader gets: never fen (*_minor), the account name in the pack's language, and
    not the marts' as_of_date (every sheet says its date in its title)."""
    hidden = {"as_of_date"} | ({"account_name_zh"} if words.language == "en" else ({"account_name"} if "account_name_zh" in columns else set()))
    return [i for i, name in enumerate(columns) if not name.endswith("_minor") and name not in hidden]


def _format(name: str, values: list) -> str | None:
    present = [v for v in values if v is not None]
    if not present:
        return None
    first = present[0]
    if isinstance(first, (date, datetime)):
        return "yyyy-mm" if MONTH_COLUMN.search(name) else "yyyy-mm-dd"
    if COUNT_COLUMN.search(name):
        return INTEGER
    if DURATION_COLUMN.search(name):
        return DECIMAL_1
    if RATE_COLUMN.search(name) and isinstance(first, (Decimal, float)):
        return PERCENT
    if isinstance(first, Decimal):
        return YUAN
    if isinstance(first, int):
        return INTEGER
    return None


def _cell(value: Any) -> Any:
    if isinstance(value, datetime) and value.time() == datetime.min.time():
        return value.date()
    return value


def _text(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return "" if value is None else str(value)


def _width(text: str) -> float:
    """Display width: a CJK character takes two columns."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _print_setup(ws: Worksheet | WriteOnlyWorksheet, words: Words) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0  # as wide as the page, as many pages as it takes
    ws.print_title_rows = f"1:{HEADER_ROW}"
    ws.oddFooter.center.text = words.word("page")
    ws.oddFooter.left.text = "autofin"


def _styled(ws: WriteOnlyWorksheet, value: Any, *, font: Font | None = None, fill: PatternFill | None = None, alignment: Alignment | None = None,
            border: Border | None = None, number_format: str | None = None) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value)
    if font is not None:
        cell.font = font
    if fill is not None:
        cell.fill = fill
    if alignment is not None:
        cell.alignment = alignment
    if border is not None:
        cell.border = border
    if number_format is not None:
        cell.number_format = number_format
    return cell


def _table_sheet(wb: Workbook, key: str, cursor: duckdb.DuckDBPyConnection, business_date: date, words: Words,
                 index: int | None = None) -> tuple[WriteOnlyWorksheet, list[str], int]:
    """A sheet holding a query's result, laid out to read and print (see the module's docstring).

    The workbooks are written as they are filled (openpyxl's write-only mode): what goes above the
    rows (the frozen header, the column widths) is set first, then the rows go out one by one. Every
    value of a formatted column is written through that column's one styled cell: a cell object
    made, styled and kept for each of the 3.2M values of the 1M book's pack (its 137k collection
    cases) took most of the pack's minute."""
    all_columns = [d[0] for d in cursor.description]
    keep = _shown_columns(all_columns, words)
    columns = [all_columns[i] for i in keep]
    rows = [[_cell(row[i]) for i in keep] for row in cursor.fetchall()]
    title = words.sheet(key)
    ws = wb.create_sheet(title[:31], index)
    formats = [_format(name, [r[i] for r in rows[:200]]) for i, name in enumerate(columns)]
    ws.freeze_panes = f"A{HEADER_ROW + 1}"
    for i, name in enumerate(columns, start=1):
        sample = [_text(r[i - 1]) for r in rows[:200]]
        ws.column_dimensions[get_column_letter(i)].width = min(max([_width(words.column(name))] + [_width(t) for t in sample]) + 2, 48)
    ws.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(max(len(columns), 1))}{max(HEADER_ROW + len(rows), HEADER_ROW + 1)}"
    _print_setup(ws, words)
    ws.append([_styled(ws, title, font=TITLE_FONT)])
    ws.append([_styled(ws, f"{words.word('as_of')} {business_date.isoformat()} · {words.word('amounts')}", font=SUBTITLE_FONT)])
    header = Alignment(horizontal="center", vertical="center", wrap_text=True)
    ws.append([_styled(ws, words.column(name), font=HEADER_FONT, fill=HEADER_FILL, alignment=header) for name in columns])
    formatted = [(i, _styled(ws, None, number_format=fmt)) for i, fmt in enumerate(formats) if fmt]
    for row in rows:
        out = row.copy()  # the rows keep their values for the Total row
        for i, cell in formatted:  # an empty value too: the cell keeps its column's format
            cell.value, out[i] = out[i], cell  # written by this append, before the next row sets it again
        ws.append(out)
    if not rows:
        ws.append([_styled(ws, words.empty(key), font=SUBTITLE_FONT)])
    elif key in TOTALS:
        ws.append(_total_row(ws, columns, rows, formats, words))
    return ws, columns, len(rows)


def _total_row(ws: WriteOnlyWorksheet, columns: list[str], rows: list[list], formats: list[str | None], words: Words) -> list[WriteOnlyCell]:
    """The Total row under a sheet's money and count columns."""
    bold = Font(bold=True)
    cells = []
    for i, (name, fmt) in enumerate(zip(columns, formats, strict=True), start=1):
        if i == 1:
            cells.append(_styled(ws, words.word("total"), font=bold, border=TOTAL_BORDER))
        elif fmt in (YUAN, INTEGER) and not NOT_SUMMED.search(name):
            cells.append(_styled(ws, sum((r[i - 1] or 0) for r in rows), font=bold, border=TOTAL_BORDER, number_format=fmt))
        else:
            cells.append(_styled(ws, None, font=bold, border=TOTAL_BORDER))
    return cells


def _chart(ws: WriteOnlyWorksheet, kind: str, title: str, columns: list[str], n: int, x: str, ys: list[str], words: Words, anchor: str,
           percent: bool = False) -> None:
    if n == 0 or any(c not in columns for c in [x, *ys]):
        return
    line = kind == "line" and n >= 6  # a line over a handful of points says less than bars
    chart = LineChart() if line else BarChart()
    chart.title, chart.height, chart.width = title, 8, 18
    for y in ys:
        col = columns.index(y) + 1
        chart.add_data(Reference(ws, min_col=col, min_row=HEADER_ROW, max_row=HEADER_ROW + n), titles_from_data=True)
    if line:
        for series in chart.series:
            series.smooth = False
    chart.y_axis.scaling.min = 0  # an axis that starts above zero exaggerates the differences
    if percent:
        chart.y_axis.numFmt = "0%"
    chart.set_categories(Reference(ws, min_col=columns.index(x) + 1, min_row=HEADER_ROW + 1, max_row=HEADER_ROW + n))
    ws.add_chart(chart, anchor)


@dataclass(frozen=True)
class ChartSheet:
    key: str
    sql: str
    charts: tuple[tuple[str, str, str, list[str], bool], ...]  # (kind, title key or text, x, ys, percent axis)


BUCKETS_M1_PLUS = "bucket IN ('M1', 'M2', 'M3', 'M4+')"
CHART_SHEETS = {
    "sales": ChartSheet("by month", "SELECT origination_month AS month, SUM(contracts) AS contracts, SUM(financed_amount) AS financed_amount "
                        "FROM sales.rpt_sales__originations_monthly GROUP BY 1 ORDER BY 1",
                        (("line", "financed_amount", "month", ["financed_amount"], False),
                         ("bar", "contracts", "month", ["contracts"], False))),
    "approval": ChartSheet("funnel chart", "SELECT stage, applications FROM approval.rpt_approval__funnel ORDER BY stage_order",
                           (("bar", "applications", "stage", ["applications"], False),)),
    # delinquency without the current bucket (it would dwarf the others): the M1+ principal, and its share of the book
    "asset": ChartSheet("by bucket", "SELECT bucket, SUM(contracts) AS contracts, SUM(principal_outstanding) AS principal_outstanding, "
                        "CAST(SUM(principal_outstanding) / (SELECT SUM(principal_outstanding) FROM asset.rpt_asset__portfolio) "
                        "AS DECIMAL(9, 4)) AS delinquent_share FROM asset.rpt_asset__portfolio "
                        f"WHERE {BUCKETS_M1_PLUS} GROUP BY 1 ORDER BY 1",
                        (("bar", "principal_outstanding", "bucket", ["principal_outstanding"], False),
                         ("bar", "delinquent_share", "bucket", ["delinquent_share"], True))),
    "operations": ChartSheet("debit success", "SELECT business_date, "
                             "CAST(SUM(collected) * 1.0 / NULLIF(SUM(answered), 0) AS DECIMAL(9, 4)) AS success_rate, SUM(debits) AS debits "
                             "FROM operations.rpt_operations__debit_success GROUP BY 1 ORDER BY 1",
                             (("line", "success_rate", "business_date", ["success_rate"], True),
                              ("bar", "debits", "business_date", ["debits"], False))),
    "finance": ChartSheet("ageing chart", "SELECT bucket, principal, interest, fee, penalty FROM finance.rpt_finance__receivables_ageing",
                          (("bar", "total", "bucket", ["principal", "interest", "fee", "penalty"], False),)),
}


def _chart_sheet(wb: Workbook, con: duckdb.DuckDBPyConnection, spec: ChartSheet, business_date: date, words: Words) -> None:
    """A small aggregate sheet made for its charts (e.g. financed by month), placed first."""
    ws, columns, n = _table_sheet(wb, spec.key, con.execute(spec.sql), business_date, words, index=0)
    anchor_col = get_column_letter(len(columns) + 2)
    for k, (kind, label, x, ys, percent) in enumerate(spec.charts):
        title = f"{words.sheet(spec.key).removesuffix(' (chart)').removesuffix('图')} · {words.column(label)}"
        _chart(ws, kind, title, columns, n, x, ys, words, f"{anchor_col}{HEADER_ROW + 17 * k}", percent)


KPIS = [
    ("active_contracts", "SELECT COUNT(*) FROM asset.fct_contracts WHERE contract_status = 'active'", INTEGER),
    ("principal_outstanding", "SELECT SUM(principal_outstanding) FROM asset.fct_contracts WHERE contract_status = 'active'", YUAN),
    ("billed_unpaid", "SELECT SUM(billed_unpaid) FROM asset.fct_contracts WHERE contract_status = 'active'", YUAN),
    ("dpd30_share", "SELECT SUM(principal_outstanding) FILTER (WHERE dpd > 30) / SUM(principal_outstanding) "
     "FROM asset.fct_contracts WHERE contract_status = 'active'", PERCENT),
    ("open_cases", "SELECT COALESCE(SUM(open_cases), 0) FROM operations.rpt_operations__collections", INTEGER),
    ("debit_success", "SELECT SUM(collected) * 1.0 / NULLIF(SUM(answered), 0) FROM operations.rpt_operations__debit_success", PERCENT),
    ("cash_received", "SELECT COALESCE(SUM(received), 0) FROM finance.rpt_finance__cash_received", YUAN),
    ("open_breaks", "SELECT COUNT(*) FROM finance.rpt_finance__reconciliation_breaks WHERE break_status = 'open'", INTEGER),
    ("tb_difference", "SELECT (SUM(debit_minor) - SUM(credit_minor)) * 0.01 FROM finance.rpt_finance__trial_balance", YUAN),
    ("subledger_difference", "SELECT SUM(ABS(difference)) FROM finance.rpt_finance__subledger_vs_gl", YUAN),
]


def build_pack(business_date: date, *, warehouse: Path | None = None, folder: Path | None = None, language: str | None = None) -> PackResult:
    words = words_for(language)
    con = duckdb.connect(str(warehouse or warehouse_path()), read_only=True)
    out = PackResult((folder or reports_dir()) / business_date.isoformat())
    out.folder.mkdir(parents=True, exist_ok=True)
    try:
        for area in AREAS:
            wb = Workbook(write_only=True)
            for table in _tables(con, area):
                _table_sheet(wb, _sheet_key(table), con.execute(f'SELECT * FROM "{area}"."{table}" LIMIT {MAX_ROWS}'), business_date, words)
            _chart_sheet(wb, con, CHART_SHEETS[area], business_date, words)
            wb.properties.title = f"autofin {area} {business_date.isoformat()}"
            path = out.folder / f"{area}-{business_date.isoformat()}.xlsx"
            wb.save(path)
            out.workbooks[path.name] = wb.sheetnames
        path = out.folder / f"kpi-summary-{business_date.isoformat()}.xlsx"
        kpi = _kpi_workbook(con, business_date, words)
        kpi.save(path)
        out.workbooks[path.name] = kpi.sheetnames
    finally:
        con.close()
    return out


def _kpi_workbook(con: duckdb.DuckDBPyConnection, business_date: date, words: Words) -> Workbook:
    wb = Workbook()
    ws = wb.active
    ws.title = words.word("kpi_title")
    ws["A1"] = words.word("kpi_title")
    ws["A1"].font = TITLE_FONT
    ws["A2"] = f"{words.word('as_of')} {business_date.isoformat()} · {words.word('amounts')}"
    ws["A2"].font = SUBTITLE_FONT
    ws.cell(row=HEADER_ROW, column=1, value=words.word("figure"))
    ws.cell(row=HEADER_ROW, column=2, value=words.word("value"))
    for cell in ws[HEADER_ROW]:
        cell.fill, cell.font = HEADER_FILL, HEADER_FONT
    for key, sql, fmt in KPIS:
        row = con.execute(sql).fetchone()
        value = None if row is None else row[0]
        ws.append([words.kpi(key), value if value is not None else 0])
        ws.cell(row=ws.max_row, column=2).number_format = fmt
    ws.column_dimensions["A"].width, ws.column_dimensions["B"].width = 42, 22
    ws.freeze_panes = f"A{HEADER_ROW + 1}"
    rows = con.execute(f"SELECT bucket, SUM(principal_outstanding) FROM asset.rpt_asset__portfolio WHERE {BUCKETS_M1_PLUS} "
                       "GROUP BY 1 ORDER BY 1").fetchall()
    ws.cell(row=HEADER_ROW, column=4, value=words.column("bucket"))
    ws.cell(row=HEADER_ROW, column=5, value=words.column("principal_outstanding"))
    for i, (bucket, amount) in enumerate(rows, start=HEADER_ROW + 1):
        ws.cell(row=i, column=4, value=bucket)
        ws.cell(row=i, column=5, value=amount).number_format = YUAN
    ws.column_dimensions["D"].width, ws.column_dimensions["E"].width = 12, 22
    if rows:
        chart = BarChart()
        chart.title, chart.height, chart.width = f"{words.sheet('by bucket').removesuffix(' (chart)')} (M1+)", 8, 16
        chart.add_data(Reference(ws, min_col=5, min_row=HEADER_ROW, max_row=HEADER_ROW + len(rows)), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=4, min_row=HEADER_ROW + 1, max_row=HEADER_ROW + len(rows)))
        ws.add_chart(chart, "D12")
    _print_setup(ws, words)
    return wb
