"""Partial prepayment (部分提前还款): the quote and the schedule after it, to the fen, and the inputs
that break each rule."""

from datetime import date
from decimal import Decimal

import pytest

from autofin.domain.errors import InputError
from autofin.domain.money import D
from autofin.domain.schedules import ScheduleTerms, build_schedule
from autofin.domain.settlement import InstalmentState, partial_prepayment_quote
from autofin.reference import load_products

PRODUCTS = load_products()
START = date(2026, 1, 15)
RATE = D("0.0799")


def book(code: str = "NCL-ANN", financed: str = "120000", n: int = 24, billed_paid: int = 6) -> list[InstalmentState]:
    """A contract `billed_paid` instalments in, every bill paid."""
    product = PRODUCTS[code]
    rows = build_schedule(ScheduleTerms(financed=D(financed), annual_rate=RATE if code == "NCL-ANN" else product.annual_rate,
                                        term_months=n, start_date=START, method=product.method))
    return [InstalmentState(r.seq, r.due_date, r.principal, r.interest, r.fee, r.seq <= billed_paid,
                            *((r.principal, r.interest, r.fee) if r.seq <= billed_paid else (0, 0, 0))) for r in rows]


def quote(states, as_of=date(2026, 7, 30), principal="30000", option="lower_instalment", code="NCL-ANN"):
    product = PRODUCTS[code]
    return partial_prepayment_quote(product, start_date=START, instalments=states, as_of=as_of, principal=D(principal), option=option,
                                    annual_rate=RATE if code == "NCL-ANN" else product.annual_rate)


def test_lower_instalment_keeps_the_end_and_the_due_dates():
    states = book()
    q = quote(states)
    unbilled = [s for s in states if not s.is_billed]
    outstanding = sum(s.principal for s in unbilled)
    assert q.outstanding_before == outstanding
    # interest on the 30,000 paid ahead for the 15 days since 2026-07-15 of the 31-day period to 2026-08-15
    assert q.accrued_interest == (unbilled[0].interest * D("30000") * 15 / (outstanding * 31)).quantize(Decimal("0.01"))
    assert q.fee == D("900.00")  # 3% (under 12 months elapsed) of 30,000, above the 200.00 minimum
    assert q.total == D("30000") + q.accrued_interest + D("900.00")
    assert [r.seq for r in q.schedule] == [s.seq for s in unbilled]
    assert [r.due_date for r in q.schedule] == [s.due_date for s in unbilled]
    assert sum(r.principal for r in q.schedule) == outstanding - D("30000")
    assert q.payment_after < q.payment_before


def test_shorten_term_keeps_the_instalment_and_ends_sooner():
    states = book()
    q = quote(states, option="shorten_term")
    unbilled = [s for s in states if not s.is_billed]
    assert len(q.schedule) < len(unbilled)
    assert q.payment_after <= q.payment_before
    # one instalment fewer would need a payment above today's
    assert sum(r.principal for r in q.schedule) == sum(s.principal for s in unbilled) - D("30000")
    assert [r.due_date for r in q.schedule] == [s.due_date for s in unbilled[:len(q.schedule)]]


def test_the_fee_has_its_minimum_and_falls_with_the_tiers():
    assert quote(book(), principal="10000").fee == D("300.00")
    states = book(n=48, billed_paid=25)
    later = quote(states, as_of=date(2028, 2, 20), principal="10000")
    assert later.fee == D("200.00")  # 1% after 24 months is 100.00: the minimum applies


@pytest.mark.parametrize(("kwargs", "field", "says"), [
    ({"principal": "9999.99"}, "amount", "at least 10000.00"),
    ({"principal": "10000.005"}, "amount", "whole fen"),
    ({"principal": "500000"}, "amount", "settle the contract early instead"),
    ({"option": "skip_a_month"}, "option", "offers shorten_term, lower_instalment"),
    ({"code": "DL-EP", "option": "shorten_term", "principal": "30000"}, "option", "offers lower_instalment"),
    ({"code": "SLB-FLAT"}, "option", "has no partial prepayment rule"),
    ({"as_of": date(2025, 12, 1)}, "date", "before the contract start"),
])
def test_refused_with_the_reason(kwargs, field, says):
    code = kwargs.get("code", "NCL-ANN")
    states = book(code=code if code != "SLB-FLAT" else "NCL-ANN")
    with pytest.raises(InputError) as err:
        quote(states, **kwargs)
    assert err.value.field == field and says in err.value.reason


def test_unpaid_bills_come_first_and_the_last_instalment_is_settled_not_prepaid():
    states = book()
    unpaid = [InstalmentState(s.seq, s.due_date, s.principal, s.interest, s.fee, s.is_billed) if s.seq == 6 else s for s in states]
    with pytest.raises(InputError, match="billed and unpaid"):
        quote(unpaid)
    with pytest.raises(InputError, match="settle the contract early"):
        quote(book(billed_paid=23), as_of=date(2027, 12, 20), principal="10000")
