"""Amounts read from bank files: the fast path for the plain form and the general path agree."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autofin.bankfiles.amounts import read_amount, write_amount
from autofin.bankfiles.records import BankFileError
from autofin.domain.money import to_minor


@given(st.integers(min_value=0, max_value=10**17), st.sampled_from(["CNY", "JPY"]))
def test_what_we_write_we_read_back(minor, currency):
    assert read_amount(write_amount(minor, currency), currency, "Amt") == minor


@given(st.decimals(min_value=0, max_value=10**12, places=3, allow_nan=False, allow_infinity=False))
def test_plain_form_reads_like_the_decimal_rule(value):
    text = f"{value:f}"
    try:
        expected = to_minor(Decimal(text), "CNY")
    except Exception:  # noqa: BLE001 - whatever the decimal rule refuses, the reader must refuse too
        expected = None
    if expected is None:
        with pytest.raises(BankFileError):
            read_amount(text, "CNY", "Amt")
    else:
        assert read_amount(text, "CNY", "Amt") == expected


@pytest.mark.parametrize("text, minor", [("0.01", 1), ("1234.56", 123456), ("1234.5", 123450), ("7", 700), (" 12.00 ", 1200),
                                         ("00012.30", 1230)])
def test_accepted_forms(text, minor):
    assert read_amount(text, "CNY", "Amt") == minor


@pytest.mark.parametrize("text", ["", "-1.00", "1.001", "abc", "1e3x", "NaN", "Infinity", "\u0663.00", "1.2.3"])
def test_refused_forms(text):
    with pytest.raises(BankFileError):
        read_amount(text, "CNY", "Amt")
