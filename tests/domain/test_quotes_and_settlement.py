from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autofin.domain.errors import InputError
from autofin.domain.money import D
from autofin.domain.penalties import accrued_penalty
from autofin.domain.products import PenaltyTerms
from autofin.domain.quotes import plan_for_product
from autofin.domain.settlement import InstalmentState, early_settlement_quote, whole_months_between
from autofin.reference import calendar, load_products

PRODUCTS = load_products()
START = date(2026, 11, 22)


def plan(code="NCL-ANN", **kw):
    args = {"price": D("200000"), "term_months": 36, "start_date": START, "down_payment_pct": D("0.20"), "calendar": calendar()} | kw
    return plan_for_product(PRODUCTS[code], **args)


def test_financed_and_upfront_amounts():
    p = plan(fees={"purchase_tax": (D("17699"), True), "gps_fee": (D("1980"), True), "service_fee": (D("2000"), False)})
    assert p.financed_amount == D("200000") - D("40000") + D("17699") + D("1980") == D("179679")
    assert p.upfront_amount == D("40000") + D("2000")
    # the service fee paid upfront is a finance charge: APR above the nominal rate
    assert p.apr > D("0.0799")
    no_fees = plan()
    assert no_fees.apr == D("0.079900")


def test_a_lease_with_a_deposit_and_its_residual():
    p = plan("BLN-LEASE", balloon_pct=D("0.35"))
    assert p.request.deposit == 0 and p.balloon == (p.financed_amount * D("0.35")).quantize(D("0.01"))
    d = plan("DL-EP", term_months=24, down_payment_pct=D("0.15"))
    assert d.request.deposit == D("10000.00")  # 5% of the price
    assert d.upfront_amount == D("30000.00") + D("10000.00")


def test_due_dates_roll_where_the_product_says():
    p = plan(start_date=date(2026, 9, 1), term_months=12)
    assert p.schedule[0].due_date == date(2026, 10, 8)  # National Day holidays


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"term_months": 18}, "term", "offers 12, 24, 36, 48, 60"),
        ({"down_payment_pct": D("0.10")}, "down_payment", "minimum"),
        ({"price": D("-1")}, "price", "positive"),
        ({"fees": {"plate_fee": (D("500"), True)}}, "fee.plate_fee", "paid upfront"),
        ({"fees": {"nitro": (D("500"), True)}}, "fee", "unknown fee item"),
        ({"balloon_pct": D("0.3")}, "balloon_pct", "no balloon"),
    ],
)
def test_product_rules_name_the_field(kwargs, field, words):
    with pytest.raises(InputError, match=words) as err:
        plan(**kwargs)
    assert err.value.field == field


def test_balloon_outside_the_product_range():
    with pytest.raises(InputError, match=r"10.*40") as err:
        plan("BLN-LEASE", balloon_pct=D("0.5"))
    assert err.value.field == "balloon_pct"


TERMS = PenaltyTerms(daily_rate=D("0.0005"), basis="overdue_amount", grace_days=3, cap_pct=D("0.05"))


@pytest.mark.parametrize(
    ("basis", "days", "expected"),
    [
        ("5013.08", 0, "0"),
        ("5013.08", 3, "0"),  # inside the grace days: nothing
        ("5013.08", 4, "10.03"),  # 5013.08 × 0.0005 × 4 = 10.02616 → counted from the due date
        ("5013.08", 30, "75.20"),  # 75.1962
        ("5013.08", 100, "250.65"),  # 250.654 hits the cap of 5% = 250.654 → 250.65
        ("5013.08", 400, "250.65"),
        ("0", 40, "0"),
    ],
)
def test_penalty_table(basis, days, expected):
    assert accrued_penalty(D(basis), days, TERMS) == D(expected)


def _rows(schedule, billed_through):
    return [
        InstalmentState(r.seq, r.due_date, r.principal, r.interest, r.fee, is_billed=r.seq <= billed_through,
                        paid_principal=r.principal if r.seq < billed_through else D(0),
                        paid_interest=r.interest if r.seq < billed_through else D(0),
                        penalty=D("12.34") if r.seq == billed_through else D(0))
        for r in schedule
    ]


def test_early_settlement_quote():
    p = plan()
    rows = _rows(p.schedule, billed_through=5)
    as_of = date(2027, 5, 7)  # 15 days into the 6th period: 2027-04-22 → 2027-05-24 (the 22nd is a Saturday, rolled)
    q = early_settlement_quote(PRODUCTS["NCL-ANN"], start_date=START, instalments=rows, as_of=as_of)
    fifth, sixth = p.schedule[4], p.schedule[5]
    assert q.unpaid_billed == fifth.payment
    assert q.penalties == D("12.34")
    assert q.outstanding_principal == fifth.closing_balance
    assert (fifth.due_date, sixth.due_date) == (date(2027, 4, 22), date(2027, 5, 24))
    assert q.accrued_interest == (sixth.interest * 15 / 32).quantize(D("0.01")) == D("436.94")
    assert q.months_elapsed == 5
    assert q.settlement_fee == (q.outstanding_principal * D("0.03")).quantize(D("0.01"))  # first-year tier
    assert q.total == q.unpaid_billed + q.penalties + q.outstanding_principal + q.accrued_interest + q.settlement_fee


def test_settlement_fee_tiers_and_minimum():
    product = PRODUCTS["NCL-ANN"]
    assert [product.settlement_fee_pct(m) for m in (0, 11, 12, 23, 24, 59)] == [D("0.03")] * 2 + [D("0.02")] * 2 + [D("0.01")] * 2
    p = plan(price=D("20000"), term_months=12)
    rows = _rows(p.schedule, billed_through=11)
    q = early_settlement_quote(product, start_date=START, instalments=rows, as_of=date(2027, 10, 30))
    assert q.settlement_fee == D("500.00")  # 2% of the last principal is below the minimum


@pytest.mark.parametrize(("start", "end", "months"), [
    (date(2026, 1, 31), date(2026, 2, 28), 0), (date(2026, 1, 15), date(2026, 2, 15), 1), (date(2026, 1, 15), date(2027, 1, 14), 11)])
def test_whole_months(start, end, months):
    assert whole_months_between(start, end) == months


@pytest.mark.parametrize(("fees", "charges"), [
    ({"gps_fee": (D("1200"), True)}, D("1200")),  # a financed finance charge
    ({"gps_fee": (D("1200"), False)}, D("1200")),  # the same charge paid upfront
    ({"gps_fee": (D("1200"), True), "service_fee": (D("2000"), False)}, D("3200")),
    ({"purchase_tax": (D("17699"), True)}, D("0")),  # a third-party cost financed: credit, not a charge
])
def test_the_apr_counts_every_finance_charge_financed_or_upfront(fees, charges):
    import numpy_financial as npf

    p = plan(fees=fees)
    flows = [float(p.financed_amount - charges)] + [-float(r.payment) for r in p.schedule]
    expected = D(f"{npf.irr(flows) * 12:.9f}")
    assert abs(p.apr - expected) < D("0.000002"), (p.apr, expected)
    assert (p.apr > D("0.0799")) == (charges > 0)



@given(basis=st.integers(1, 50_000_000), rate_ppm=st.integers(1, 2000), grace=st.integers(0, 5), cap_ppm=st.none() | st.integers(1, 1_000_000),
       nights=st.lists(st.integers(1, 9), min_size=1, max_size=40))
@settings(max_examples=300, deadline=None, derandomize=True)
def test_penalty_booked_night_by_night_equals_its_formula(basis, rate_ppm, grace, cap_ppm, nights):
    """However the overdue days are split into nights and catch-ups (a gap of several days is one
    accrual), the booked total is the formula's, to the fen: round(basis × rate × days), capped."""
    from autofin.domain.money import from_minor, ppm_to_rate
    from autofin.domain.penalties import penalty_accrual

    terms = PenaltyTerms(ppm_to_rate(rate_ppm), "overdue_amount", grace, None if cap_ppm is None else ppm_to_rate(cap_ppm))
    amount = from_minor(basis)
    booked, exact, accrued_days, day = D(0), D(0), 0, 0
    for gap in nights:
        day += gap
        increment, exact = penalty_accrual(amount, days_overdue=day, days_accrued=accrued_days, accrued_exact=exact, booked=booked, terms=terms)
        booked += increment
        if day > grace:
            accrued_days = day
        assert booked == accrued_penalty(amount, day, terms), (day, booked)
