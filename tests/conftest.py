"""Shared fixtures: a migrated store on SQLite and on a real PostgreSQL server.

`store` is parametrised over both back ends; a test that takes it runs twice. PostgreSQL is a
real server started on loopback for the session (tests/support/postgres.py); if it cannot
start, those tests fail, they are never skipped.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from autofin.store.engine import make_engine
from autofin.store.migrate import upgrade
from tests.support.postgres import PostgresServer, start_server

_db_counter = itertools.count()

# the Dagster instance the CLI reports its days to (pipelines/sync.py): one of the session's own,
# never the project's .dagster_home (inherited by the CLI subprocesses the tests start)
_DAGSTER_HOME = tempfile.mkdtemp(prefix="autofin-dagster-")
open(os.path.join(_DAGSTER_HOME, "dagster.yaml"), "w").close()  # defaults, under the home itself
os.environ["DAGSTER_HOME"] = _DAGSTER_HOME
os.environ["AUTOFIN_DAGSTER_STORAGE"] = _DAGSTER_HOME


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    server = start_server()
    try:
        admin = make_engine(server.url())
        with admin.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("CREATE DATABASE autofin_template"))
        admin.dispose()
        template = make_engine(server.url("autofin_template"))
        upgrade(template)
        template.dispose()
        yield server
    finally:
        server.stop()


def _postgres_store(server: PostgresServer) -> Engine:
    name = f"autofin_test_{next(_db_counter)}"
    admin = make_engine(server.url())
    with admin.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text(f"CREATE DATABASE {name} TEMPLATE autofin_template"))
    admin.dispose()
    return make_engine(server.url(name))


_sqlite_template: list[str] = []


def _sqlite_store(tmp_path) -> Engine:
    """A copy of a store migrated once per session (as PostgreSQL's test databases come from a
    template): running every migration for each of some 400 tests cost about a minute."""
    if not _sqlite_template:
        path = os.path.join(tempfile.mkdtemp(prefix="autofin-sqlite-template-"), "template.db")
        template = make_engine(f"sqlite:///{path}")
        upgrade(template)
        with template.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file, which is what is copied
        template.dispose()
        _sqlite_template.append(path)
    shutil.copyfile(_sqlite_template[0], tmp_path / "autofin.db")
    return make_engine(f"sqlite:///{tmp_path / 'autofin.db'}")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, tmp_path) -> Iterator[Engine]:
    """A freshly migrated, empty store on each back end."""
    engine = _postgres_store(request.getfixturevalue("pg_server")) if request.param == "postgres" else _sqlite_store(tmp_path)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_store(tmp_path) -> Iterator[Engine]:
    engine = _sqlite_store(tmp_path)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_store(pg_server) -> Iterator[Engine]:
    """A freshly migrated store on the real PostgreSQL server only."""
    engine = _postgres_store(pg_server)
    yield engine
    engine.dispose()
