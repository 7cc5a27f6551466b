"""Financing plans (融资方案): from a vehicle price, fees, down payment and terms to a schedule and its APR.

financed amount = price − down payment + Σ financed fee items
upfront amount  = down payment + Σ upfront fee items + deposit

The APR is the internal rate of the customer's own cash flows, ×12, with the effective annual rate
beside it: at the start the customer receives the financed amount less the finance charges (items
whose rule says `finance_charge`, whether paid upfront or financed: a financed charge is repaid with
interest but is not credit) and less the deposit; each month they pay the instalment; at the end
the deposit comes back. Third-party costs (purchase tax, insurance, plates) are not finance
charges; when financed they are credit like the car itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, localcontext

from autofin.domain.calendar import BusinessCalendar
from autofin.domain.errors import InputError
from autofin.domain.money import DEFAULT_CURRENCY, RATE_PLACES, D, format_amount, round_money
from autofin.domain.products import FEE_KEYS, ProductTerms
from autofin.domain.schedules import (
    PRECISION,
    ZERO,
    Method,
    ScheduleRow,
    ScheduleTerms,
    ScheduleTotals,
    build_schedule,
    irr_monthly,
    totals,
)


@dataclass(frozen=True, slots=True)
class FeeItem:
    key: str
    amount: Decimal
    financed: bool
    finance_charge: bool = False


@dataclass(frozen=True, slots=True)
class PlanRequest:
    price: Decimal
    term_months: int
    start_date: date
    annual_rate: Decimal
    method: Method
    down_payment: Decimal = ZERO
    deposit: Decimal = ZERO
    fees: tuple[FeeItem, ...] = ()
    balloon_pct: Decimal = ZERO
    instalment_fee: Decimal = ZERO
    roll: bool = False
    currency: str = DEFAULT_CURRENCY


@dataclass(frozen=True, slots=True)
class FinancingPlan:
    request: PlanRequest
    financed_amount: Decimal
    upfront_amount: Decimal
    balloon: Decimal
    schedule: list[ScheduleRow] = field(repr=False)
    totals: ScheduleTotals
    apr: Decimal
    effective_annual_rate: Decimal

    @property
    def total_payable(self) -> Decimal:
        return self.totals.payment


def _money(field_name: str, value: Decimal, currency: str, *, positive: bool = False) -> Decimal:
    value = D(value)
    if value < 0 or (positive and value == 0):
        raise InputError(field_name, f"must be {'positive' if positive else 'zero or more'}, got {value}")
    if round_money(value, currency) != value:
        raise InputError(field_name, f"{value} has more decimals than {currency} allows")
    return value


def build_plan(req: PlanRequest, calendar: BusinessCalendar | None = None) -> FinancingPlan:
    cur = req.currency
    price = _money("price", req.price, cur, positive=True)
    down = _money("down_payment", req.down_payment, cur)
    deposit = _money("deposit", req.deposit, cur)
    if down >= price:
        raise InputError("down_payment", f"{down} leaves nothing to finance on a price of {price}")
    for item in req.fees:
        if item.key not in FEE_KEYS:
            raise InputError("fee", f"unknown fee item {item.key!r}; known: {', '.join(FEE_KEYS)}")
        _money(f"fee.{item.key}", item.amount, cur)
    financed = price - down + sum((f.amount for f in req.fees if f.financed), ZERO)
    balloon = round_money(financed * D(req.balloon_pct), cur) if req.method is Method.BALLOON else ZERO
    if req.method is Method.BALLOON and not ZERO < D(req.balloon_pct) < 1:
        raise InputError("balloon_pct", f"must be above 0% and below 100%, got {req.balloon_pct * 100:g}%")
    schedule = build_schedule(
        ScheduleTerms(
            financed=financed,
            annual_rate=req.annual_rate,
            term_months=req.term_months,
            start_date=req.start_date,
            method=req.method,
            balloon=balloon,
            instalment_fee=req.instalment_fee,
            roll=req.roll,
            currency=cur,
        ),
        calendar,
    )
    # the credit the customer receives: the financed amount less every finance charge, paid upfront
    # or financed (a financed GPS fee is repaid with interest but bought no credit), less the deposit
    charges = sum((f.amount for f in req.fees if f.finance_charge), ZERO)
    flows = [financed - charges - deposit] + [-row.payment for row in schedule]
    flows[-1] += deposit
    monthly = irr_monthly(flows)
    with localcontext() as ctx:
        ctx.prec = PRECISION
        apr = (monthly * 12).quantize(RATE_PLACES)
        ear = ((1 + monthly) ** 12 - 1).quantize(RATE_PLACES)
    return FinancingPlan(
        request=req,
        financed_amount=financed,
        upfront_amount=down + deposit + sum((f.amount for f in req.fees if not f.financed), ZERO),
        balloon=balloon,
        schedule=schedule,
        totals=totals(schedule),
        apr=apr,
        effective_annual_rate=ear,
    )


def plan_for_product(
    product: ProductTerms,
    *,
    price: Decimal,
    term_months: int,
    start_date: date,
    down_payment_pct: Decimal | None = None,
    down_payment: Decimal | None = None,
    fees: Mapping[str, tuple[Decimal, bool]] | None = None,
    balloon_pct: Decimal | None = None,
    calendar: BusinessCalendar | None = None,
) -> FinancingPlan:
    """A plan under a product's rules: allowed terms, minimum down payment, fee items, balloon range."""
    cur = product.currency
    price = _money("price", price, cur, positive=True)
    if term_months not in product.term_months:
        allowed = ", ".join(str(t) for t in product.term_months)
        raise InputError("term", f"{product.code} offers {allowed} months, not {term_months}")
    if down_payment is None and down_payment_pct is not None:
        pct = D(down_payment_pct)
        if not ZERO <= pct < 1:
            raise InputError("down_payment_pct", f"must be at least 0% and below 100%, got {pct * 100:g}%")
        down_payment = round_money(price * pct, cur)
    elif down_payment is None or down_payment_pct is not None:
        raise InputError("down_payment", "give the down payment as an amount or as a percentage, one of them")
    down_payment = _money("down_payment", down_payment, cur)
    minimum = round_money(price * product.min_down_payment_pct, cur)
    if down_payment < minimum:
        raise InputError(
            "down_payment", f"{down_payment} is below {product.code}'s minimum of {product.min_down_payment_pct * 100}% ({minimum})"
        )
    items = []
    for key, (amount, financed) in (fees or {}).items():
        if key not in FEE_KEYS:
            raise InputError("fee", f"unknown fee item {key!r}; known: {', '.join(FEE_KEYS)}")
        rule = product.fees.get(key)
        if rule is None:
            raise InputError(f"fee.{key}", f"{product.code} does not carry {key}")
        if financed and not rule.financeable:
            raise InputError(f"fee.{key}", f"{product.code} does not finance {key}; it is paid upfront")
        items.append(FeeItem(key, _money(f"fee.{key}", amount, cur), financed, rule.finance_charge))
    if product.method is Method.BALLOON:
        balloon_pct = product.balloon_pct if balloon_pct is None else D(balloon_pct)
        if balloon_pct is None:
            raise InputError("balloon_pct", f"{product.code} is a balloon product without a balloon: give balloon_pct")
        low, high = product.balloon_pct_range or (balloon_pct, balloon_pct)
        if not low <= balloon_pct <= high:
            raise InputError("balloon_pct", f"{product.code} allows a balloon of {low * 100:g}% to {high * 100:g}%, not {balloon_pct * 100:g}%")
    elif balloon_pct:
        raise InputError("balloon_pct", f"{product.code} has no balloon")
    return build_plan(
        PlanRequest(
            price=price,
            term_months=term_months,
            start_date=start_date,
            annual_rate=product.annual_rate,
            method=product.method,
            down_payment=down_payment,
            deposit=round_money(price * product.deposit_pct, cur),
            fees=tuple(items),
            balloon_pct=balloon_pct or ZERO,
            instalment_fee=product.instalment_fee,
            roll=product.roll_due_dates,
            currency=cur,
        ),
        calendar,
    )


def plan_as_dict(plan: FinancingPlan) -> dict:
    """The plan as JSON-ready data: amounts as decimal strings, dates ISO (CLI, API, stored plans)."""
    cur = plan.request.currency
    money = lambda v: format_amount(v, cur)  # noqa: E731
    return {
        "financed_amount": money(plan.financed_amount),
        "currency": cur,
        "method": plan.request.method.value,
        "term_months": plan.request.term_months,
        "annual_rate": str(plan.request.annual_rate),
        "apr": str(plan.apr),
        "effective_annual_rate": str(plan.effective_annual_rate),
        "down_payment": money(plan.request.down_payment),
        "deposit": money(plan.request.deposit),
        "upfront_amount": money(plan.upfront_amount),
        "balloon": money(plan.balloon),
        "total_interest": money(plan.totals.interest),
        "total_fees": money(plan.totals.fee),
        "total_payable": money(plan.total_payable),
        "schedule": [
            {
                "seq": r.seq,
                "due_date": r.due_date.isoformat(),
                "opening_balance": money(r.opening_balance),
                "principal": money(r.principal),
                "interest": money(r.interest),
                "fee": money(r.fee),
                "payment": money(r.payment),
                "balance": money(r.closing_balance),
            }
            for r in plan.schedule
        ],
    }
