"""Penalty interest (罚息) on an overdue instalment, per the contract's frozen terms.

Cumulative, not compounded: penalty(d) = round(basis × daily rate × days overdue), capped at
basis × cap_pct. Within the grace days nothing accrues; past them the penalty counts from the
due date (the grace is a waiver for prompt payers, not a free period). The nightly step books
the increase penalty(d) − penalty booked so far, so a re-run or a catch-up never drifts.
"""

from __future__ import annotations

from decimal import Decimal

from autofin.domain.money import DEFAULT_CURRENCY, round_money
from autofin.domain.products import PenaltyTerms

ZERO = Decimal(0)


def accrued_penalty(basis: Decimal, days_overdue: int, terms: PenaltyTerms, currency: str = DEFAULT_CURRENCY) -> Decimal:
    if basis <= 0 or days_overdue <= terms.grace_days:
        return ZERO
    penalty = round_money(basis * terms.daily_rate * days_overdue, currency)
    if terms.cap_pct is not None:
        penalty = min(penalty, round_money(basis * terms.cap_pct, currency))
    return penalty


def penalty_basis(terms: PenaltyTerms, *, unpaid_principal: Decimal, unpaid_interest: Decimal, unpaid_fee: Decimal) -> Decimal:
    if terms.basis == "overdue_principal":
        return unpaid_principal
    return unpaid_principal + unpaid_interest + unpaid_fee
