"""Bulk loading: many rows into one table, the fast way of each back end.

SQLite: executemany of a prepared INSERT inside the caller's transaction. PostgreSQL: COPY.
Rows are tuples in `columns` order; dates as `datetime.date`, money as int. Callers that assign
primary keys themselves call `sync_sequences` once afterwards (PostgreSQL identities).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, Table, text

from autofin.store.engine import is_sqlite


def insert_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[tuple]) -> int:
    if is_sqlite(conn):
        placeholders = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({placeholders})"
        cursor = conn.connection.driver_connection.cursor()
        rows = rows if isinstance(rows, list) else list(rows)
        cursor.executemany(sql, rows)
        return len(rows)
    count = 0
    raw = conn.connection.driver_connection
    with raw.cursor().copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def sync_sequences(conn: Connection, tables: Iterable[Table]) -> None:
    """After explicit ids: move PostgreSQL's identity sequences past the largest id."""
    if is_sqlite(conn):
        return
    for table in tables:
        (pk,) = table.primary_key.columns
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', '{pk.name}'), "
                f"COALESCE((SELECT MAX({pk.name}) FROM {table.name}), 0) + 1, false)"
            )
        )


def next_id(conn: Connection, table: Table) -> int:
    (pk,) = table.primary_key.columns
    return int(conn.execute(text(f"SELECT COALESCE(MAX({pk.name}), 0) + 1 FROM {table.name}")).scalar_one())
