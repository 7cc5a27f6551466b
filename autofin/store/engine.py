"""The one way to open the store.

SQLite (embedded default) runs in WAL mode with foreign keys on and a busy timeout, and with
SQLAlchemy in charge of transactions (the sqlite3 module's own implicit BEGIN is switched off,
as the SQLAlchemy docs advise, so a transaction really is atomic). `write_transaction` takes the
write lock at BEGIN on SQLite (BEGIN IMMEDIATE), so a nightly step either gets the database or
waits up to the busy timeout (AUTOFIN_SQLITE_BUSY_MS, default 30 s) and then fails clearly, never half-way through.
PostgreSQL is selected by AUTOFIN_DATABASE_URL (postgresql+psycopg://...); its sessions run without JIT,
and a pooled connection is tested on its way out of the pool once it has lain idle (`ping_after_idle`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import overload

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InvalidatePoolError

from autofin.settings import database_url, sqlite_busy_timeout_ms


def normalise_url(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str | None = None) -> Engine:
    url = normalise_url(url or database_url())
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # no JIT compilation: the store's statements are short, or long for their rows written, not for
        # expressions computed, and the planner's cost guesses (a partial index taken for a million rows)
        # had it compile plans for 25-100 ms each (a 200k night: 5.8 against 5.0 s to its close). Options
        # given in the URL come first; this one is added to them
        given = parsed.query.get("options")  # a tuple when the URL gives it more than once
        options = " ".join([*((given,) if isinstance(given, str) else given or ()), "-c jit=off"])
        engine = create_engine(url, connect_args={"options": options})
        ping_after_idle(engine)
        return engine
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    busy_ms = sqlite_busy_timeout_ms()
    engine = create_engine(url, connect_args={"timeout": busy_ms / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


# A connection back in the pool for this long is tested before it is handed out again.
IDLE_BEFORE_PING_SECONDS = 5.0


def ping_after_idle(engine: Engine) -> None:
    """Pessimistic disconnect handling, as `pool_pre_ping`, for the connections that have lain in the
    pool IDLE_BEFORE_PING_SECONDS or more: a server restarted, or a connection closed by the server
    or a firewall while idle, is found on the way out of the pool, every pooled connection is
    discarded (they all went with the server) and a new one is handed out instead of an error.

    A connection in steady use is not pinged: `pool_pre_ping` sent a round trip at every checkout,
    three of a submit's 26 to PostgreSQL. Should the server go in the few seconds after a connection's
    last use, its next statement fails as a disconnect, SQLAlchemy discards the pool, and the entry
    API answers that request 503 (retry) rather than 500."""
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record) -> None:  # noqa: ANN001
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy) -> None:  # noqa: ANN001
        idle_since = record.info.get("idle_since")  # a new connection has none: it was just opened
        if idle_since is None or time.monotonic() - idle_since < IDLE_BEFORE_PING_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            if dialect.is_disconnect(exc, dbapi_connection, None):
                raise InvalidatePoolError(f"a pooled connection idle for {time.monotonic() - idle_since:.0f} s was lost: {exc}") from exc
            raise


def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for `url` (default: the store configured now, not the one configured
    when the first engine was made: a cache keyed on None kept serving the first store)."""
    return _engine_for(normalise_url(url or database_url()))


@cache
def _engine_for(url: str) -> Engine:
    return make_engine(url)


@overload
def utc(moment: datetime) -> datetime: ...
@overload
def utc(moment: None) -> None: ...
def utc(moment: datetime | None) -> datetime | None:
    """A timestamp read back from the store, in UTC (SQLite returns it without its zone; the store keeps UTC)."""
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)


def as_date(value: date | str) -> date:
    """A date read back from the store: SQLite hands a text() query's dates back as text."""
    return value if isinstance(value, date) else date.fromisoformat(value)


def iso(moment: datetime | None) -> str | None:
    """A stored timestamp as ISO 8601 with its zone, for answers."""
    return None if moment is None else utc(moment).isoformat()


def is_sqlite(conn_or_engine: Connection | Engine) -> bool:
    return conn_or_engine.dialect.name == "sqlite"


def grouped_by_sorting(conn: Connection, column: str) -> str:
    """The GROUP BY key of a whole-table aggregation by `column`, read in the table's own order and
    sorted. SQLite groups by an index that yields the column's order if there is one, then looks each
    row up by the table's key: for the instalments, kept in due-date order (0028), 33M lookups in a
    random order at 1M (by contract over 200k contracts: 21 s against 4.2 s read and sorted). `+column`
    is an expression no index serves. PostgreSQL chooses by its statistics: the column as it is."""
    return f"+{column}" if is_sqlite(conn) else column


def indexed_by(conn: Connection, table: str, index: str) -> str:
    """`table` (with its alias) read through `index` on SQLite (`INDEXED BY`: an error, not a scan, if
    the statement cannot use it). SQLite plans without statistics: with the instalments keyed by due
    date (0028), "status = 'billed' AND due_date < D" looked to it like a range of the key, every
    instalment due before D, paid or not, rather than the partial index of the billed ones (the
    Sunday's penalties 2.5 → 5.0 s at 1M). PostgreSQL plans by its statistics (see servicing.sql.by_partial_index)."""
    return f"{table} INDEXED BY {index}" if is_sqlite(conn) else table


def integer_key(conn: Connection) -> str:
    """The one-column integer key of a temporary table. On SQLite only `INTEGER PRIMARY KEY` is the
    table's rowid; `BIGINT PRIMARY KEY` is a table in insertion order with a unique index beside it,
    two b-trees written for every row and two searched for every lookup by the key (the worst
    Tuesday's allocation at 1M keeps a million instalments and 830k receipts in such tables).
    PostgreSQL's INTEGER is 32 bits: BIGINT there."""
    return "INTEGER PRIMARY KEY" if is_sqlite(conn) else "BIGINT PRIMARY KEY"


@contextmanager
def references_checked_at_commit(conn: Connection, what: str, tables: tuple[str, ...] = ()) -> Iterator[None]:
    """A transaction on `conn` whose references SQLite checks once, before the commit, rather than
    row by row: foreign keys unenforced around it (the setting cannot change inside a transaction),
    then `PRAGMA foreign_key_check` of `tables` (all, when none are named), and any reference left
    broken refuses the commit. SQLite's own procedure for rebuilding a table others refer to (the
    migrations), and what lets a bulk load drop a referenced table's unique index until it is built
    again (the seed). `what` names the work in the error. PostgreSQL: a plain transaction."""
    sqlite = is_sqlite(conn)
    with _references_unchecked(conn, sqlite), conn.begin():
        yield
        if sqlite:
            broken = [row for table in tables or (None,)
                      for row in conn.exec_driver_sql("PRAGMA foreign_key_check" + (f'("{table}")' if table else "")).all()]
            if broken:
                raise RuntimeError(f"{what} left {len(broken)} broken references, the first: {tuple(broken[0])}")


@contextmanager
def _references_unchecked(conn: Connection, unchecked: bool) -> Iterator[None]:
    """SQLite's per-row reference checks off on `conn` around a transaction begun inside (the setting
    cannot change within one), and on again after it, however it ends; nothing when not `unchecked`."""
    if unchecked:
        _driver_pragma(conn, "foreign_keys=OFF")
    try:
        yield
    finally:
        if unchecked and not conn.invalidated:
            _driver_pragma(conn, "foreign_keys=ON")


def _driver_pragma(conn: Connection, pragma: str) -> None:
    """A PRAGMA on the sqlite3 connection itself, outside any transaction (SQLAlchemy would begin one)."""
    driver = conn.connection.driver_connection
    if driver is None:
        raise RuntimeError("the connection is closed")
    driver.execute(f"PRAGMA {pragma}")


@contextmanager
def write_transaction(engine: Engine, *, references_checked: bool = True) -> Iterator[Connection]:
    """One atomic unit of work that writes: commit on success, roll back on any error.

    `references_checked=False`: on SQLite, the work's statements run without its per-row check of
    each reference written (a search of the row referred to, for every row), for work whose every
    reference is read by a join to the row referred to and which holds them by its own counts (the
    steps in `servicing.cycle.REFERENCES_HELD_BY_THE_STEP`, each saying how). The setting cannot
    change inside a transaction: it is set before and restored after, on this connection only.
    PostgreSQL checks them as always."""
    with engine.connect() as conn:
        conn = conn.execution_options(sqlite_immediate=True)
        with _references_unchecked(conn, not references_checked and is_sqlite(conn)), conn.begin():
            yield conn
