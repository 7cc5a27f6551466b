"""Amounts in files: decimal strings in major units, read and written exactly."""

from __future__ import annotations

import re

from autofin.bankfiles.records import BankFileError
from autofin.domain.errors import DomainError
from autofin.domain.money import D, format_minor, minor_digits, to_minor

_PLAIN = re.compile(r"([0-9]{1,18})\.([0-9]+)")


def write_amount(minor: int, currency: str) -> str:
    return format_minor(minor, currency)


def read_amount(text: str | None, currency: str, what: str) -> int:
    if text is None:
        raise BankFileError(f"{what}: missing amount")
    if not text.isascii():  # Decimal would read other scripts' digits; a bank file writes 0-9
        raise BankFileError(f"{what}: {text!r} is not an amount in {currency}")
    try:
        plain = _PLAIN.fullmatch(text)
        if plain is not None and len(plain[2]) == minor_digits(currency):  # '1234.56': the form every file writes
            return int(plain[1] + plain[2])
        value = D(text)
        if value < 0:
            raise BankFileError(f"{what}: negative amount {text!r}")
        return to_minor(value, currency)
    except (DomainError, ValueError):
        raise BankFileError(f"{what}: {text!r} is not an amount in {currency}") from None
