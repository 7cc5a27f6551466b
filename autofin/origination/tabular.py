"""Uploaded tables (CSV or XLSX) as rows of text: the one reader of batch uploads.

The first row names the columns; cells come back as stripped strings ('' when empty), so every
batch validates its rows with the same field rules as the single-item endpoints.
"""

from __future__ import annotations

import csv
import io

from autofin.domain.errors import InputError

MAX_ROWS = 10_000


def read_table(data: bytes, file_name: str) -> list[dict[str, str]]:
    name = file_name.lower()
    if name.endswith(".csv"):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputError("file", "a CSV upload must be UTF-8") from None
        rows = list(csv.reader(io.StringIO(text)))
    elif name.endswith(".xlsx"):
        rows = [[str(v) for v in row] for row in _xlsx_rows(data)]
    else:
        raise InputError("file", f"{file_name}: upload a .csv or .xlsx file")
    rows = [r for r in rows if any(str(c).strip() for c in r)]
    if not rows:
        raise InputError("file", "the table is empty")
    header = [str(c).strip() for c in rows[0]]
    if len(rows) - 1 > MAX_ROWS:
        raise InputError("file", f"{len(rows) - 1} rows; a batch takes at most {MAX_ROWS}")
    return [{h: (str(r[i]).strip() if i < len(r) and r[i] is not None else "") for i, h in enumerate(header) if h} for r in rows[1:]]


def _xlsx_rows(data: bytes) -> list[list[object]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - any unreadable workbook is the same answer
        raise InputError("file", "not a readable .xlsx workbook") from None
    sheet = book.worksheets[0]
    out = [["" if v is None else v for v in row] for row in sheet.iter_rows(values_only=True)]
    book.close()
    return out
