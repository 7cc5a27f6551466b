"""The SQL spellings that differ between SQLite and PostgreSQL, for the nightly steps. Those the
store layer needs too (`indexed_by`, `grouped_by_sorting`, `integer_key`) are in store.engine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection


def least(conn: Connection, a: str, b: str) -> str:
    return f"min({a}, {b})" if conn.dialect.name == "sqlite" else f"LEAST({a}, {b})"


def greatest(conn: Connection, a: str, b: str) -> str:
    return f"max({a}, {b})" if conn.dialect.name == "sqlite" else f"GREATEST({a}, {b})"


def position(conn: Connection, needle: str, haystack: str) -> str:
    """1-based position of the literal `needle` in the text expression `haystack`."""
    return f"instr({haystack}, '{needle}')" if conn.dialect.name == "sqlite" else f"strpos({haystack}, '{needle}')"


def days_between(conn: Connection, later: str, earlier: str) -> str:
    """Whole days from `earlier` to `later` (date expressions or bound date parameters)."""
    if conn.dialect.name == "sqlite":
        return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"
    return f"(CAST({later} AS date) - CAST({earlier} AS date))"


def zero_pad(conn: Connection, expr: str, width: int) -> str:
    """An integer expression as text, left-padded with zeros to `width`."""
    if conn.dialect.name == "sqlite":
        return f"substr('{'0' * width}' || ({expr}), -{width}, {width})"
    return f"lpad(CAST({expr} AS text), {width}, '0')"


def analyze(conn: Connection, table: str) -> None:
    """Give PostgreSQL's planner the size of a temporary table just filled (autovacuum never sees
    temporary tables; without statistics it plans for a few rows). SQLite plans without them."""
    if conn.dialect.name != "sqlite":
        conn.exec_driver_sql(f"ANALYZE {table}")


@contextmanager
def by_partial_index(conn: Connection) -> Iterator[None]:
    """Statements that read a table through the partial index of the few rows a night wants, whatever
    PostgreSQL's planner guesses. Its guess of "status = 'scheduled' AND due_date <= D" multiplies the
    two as if independent (millions of rows at 1M, for tens of thousands); with a shard's
    `contract_id % N = K` added it chose a scan of all 33M instalments, 3 s a shard. The partial index
    holds only the rows of that status, so going through it is never the dearer way. SQLite plans by
    the index already."""
    if conn.dialect.name == "sqlite":
        yield
        return
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    yield
    # not in a `finally`: after an error the transaction is rolled back, the setting with it, and a
    # RESET sent into the failed transaction would only hide the error that failed it
    conn.exec_driver_sql("RESET enable_seqscan")
