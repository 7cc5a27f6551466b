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


def penalty_increment(
    basis: Decimal, *, days_overdue: int, days_accrued: int, accrued: Decimal, terms: PenaltyTerms, currency: str = DEFAULT_CURRENCY
) -> Decimal:
    """What the nightly step books for one instalment: the days not yet accrued, on today's basis.

    `days_accrued` is how many days past the due date have already been accrued (0 if none).
    Inside the grace days nothing accrues; once past them the first accrual reaches back to the
    due date. The total never exceeds basis × cap_pct. With a constant basis and one accrual this
    equals `accrued_penalty`; accrued night by night, it is the sum of the nights' rounded amounts.
    """
    if basis <= 0 or days_overdue <= terms.grace_days or days_overdue <= days_accrued:
        return ZERO
    increment = round_money(basis * terms.daily_rate * (days_overdue - days_accrued), currency)
    if terms.cap_pct is not None:
        increment = min(increment, max(ZERO, round_money(basis * terms.cap_pct, currency) - accrued))
    return increment
