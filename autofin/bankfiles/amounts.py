"""Amounts in files: decimal strings in major units, read and written exactly."""

from __future__ import annotations

from autofin.bankfiles.records import BankFileError
from autofin.domain.errors import DomainError
from autofin.domain.money import D, format_minor, minor_digits, to_minor


def write_amount(minor: int, currency: str) -> str:
    return format_minor(minor, currency)


def read_amount(text: str | None, currency: str, what: str) -> int:
    if text is None:
        raise BankFileError(f"{what}: missing amount")
    if not text.isascii():  # Decimal would read other scripts' digits; a bank file writes 0-9
        raise BankFileError(f"{what}: {text!r} is not an amount in {currency}")
    try:
        # '1234.56', the form every file writes, read without a pattern or a Decimal (a million answers
        # a night each carry one). ASCII (above), isdigit() holds for 0-9 alone: no sign, space or '_'
        whole, dot, fraction = text.partition(".")
        if dot and 0 < len(whole) <= 18 and whole.isdigit() and fraction.isdigit() and len(fraction) == minor_digits(currency):
            return int(whole + fraction)
        value = D(text)
        if value < 0:
            raise BankFileError(f"{what}: negative amount {text!r}")
        return to_minor(value, currency)
    except (DomainError, ValueError):
        raise BankFileError(f"{what}: {text!r} is not an amount in {currency}") from None
