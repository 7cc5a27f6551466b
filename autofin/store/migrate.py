"""Apply Alembic migrations programmatically (`autofin db upgrade`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    with engine.begin() as conn:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise StoreOutOfDateError("no migrations found next to the code")
    return head


class StoreOutOfDateError(Exception):
    """The store's schema is not the one this code expects."""


def require_current(engine: Engine) -> None:
    """Refuse to work on a store whose schema is older (or newer) than this code's migrations."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise StoreOutOfDateError(
            f"the store is at migration {current or 'none'}, this code expects {head}: run `autofin db upgrade`"
        )
