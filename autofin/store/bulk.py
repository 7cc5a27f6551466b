"""Bulk loading and reading: many rows into one table, or out of one query, the fast way of each back end.

Loading: SQLite, executemany of a prepared INSERT inside the caller's transaction; PostgreSQL,
COPY. Rows are tuples in `columns` order; dates as `datetime.date`, money as int. Callers that
assign primary keys themselves call `sync_sequences` once afterwards (PostgreSQL identities).
Reading: `fetch_rows`, the driver's tuples.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Executable, FromClause, Table, text

from autofin.store.engine import is_sqlite


def _driver(conn: Connection) -> Any:
    raw = conn.connection.driver_connection
    if raw is None:
        raise RuntimeError("the connection is closed")
    return raw


def _table(table: Table | FromClause) -> Table:
    """A model's `__table__` (SQLAlchemy types it as any FromClause) as the Table it is."""
    if not isinstance(table, Table):
        raise TypeError(f"rows go into a table, not {table!r}")
    return table


def insert_rows(conn: Connection, into: Table | FromClause, columns: Sequence[str], rows: Iterable[tuple]) -> int:
    table = _table(into)
    if is_sqlite(conn):
        placeholders = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({placeholders})"
        cursor = _driver(conn).cursor()
        rows = rows if isinstance(rows, list) else list(rows)
        cursor.executemany(sql, rows)
        return len(rows)
    count = 0
    with _driver(conn).cursor().copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def fetch_rows(conn: Connection, statement: Executable, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    """Every row of `statement` as the driver's plain tuples: no SQLAlchemy Row built per row
    (result processing is skipped too: SQLite's dates come as their ISO text). For the hundreds of
    thousands of rows of a night's files: 0.36 s less per 500k rows of eight columns."""
    result = conn.execute(statement, params or {})
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def sync_sequences(conn: Connection, tables: Iterable[Table | FromClause]) -> None:
    """After explicit ids: move PostgreSQL's identity sequences past the largest id."""
    if is_sqlite(conn):
        return
    for table in map(_table, tables):
        (pk,) = table.primary_key.columns
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', '{pk.name}'), "
                f"COALESCE((SELECT MAX({pk.name}) FROM {table.name}), 0) + 1, false)"
            )
        )


def next_id(conn: Connection, into: Table | FromClause) -> int:
    table = _table(into)
    (pk,) = table.primary_key.columns
    return int(conn.execute(text(f"SELECT COALESCE(MAX({pk.name}), 0) + 1 FROM {table.name}")).scalar_one())
