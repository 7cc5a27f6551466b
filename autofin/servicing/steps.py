"""Every module that registers cycle steps, imported in one place."""

from autofin.servicing import allocation, banking, billing, close, delinquency, penalties, reconciliation  # noqa: F401
