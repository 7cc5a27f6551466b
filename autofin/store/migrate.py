"""Apply Alembic migrations programmatically (`autofin db upgrade`)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

from autofin.store.engine import references_checked_at_commit

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """The migrations up to `revision`, in one transaction (see `_migrate`). A store already there is
    left alone: no transaction, and no check of every reference (a minute at 1M, for nothing migrated)."""
    if current_revision(engine) == (head_revision() if revision == "head" else revision):
        return
    _migrate(engine, "upgrade", revision)


def downgrade(engine: Engine, revision: str) -> None:
    """The migrations after `revision` undone, in one transaction (see `_migrate`)."""
    _migrate(engine, "downgrade", revision)


def _migrate(engine: Engine, direction: str, revision: str) -> None:
    """Alembic's upgrade or downgrade in one transaction. On SQLite a table is rebuilt to change its
    shape (create the new one, copy, drop the old, rename), and a table others refer to cannot be
    dropped while foreign keys are enforced: SQLite's own procedure is followed, enforcement off
    around the transaction and every reference checked before the commit
    (`store.engine.references_checked_at_commit`)."""
    from alembic import command

    with engine.connect() as conn, references_checked_at_commit(conn, "the migration"):
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        getattr(command, direction)(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    """The store's migration, from Alembic's own table (read directly: every night asks, and
    importing Alembic to ask cost a second of each cycle process)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


_REVISION = re.compile(r"^(down_revision|revision)\s*=\s*['\"]?([\w]+)?['\"]?\s*$", re.MULTILINE)


@cache
def head_revision() -> str:
    """The revision no other migration revises, read from the migration files (tested equal to what
    Alembic's ScriptDirectory makes of them)."""
    revisions, revised = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = dict((k, v) for k, v in _REVISION.findall(path.read_text(encoding="utf-8")))
        revisions.add(found["revision"])
        if found.get("down_revision") and found["down_revision"] != "None":
            revised.add(found["down_revision"])
    heads = sorted(revisions - revised)
    if len(heads) != 1:
        raise StoreOutOfDateError(f"the migrations next to the code have {len(heads)} heads: {', '.join(heads) or 'none'}")
    return heads[0]


class StoreOutOfDateError(Exception):
    """The store's schema is not the one this code expects."""


def require_current(engine: Engine) -> None:
    """Refuse to work on a store whose schema is older (or newer) than this code's migrations."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise StoreOutOfDateError(
            f"the store is at migration {current or 'none'}, this code expects {head}: run `autofin db upgrade`"
        )
