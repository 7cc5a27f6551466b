"""Early settlement (提前结清) quote for a contract on a date.

total = unpaid billed amounts + unpaid penalties + outstanding (unbilled) principal
        + interest accrued to the date + the product's early-settlement fee

Interest accrues on the next unbilled instalment in proportion to the days elapsed of its period
(from the previous due date, or the start, to its due date), rounded by the rule. The fee is the
tier's percentage of the outstanding principal, at least the product's minimum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from autofin.domain.errors import InputError
from autofin.domain.money import round_money
from autofin.domain.products import ProductTerms

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class InstalmentState:
    seq: int
    due_date: date
    principal: Decimal
    interest: Decimal
    fee: Decimal
    is_billed: bool
    paid_principal: Decimal = ZERO
    paid_interest: Decimal = ZERO
    paid_fee: Decimal = ZERO
    penalty: Decimal = ZERO
    paid_penalty: Decimal = ZERO

    @property
    def unpaid(self) -> Decimal:
        return self.principal + self.interest + self.fee - self.paid_principal - self.paid_interest - self.paid_fee


@dataclass(frozen=True, slots=True)
class SettlementQuote:
    as_of: date
    unpaid_billed: Decimal
    penalties: Decimal
    outstanding_principal: Decimal
    accrued_interest: Decimal
    settlement_fee: Decimal
    months_elapsed: int

    @property
    def total(self) -> Decimal:
        return self.unpaid_billed + self.penalties + self.outstanding_principal + self.accrued_interest + self.settlement_fee


def whole_months_between(start: date, end: date) -> int:
    months = (end.year - start.year) * 12 + end.month - start.month
    return months - 1 if end.day < start.day else months


def early_settlement_quote(
    product: ProductTerms, *, start_date: date, instalments: Sequence[InstalmentState], as_of: date
) -> SettlementQuote:
    if as_of < start_date:
        raise InputError("date", f"{as_of} is before the contract start {start_date}")
    rows = sorted(instalments, key=lambda r: r.seq)
    unbilled = [r for r in rows if not r.is_billed]
    if not unbilled:
        raise InputError("date", "every instalment is billed: nothing is left to settle early, pay the open bills")
    cur = product.currency
    nxt = unbilled[0]
    previous = [r for r in rows if r.seq < nxt.seq]
    period_start = previous[-1].due_date if previous else start_date
    period_days = (nxt.due_date - period_start).days
    elapsed = min(max((as_of - period_start).days, 0), period_days)
    accrued = round_money(nxt.interest * elapsed / period_days, cur) if period_days > 0 else ZERO
    outstanding = sum((r.principal for r in unbilled), ZERO)
    months = whole_months_between(start_date, as_of)
    fee = max(product.settlement_fee_minimum, round_money(outstanding * product.settlement_fee_pct(months), cur))
    return SettlementQuote(
        as_of=as_of,
        unpaid_billed=sum((r.unpaid for r in rows if r.is_billed), ZERO),
        penalties=sum((r.penalty - r.paid_penalty for r in rows), ZERO),
        outstanding_principal=outstanding,
        accrued_interest=accrued,
        settlement_fee=fee,
        months_elapsed=months,
    )
