from datetime import date

import pytest

from autofin.reference import calendar, voucher_templates
from autofin.servicing.context import StepContext
from tests.support.books import seed_store

AS_OF = date(2026, 11, 20)


@pytest.fixture
def ctx(tmp_path):
    return StepContext(calendar=calendar(), templates=voucher_templates(), export_dir=tmp_path / "exports", bank_root=tmp_path / "bank_files")


def seed(engine, contracts=400, seed=21):
    return seed_store(engine, contracts=contracts, as_of=AS_OF, seed=seed, chunk=200)
