from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from autofin.store.migrate import current_revision, head_revision
from autofin.store.models import Base


def test_migrations_build_exactly_the_models(store):
    with store.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    assert current_revision(store) == head_revision() == "0005"
    assert set(inspect(store).get_table_names()) >= set(Base.metadata.tables)


def test_sqlite_runs_in_wal_with_foreign_keys(sqlite_store):
    with sqlite_store.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000


def test_the_cycle_refuses_a_store_behind_the_code(tmp_path):
    import os
    import subprocess
    import sys

    from autofin.store.engine import make_engine
    from autofin.store.migrate import upgrade

    upgrade(make_engine(f"sqlite:///{tmp_path / 'autofin.db'}"), "0003")
    result = subprocess.run([sys.executable, "-m", "autofin.cli", "cycle", "run", "--date", "2026-11-23"],
                            env={**os.environ, "AUTOFIN_DATA_DIR": str(tmp_path)}, capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: the store is at migration 0003, this code expects {head_revision()}: run `autofin db upgrade`"
