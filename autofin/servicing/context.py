"""The cycle's context from the configured settings and assets (the one place that wires it)."""

from __future__ import annotations

from functools import partial

from autofin.bankfiles.transport import transport_for
from autofin.reference import bank_profiles, calendar, voucher_templates
from autofin.servicing.cycle import StepContext
from autofin.settings import bank_dir, export_dir


def default_context(banks: dict | None = None) -> StepContext:
    banks = bank_profiles() if banks is None else banks
    root = bank_dir()
    return StepContext(
        calendar=calendar(),
        templates=voucher_templates(),
        banks=banks,
        bank_root=root,
        transport_for=partial(transport_for, bank_root=root),
        export_dir=export_dir(),
    )
