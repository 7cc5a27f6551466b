from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from autofin.store.migrate import current_revision, head_revision
from autofin.store.models import Base


def test_migrations_build_exactly_the_models(store):
    with store.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    assert current_revision(store) == head_revision() == "0004"
    assert set(inspect(store).get_table_names()) >= set(Base.metadata.tables)


def test_sqlite_runs_in_wal_with_foreign_keys(sqlite_store):
    with sqlite_store.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
