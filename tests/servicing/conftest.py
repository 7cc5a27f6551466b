from datetime import date

import pytest

from autofin.demo.book import seed_book
from autofin.reference import calendar, load_products, voucher_templates
from autofin.servicing.cycle import StepContext
from autofin.store.products import sync_products

AS_OF = date(2026, 11, 20)


@pytest.fixture
def ctx(tmp_path):
    return StepContext(calendar=calendar(), templates=voucher_templates(), export_dir=tmp_path / "exports", bank_root=tmp_path / "bank_files")


def seed(engine, contracts=400, seed=21):
    with engine.begin() as conn:
        sync_products(conn, load_products())
    return seed_book(engine, contracts=contracts, as_of=AS_OF, seed=seed, chunk=200, show_progress=False)
