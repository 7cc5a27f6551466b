"""The external systems the cycle touches, as Dagster resources configured from the environment."""


import os

from dagster import ConfigurableResource
from sqlalchemy import Engine

from autofin.servicing.context import StepContext


class ServicingResource(ConfigurableResource):
    """The store and the bank exchange area. Empty values mean autofin's defaults
    (AUTOFIN_DATABASE_URL / data/autofin.db, AUTOFIN_BANK_DIR / bank_files)."""

    database_url: str = ""
    bank_dir: str = ""

    def engine(self) -> Engine:
        from autofin.store.engine import get_engine

        return get_engine(self.database_url or None)

    def context(self) -> StepContext:
        if self.bank_dir:
            os.environ["AUTOFIN_BANK_DIR"] = self.bank_dir
        from autofin.servicing.context import default_context

        return default_context()
