from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autofin.domain.errors import CurrencyMismatchError, FloatMoneyError, InexactAmountError, InputError
from autofin.domain.money import (
    D,
    Money,
    div_round_half_up,
    format_amount,
    format_minor,
    from_minor,
    parse_rate,
    rate_to_ppm,
    round_money,
    to_minor,
)


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("0.005", "0.01"),
        ("0.004999", "0.00"),
        ("1.115", "1.12"),
        ("2.675", "2.68"),  # the float 2.675 would round down; Decimal does not
        ("-0.005", "-0.01"),  # half away from zero
        ("1234.5650", "1234.57"),
    ],
)
def test_round_money_is_half_up(amount, expected):
    assert round_money(D(amount)) == Decimal(expected)


def test_floats_are_refused_everywhere():
    with pytest.raises(FloatMoneyError):
        D(0.1)
    with pytest.raises(FloatMoneyError):
        Money(0.1)
    with pytest.raises(FloatMoneyError):
        from_minor(1.0)


def test_money_refuses_mixed_currencies():
    with pytest.raises(CurrencyMismatchError):
        Money(D("1"), "CNY") + Money(D("1"), "EUR")


def test_minor_units_are_exact():
    assert to_minor(D("1234.56")) == 123456
    assert from_minor(123456) == Decimal("1234.56")
    assert to_minor(D("100"), "JPY") == 100
    with pytest.raises(InexactAmountError):
        to_minor(D("0.001"))


@given(st.integers(min_value=-10**12, max_value=10**12), st.integers(min_value=1, max_value=10**8))
def test_integer_rule_equals_decimal_rule(numerator, denominator):
    expected = (Decimal(numerator) / Decimal(denominator)).quantize(Decimal(1), rounding="ROUND_HALF_UP")
    assert div_round_half_up(numerator, denominator) == int(expected)


@pytest.mark.parametrize(
    ("value", "reason"),
    [("-0.01", "negative"), ("1.5", "above"), ("0.0000001", "six decimal"), ("abc", "not a number")],
)
def test_bad_rates_name_the_field(value, reason):
    with pytest.raises(InputError, match=reason) as err:
        parse_rate(value, "annual_rate")
    assert err.value.field == "annual_rate"


def test_rate_ppm_roundtrip():
    assert rate_to_ppm(D("0.0799")) == 79900
    assert rate_to_ppm(D("0.0005")) == 500


@given(st.integers(min_value=-(10**20), max_value=10**20), st.sampled_from(["CNY", "JPY", "EUR"]))
def test_format_minor_in_integers_writes_what_the_decimal_rule_writes(minor, currency):
    assert format_minor(minor, currency) == format_amount(from_minor(minor, currency), currency)


def test_format_minor_table():
    assert [format_minor(m) for m in (0, 1, -1, 5, 99, 100, -150, 123456, 10**15)] == [
        "0.00", "0.01", "-0.01", "0.05", "0.99", "1.00", "-1.50", "1234.56", "10000000000000.00"]
    assert format_minor(-7, "JPY") == "-7"
    with pytest.raises(FloatMoneyError):
        format_minor(1.0)


@pytest.mark.parametrize(("principal", "interest", "ppm", "basis", "expected"), [
    (100_000, 10_000, 130_000, "interest", 0),  # a loan or a sale-and-leaseback: VAT on interest only
    (100_000, 10_000, 130_000, "rental", 12_655 - 1_150),  # 直租: VAT inside 1100.00 less that inside 100.00
    (0, 10_000, 130_000, "rental", 0),  # no principal, no principal VAT
    (1, 0, 130_000, "rental", 0),  # 0.01 carries 0.0011 of VAT: rounds to nothing
    (9, 0, 130_000, "rental", 1),
    (2_917_12, 1_090_00, 130_000, "rental", 46_100 - 12_540),  # 4007.12 − round(4007.12 / 1.13) = 461.00; 1090.00 → 125.40
])
def test_principal_vat_of_a_rental(principal, interest, ppm, basis, expected):
    from autofin.domain.money import principal_vat_minor, vat_inside_minor

    assert principal_vat_minor(principal, interest, ppm, basis) == expected
    if basis == "rental":
        assert expected + vat_inside_minor(interest, ppm) == vat_inside_minor(principal + interest, ppm)  # the rental's VAT, whole


def test_principal_vat_refuses_an_unknown_basis():
    from autofin.domain.money import principal_vat_minor

    with pytest.raises(ValueError, match="not interest or rental"):
        principal_vat_minor(1, 1, 130_000, "principal")
