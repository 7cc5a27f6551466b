"""Applying a receipt by the contract's frozen waterfall (the reference implementation).

Oldest instalment first (due date, then sequence); within an instalment the components in the
contract's allocation order (default penalty → fee → interest → principal). What is left after
every open amount is paid becomes customer credit. Integer minor units: nothing is rounded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from autofin.domain.errors import InputError
from autofin.domain.products import ALLOCATION_COMPONENTS


@dataclass(frozen=True, slots=True)
class OpenInstalment:
    instalment_id: int
    seq: int
    due_date: date
    penalty: int
    fee: int
    interest: int
    principal: int


@dataclass(frozen=True, slots=True)
class AllocationLine:
    instalment_id: int | None  # None for customer credit
    component: str  # penalty|fee|interest|principal|credit
    amount: int


def allocate_receipt(amount: int, instalments: Sequence[OpenInstalment], order: Sequence[str]) -> list[AllocationLine]:
    if amount <= 0:
        raise InputError("amount", f"a receipt must be positive, got {amount}")
    if sorted(order) != sorted(ALLOCATION_COMPONENTS):
        raise InputError("allocation_order", f"must order exactly {', '.join(ALLOCATION_COMPONENTS)}")
    left, lines = amount, list[AllocationLine]()
    for inst in sorted(instalments, key=lambda i: (i.due_date, i.seq)):
        for component in order:
            due = getattr(inst, component)
            if left == 0:
                return lines
            if due > 0:
                paid = min(due, left)
                lines.append(AllocationLine(inst.instalment_id, component, paid))
                left -= paid
    if left:
        lines.append(AllocationLine(None, "credit", left))
    return lines
