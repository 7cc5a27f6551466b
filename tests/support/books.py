"""A seeded book in a migrated store: the starting point of most tests."""

from datetime import date

from sqlalchemy import Engine

from autofin.demo.book import SeedReport, seed_book
from autofin.reference import load_products
from autofin.store.engine import make_engine
from autofin.store.migrate import upgrade
from autofin.store.products import sync_products


def seed_store(engine: Engine, *, contracts: int, as_of: date, seed: int = 7, chunk: int = 250) -> SeedReport:
    """Products synced and a synthetic book of `contracts` loaded into an (empty, migrated) store."""
    with engine.begin() as conn:
        sync_products(conn, load_products())
    return seed_book(engine, contracts=contracts, as_of=as_of, seed=seed, chunk=chunk, show_progress=False)


def seeded_sqlite(path, *, contracts: int, as_of: date, seed: int = 7) -> str:
    """A new SQLite store at `path`, migrated and seeded; returns its URL."""
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade(engine)
    seed_store(engine, contracts=contracts, as_of=as_of, seed=seed)
    engine.dispose()
    return url
