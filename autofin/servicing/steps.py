"""Every module that registers cycle steps, imported in one place."""

from autofin.servicing import allocation, billing, close, delinquency, penalties  # noqa: F401
