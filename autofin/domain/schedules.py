"""Repayment schedules: the reference implementation, exact to the cent.

Four methods, each with one rounding rule (`round_money`, half-up per instalment component) and
the last instalment absorbing the residual so that Σ principal = financed amount exactly:

- annuity (等额本息): payment = pmt(r, n, financed) rounded; interest = opening × r rounded;
  principal = payment − interest; the last row takes the remaining balance.
- equal_principal (等额本金): principal = financed / n rounded, the last row the residual;
  interest on the opening balance.
- flat (等本等息): total interest = financed × annual rate × n / 12 rounded; interest and principal
  each spread evenly (rounded, the last row the residual).
- balloon: payment = pmt(r, n, financed, fv=balloon) rounded; interest on the opening balance;
  the last row pays the remaining balance, which includes the balloon.

r is the monthly rate, annual rate / 12. Interest is per month (30/360), whatever the day count
between rolled due dates. Instalment k falls due k months after the start date (same day of
month, clipped to the month's end), rolled to the next business day only when asked.

The set-based twin for millions of contracts is `schedule_batch`; property tests hold them equal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext
from enum import StrEnum

from autofin.domain.calendar import BusinessCalendar, add_months
from autofin.domain.errors import InputError
from autofin.domain.money import DEFAULT_CURRENCY, D, round_money

PRECISION = 40
MAX_TERM_MONTHS = 120
ZERO = Decimal(0)


class Method(StrEnum):
    ANNUITY = "annuity"
    EQUAL_PRINCIPAL = "equal_principal"
    FLAT = "flat"
    BALLOON = "balloon"


@dataclass(frozen=True, slots=True)
class ScheduleTerms:
    financed: Decimal
    annual_rate: Decimal
    term_months: int
    start_date: date
    method: Method
    balloon: Decimal = ZERO
    instalment_fee: Decimal = ZERO
    roll: bool = False
    currency: str = DEFAULT_CURRENCY


@dataclass(frozen=True, slots=True)
class ScheduleRow:
    seq: int
    due_date: date
    opening_balance: Decimal
    principal: Decimal
    interest: Decimal
    fee: Decimal
    payment: Decimal
    closing_balance: Decimal


def validate_terms(terms: ScheduleTerms) -> None:
    if D(terms.financed) <= 0:
        raise InputError("principal", f"financed amount must be positive, got {terms.financed}")
    if not 0 < terms.term_months <= MAX_TERM_MONTHS:
        raise InputError("term", f"term must be 1 to {MAX_TERM_MONTHS} months, got {terms.term_months}")
    if not ZERO <= D(terms.annual_rate) <= 1:
        raise InputError("annual_rate", f"annual rate must be between 0 and 1 (100%), got {terms.annual_rate}")
    if terms.method is Method.BALLOON:
        if not ZERO < D(terms.balloon) < D(terms.financed):
            raise InputError("balloon_pct", "balloon must be more than zero and less than the financed amount")
    elif D(terms.balloon) != 0:
        raise InputError("balloon_pct", f"a balloon only goes with the balloon method, not {terms.method}")
    if D(terms.instalment_fee) < 0:
        raise InputError("instalment_fee", "must not be negative")
    for field, value in (("principal", terms.financed), ("balloon_pct", terms.balloon), ("instalment_fee", terms.instalment_fee)):
        if round_money(D(value), terms.currency) != D(value):
            raise InputError(field, f"{value} has more decimals than {terms.currency} allows")


def due_dates(start: date, term_months: int, *, roll: bool = False, calendar: BusinessCalendar | None = None) -> list[date]:
    dates = [add_months(start, k) for k in range(1, term_months + 1)]
    if roll:
        if calendar is None:
            raise InputError("roll", "rolling due dates needs a business calendar")
        dates = [calendar.roll_forward(d) for d in dates]
    return dates


def annuity_payment(financed: Decimal, annual_rate: Decimal, term_months: int, balloon: Decimal = ZERO) -> Decimal:
    """pmt(annual_rate/12, n, financed, fv=balloon), rounded by the rule; exact inputs, 40 digits inside."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        if annual_rate == 0:
            return round_money((financed - balloon) / term_months)
        r = annual_rate / 12
        growth = (1 + r) ** term_months
        return round_money((financed * growth - balloon) * r / (growth - 1))


def monthly_interest(balance: Decimal, annual_rate: Decimal, currency: str = DEFAULT_CURRENCY) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return round_money(balance * annual_rate / 12, currency)


def build_schedule(terms: ScheduleTerms, calendar: BusinessCalendar | None = None) -> list[ScheduleRow]:
    validate_terms(terms)
    n, cur = terms.term_months, terms.currency
    financed, rate, fee = D(terms.financed), D(terms.annual_rate), D(terms.instalment_fee)
    dates = due_dates(terms.start_date, n, roll=terms.roll, calendar=calendar)

    if terms.method is Method.FLAT:
        total_interest = round_money(financed * rate * n / 12, cur)
        even_interest = round_money(total_interest / n, cur)
        even_principal = round_money(financed / n, cur)
    elif terms.method is Method.EQUAL_PRINCIPAL:
        even_principal = round_money(financed / n, cur)
    else:
        payment = annuity_payment(financed, rate, n, D(terms.balloon))

    rows: list[ScheduleRow] = []
    balance = financed
    interest_so_far = ZERO
    for seq, due in enumerate(dates, start=1):
        last = seq == n
        if terms.method is Method.FLAT:
            interest = total_interest - interest_so_far if last else even_interest
            principal = balance if last else even_principal
        else:
            interest = monthly_interest(balance, rate, cur)
            if terms.method is Method.EQUAL_PRINCIPAL:
                principal = balance if last else even_principal
            else:
                principal = balance if last else payment - interest
        closing = balance - principal
        if principal < 0 or interest < 0 or closing < 0:
            raise InputError("principal", f"the amount {financed} is too small for {n} instalments at {rate}")
        rows.append(ScheduleRow(seq, due, balance, principal, interest, fee, principal + interest + fee, closing))
        interest_so_far += interest
        balance = closing
    return rows


@dataclass(frozen=True, slots=True)
class ScheduleTotals:
    principal: Decimal
    interest: Decimal
    fee: Decimal
    payment: Decimal


def totals(rows: Sequence[ScheduleRow]) -> ScheduleTotals:
    return ScheduleTotals(
        principal=sum((r.principal for r in rows), ZERO),
        interest=sum((r.interest for r in rows), ZERO),
        fee=sum((r.fee for r in rows), ZERO),
        payment=sum((r.payment for r in rows), ZERO),
    )


def irr_monthly(cashflows: Sequence[Decimal]) -> Decimal:
    """The monthly rate x with Σ cf_k / (1+x)^k = 0 (k = 0..n), by bisection in Decimal.

    Customer cash flows: the first is what the customer receives (positive), the rest what they
    pay. The search runs from −5% to +100% a month: a returned deposit makes the last flow
    positive, and far below zero its weight would swamp every other flow.
    """
    with localcontext() as ctx:
        ctx.prec = PRECISION

        def npv(x: Decimal) -> Decimal:
            total, discount, step = ZERO, Decimal(1), 1 / (1 + x)
            for flow in cashflows:
                total += flow * discount
                discount *= step
            return total

        low, high = Decimal("-0.05"), Decimal("1")
        f_low = npv(low)
        if f_low * npv(high) > 0:
            raise InputError("cashflows", "the cash flows have no rate of return between -5% and 100% a month")
        tolerance = Decimal("1e-15")
        while high - low > tolerance:
            mid = (low + high) / 2
            f_mid = npv(mid)
            if f_mid == 0:
                return mid
            if (f_mid > 0) == (f_low > 0):
                low, f_low = mid, f_mid
            else:
                high = mid
        return (low + high) / 2
