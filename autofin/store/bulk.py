"""Bulk loading and reading: many rows into one table, or out of one query, the fast way of each back end.

Loading: SQLite, executemany of a prepared INSERT inside the caller's transaction; PostgreSQL,
COPY. Rows are tuples in `columns` order; dates as `datetime.date`, money as int. Callers that
assign primary keys themselves call `sync_sequences` once afterwards (PostgreSQL identities).
Reading: `fetch_rows`, the driver's tuples. A load of a whole table: `indexes_built_after`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
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


def insert_assigning_ids(conn: Connection, into: Table | FromClause, rows: list[dict[str, Any]]) -> None:
    """INSERT `rows` (without their ids) into a table that on SQLite gives out none: the instalments,
    kept there in due-date order without a rowid (migration 0028). The ids are taken here, the next
    after the largest: a write transaction holds SQLite's one write lock, so no other can take them
    meanwhile. PostgreSQL's identity gives them as for any table."""
    if not rows:
        return
    table = _table(into)
    if is_sqlite(conn):
        (pk,) = table.primary_key.columns
        first = next_id(conn, table)
        rows = [{**row, pk.name: first + k} for k, row in enumerate(rows)]
    conn.execute(table.insert(), rows)


@contextmanager
def indexes_built_after(conn: Connection, into: Table | FromClause) -> Iterator[None]:
    """A bulk load into `into` with its indexes built after it. On SQLite every index the schema
    names for the table is dropped before the load and created again after it, as the schema held
    it: one sort each instead of a search per row. Kept: the table's key and a table constraint's
    index, and, while foreign keys are enforced, an index a foreign key refers to (SQLite refuses any
    write to a parent table whose referenced key has lost its unique index; a load inside
    `store.engine.references_checked_at_commit` drops those too). The caller's transaction holds it
    all: a load that fails rolls back to the indexes as they were. PostgreSQL: as it is."""
    table = _table(into)
    if not is_sqlite(conn):
        yield
        return
    referenced = set()
    if conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one():
        for (child,) in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'").all():
            keys: dict[int, list[str]] = {}
            for key, _, parent, _, to, *_ in conn.exec_driver_sql(f'PRAGMA foreign_key_list("{child}")'):
                if parent == table.name:
                    keys.setdefault(key, []).append(to)
            referenced |= {tuple(columns) for columns in keys.values()}
    indexes = [
        (name, sql) for name, sql in conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name", (table.name,))
        if tuple(column for _, _, column in conn.exec_driver_sql(f'PRAGMA index_info("{name}")')) not in referenced
    ]
    for name, _ in indexes:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    yield
    for _, sql in indexes:
        conn.exec_driver_sql(sql)
