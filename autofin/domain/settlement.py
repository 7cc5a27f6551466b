"""Early settlement (提前结清) and partial prepayment (部分提前还款) quotes for a contract on a date.

total = unpaid billed amounts + unpaid penalties + outstanding (unbilled) principal
        + interest accrued to the date + the product's early-settlement fee

Interest accrues on the next unbilled instalment in proportion to the days elapsed of its period
(from the previous due date, or the start, to its due date), rounded by the rule. The fee is the
tier's percentage of the outstanding principal, at least the product's minimum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from autofin.domain.errors import InputError
from autofin.domain.money import round_money
from autofin.domain.products import ProductTerms
from autofin.domain.schedules import ScheduleRow, ScheduleTerms, build_schedule

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


# ---------------------------------------------------------------- partial prepayment (部分提前还款)

PREPAYMENT_OPTIONS = ("shorten_term", "lower_instalment")


@dataclass(frozen=True, slots=True)
class PrepaymentQuote:
    """Principal paid ahead of the schedule on `as_of`: with the interest it has accrued since the
    last due date and the fee of the frozen terms; and the schedule of the rest after it."""

    as_of: date
    option: str
    principal: Decimal
    accrued_interest: Decimal
    fee: Decimal
    outstanding_before: Decimal
    payment_before: Decimal
    schedule: tuple[ScheduleRow, ...]  # the unbilled instalments after it, on the old due dates, numbered on from the billed ones

    @property
    def total(self) -> Decimal:
        return self.principal + self.accrued_interest + self.fee

    @property
    def payment_after(self) -> Decimal:
        return self.schedule[0].principal + self.schedule[0].interest


def partial_prepayment_quote(product: ProductTerms, *, start_date: date, instalments: Sequence[InstalmentState], as_of: date,
                             principal: Decimal, option: str, annual_rate: Decimal) -> PrepaymentQuote:
    """The customer pays `principal` of what is not yet billed, and chooses to keep the instalment and
    end sooner (shorten_term: the fewest instalments whose payment is not above today's) or keep the
    end and pay less each month (lower_instalment). Refused: a product without the rule, an option it
    does not offer, less than its minimum, the whole outstanding (that is early settlement), or a
    contract with bills unpaid (they are paid first)."""
    rule = product.partial_prepayment
    if rule is None:
        raise InputError("option", f"product {product.code} has no partial prepayment rule")
    if option not in rule.options:
        raise InputError("option", f"{product.code} offers {', '.join(rule.options)}")
    if as_of < start_date:
        raise InputError("date", f"{as_of} is before the contract start {start_date}")
    rows = sorted(instalments, key=lambda r: r.seq)
    owed = sum((r.unpaid + r.penalty - r.paid_penalty for r in rows if r.is_billed), ZERO)
    if owed > 0:
        raise InputError("amount", f"{owed} is billed and unpaid: the open bills are paid before principal is paid ahead")
    unbilled = [r for r in rows if not r.is_billed]
    if len(unbilled) < 2:
        raise InputError("amount", "one instalment or none is left: settle the contract early instead")
    cur = product.currency
    outstanding = sum((r.principal for r in unbilled), ZERO)
    if principal != round_money(principal, cur) or principal < rule.minimum:
        raise InputError("amount", f"at least {rule.minimum} in whole fen (the product's minimum)")
    if principal >= outstanding:
        raise InputError("amount", f"{principal} is not less than the outstanding principal {outstanding}: settle the contract early instead")
    nxt = unbilled[0]
    previous = [r for r in rows if r.seq < nxt.seq]
    period_start = previous[-1].due_date if previous else start_date
    period_days = (nxt.due_date - period_start).days
    elapsed = min(max((as_of - period_start).days, 0), period_days)
    accrued = round_money(nxt.interest * principal * elapsed / (outstanding * period_days), cur) if period_days > 0 else ZERO
    months = whole_months_between(start_date, as_of)
    fee = max(rule.fee_minimum, round_money(principal * product.settlement_fee_pct(months), cur))
    rest = outstanding - principal
    payment_before = nxt.principal + nxt.interest

    def plan(n: int) -> list[ScheduleRow]:
        return build_schedule(ScheduleTerms(financed=rest, annual_rate=annual_rate, term_months=n, start_date=period_start,
                                            method=product.method, instalment_fee=product.instalment_fee, currency=cur))

    if option == "lower_instalment":
        schedule = plan(len(unbilled))
    else:
        schedule = next((p for n in range(1, len(unbilled) + 1) if (p := plan(n))[0].principal + p[0].interest <= payment_before),
                        plan(len(unbilled)))
    # the remaining instalments keep their due dates (rolled, month ends), only fewer of them or smaller
    renumbered = tuple(replace(r, seq=old.seq, due_date=old.due_date) for r, old in zip(schedule, unbilled, strict=False))
    return PrepaymentQuote(as_of, option, principal, accrued, fee, outstanding, payment_before, renumbered)
