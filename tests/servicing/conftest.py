from datetime import date, timedelta

import pytest

from autofin.reference import calendar, voucher_templates
from autofin.servicing.context import StepContext
from tests.support.books import seed_store

AS_OF = date(2026, 11, 20)


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """The clock of the servicing tests, pinned rather than read from the machine: two weeks after
    AS_OF, so the nights they run from AS_OF run up to two weeks behind it (and none ahead of it),
    as on the day they were written. What a night does can depend on how late it runs (a reminder
    whose moment has passed lapses); a test about that, or one that runs further nights, sets its own."""
    monkeypatch.setenv("AUTOFIN_SIMULATED_TODAY", (AS_OF + timedelta(days=14)).isoformat())


@pytest.fixture
def ctx(tmp_path):
    return StepContext(calendar=calendar(), templates=voucher_templates(), export_dir=tmp_path / "exports", bank_root=tmp_path / "bank_files")


def seed(engine, contracts=400, seed=21):
    return seed_store(engine, contracts=contracts, as_of=AS_OF, seed=seed, chunk=200)
