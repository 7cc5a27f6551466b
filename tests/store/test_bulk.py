"""A whole table's load with its indexes built after it, and references checked once at the commit
(SQLite: what the demo seed's instalments go through, and the migrations); rows read as the driver's tuples."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text

from autofin.store.bulk import fetch_rows, indexes_built_after
from autofin.store.engine import references_checked_at_commit
from autofin.store.models import Instalment

INDEXES = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'instalment' AND sql IS NOT NULL ORDER BY name"


def test_a_load_drops_the_indexes_no_reference_needs_and_builds_them_again_as_they_were(sqlite_store):
    with sqlite_store.begin() as conn:
        before = conn.execute(text(INDEXES)).all()
        with indexes_built_after(conn, Instalment.__table__):
            during = [name for name, _ in conn.execute(text(INDEXES))]
        after = conn.execute(text(INDEXES)).all()
    # foreign keys enforced: the ids' unique index stays, which the penalties and allocations refer to
    assert during == ["uq_instalment_instalment_id"]
    assert after == before and len(before) == 5


def test_a_load_that_fails_leaves_the_indexes_as_they_were(sqlite_store):
    with sqlite_store.connect() as conn:
        before = conn.execute(text(INDEXES)).all()
        conn.rollback()
        with pytest.raises(RuntimeError, match="the load broke"), conn.begin(), indexes_built_after(conn, Instalment.__table__):
            raise RuntimeError("the load broke")
        assert conn.execute(text(INDEXES)).all() == before


def test_references_are_checked_at_the_commit_and_a_broken_one_refuses_it(sqlite_store):
    with sqlite_store.connect() as conn:
        broken = r"the load left 1 broken references, the first: \('instalment_penalty'"
        with pytest.raises(RuntimeError, match=broken), references_checked_at_commit(conn, "the load", ("instalment_penalty",)):
            with indexes_built_after(conn, Instalment.__table__):  # unenforced: the referenced index goes too
                assert conn.execute(text(INDEXES)).all() == []
            conn.execute(text("INSERT INTO instalment_penalty (instalment_id, penalty_minor, accrued_micro) VALUES (987654321, 1, 1)"))
        assert conn.execute(text("SELECT COUNT(*) FROM instalment_penalty")).scalar_one() == 0
        assert len(conn.execute(text(INDEXES)).all()) == 5
        assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1  # enforced again after it


TEN = text("WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 10) SELECT n, 'x' || n FROM c ORDER BY n")


def _cursors_of(conn) -> list:
    """The driver cursors of the statements `conn` runs from now on."""
    cursors: list = []
    event.listen(conn, "after_cursor_execute", lambda _conn, cursor, *_: cursors.append(cursor))
    return cursors


def _closed(cursor) -> bool:  # sqlite3: "Cannot operate on a closed cursor."; psycopg: "the cursor is closed"
    try:
        cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 (each driver its own class)
        return "closed" in str(exc).lower()
    return False


def test_rows_are_read_as_the_drivers_tuples_and_the_statement_is_closed_after(store):
    with store.begin() as conn:
        cursors = _cursors_of(conn)
        rows = fetch_rows(conn, TEN)
        assert [n for n, _ in rows] == list(range(1, 11))
        assert all(type(row) is tuple and row[1] == f"x{row[0]}" for row in rows)  # the driver's plain tuples
        assert len(cursors) == 1 and _closed(cursors[0])
