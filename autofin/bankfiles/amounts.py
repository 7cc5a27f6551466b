"""Amounts in files: decimal strings in major units, read and written exactly."""

from __future__ import annotations

from autofin.bankfiles.records import BankFileError
from autofin.domain.errors import DomainError
from autofin.domain.money import D, format_minor, to_minor


def write_amount(minor: int, currency: str) -> str:
    return format_minor(minor, currency)


def read_amount(text: str | None, currency: str, what: str) -> int:
    if text is None:
        raise BankFileError(f"{what}: missing amount")
    try:
        value = D(text)
        if value < 0:
            raise BankFileError(f"{what}: negative amount {text!r}")
        return to_minor(value, currency)
    except (DomainError, ValueError):
        raise BankFileError(f"{what}: {text!r} is not an amount in {currency}") from None
