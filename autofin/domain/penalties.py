"""Penalty interest (罚息) on an overdue instalment, per the contract's frozen terms.

Cumulative, not compounded: penalty(d) = round(basis × daily rate × days overdue), capped at
basis × cap_pct. Within the grace days nothing accrues; past them the penalty counts from the
due date (the grace is a waiver for prompt payers, not a free period). The nightly step keeps the
exact accrual and books its rounding less what is booked, so nights, re-runs and catch-ups never
drift from the formula (a sum of nightly roundings did, by a few fen).
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


def penalty_accrual(
    basis: Decimal, *, days_overdue: int, days_accrued: int, accrued_exact: Decimal, booked: Decimal, terms: PenaltyTerms,
    currency: str = DEFAULT_CURRENCY,
) -> tuple[Decimal, Decimal]:
    """What the nightly step books for one instalment, and the exact accrual after it.

    `days_accrued` is how many days past the due date have already been accrued (0 if none),
    `accrued_exact` the accrual so far before any rounding (Σ basis × rate × days, each on the basis
    of its night) and `booked` the penalty booked so far. Inside the grace days nothing accrues;
    once past them the first accrual reaches back to the due date. The booked total is the exact
    accrual rounded once and capped at basis × cap_pct, so however the days are split into nights
    and catch-ups, a constant basis books exactly `accrued_penalty`.
    """
    if basis <= 0 or days_overdue <= terms.grace_days or days_overdue <= days_accrued:
        return ZERO, accrued_exact
    exact = accrued_exact + basis * terms.daily_rate * (days_overdue - days_accrued)
    target = round_money(exact, currency)
    if terms.cap_pct is not None:
        target = min(target, round_money(basis * terms.cap_pct, currency))
    return max(ZERO, target - booked), exact
