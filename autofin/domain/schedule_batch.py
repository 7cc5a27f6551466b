"""Schedules for many contracts at once, in integer minor units (numpy int64).

The set-based twin of `schedules.build_schedule`: same methods, same rounding rule, same
residual rule, and property tests hold the two equal row for row. Interest and even splits use
exact integer half-up division. The annuity payment needs (1+r)^n: it is computed in float64 and
every contract whose payment lands within 1e-6 cent of a half-cent tie is recomputed exactly in
Decimal, so the result equals the reference (float error here is below 1e-9 cent).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from autofin.domain.calendar import BusinessCalendar
from autofin.domain.money import PPM, from_minor, ppm_to_rate, to_minor
from autofin.domain.schedules import Method, annuity_payment

METHOD_CODES = {Method.ANNUITY: 0, Method.EQUAL_PRINCIPAL: 1, Method.FLAT: 2, Method.BALLOON: 3}
_TIE_TOLERANCE = 1e-6


def div_half_up(numerator: np.ndarray, denominator: np.ndarray | int) -> np.ndarray:
    """Element-wise `money.div_round_half_up` for non-negative numerators."""
    return (2 * numerator + denominator) // (2 * np.asarray(denominator))


def annuity_payments_minor(financed: np.ndarray, rate_ppm: np.ndarray, term: np.ndarray, balloon: np.ndarray) -> np.ndarray:
    """pmt(rate/12, term, financed, fv=balloon) in minor units, rounded half-up, exact."""
    r = rate_ppm.astype(np.float64) / (12 * PPM)
    growth = np.power(1.0 + r, term.astype(np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        exact = np.where(r > 0, (financed * growth - balloon) * r / (growth - 1.0), (financed - balloon) / term)
    fraction = exact - np.floor(exact)
    payment = np.floor(exact + 0.5).astype(np.int64)
    for i in np.flatnonzero(np.abs(fraction - 0.5) < _TIE_TOLERANCE):
        payment[i] = to_minor(
            annuity_payment(from_minor(int(financed[i])), ppm_to_rate(int(rate_ppm[i])), int(term[i]), from_minor(int(balloon[i])))
        )
    return payment


@dataclass(frozen=True)
class BatchSchedule:
    """Flat arrays, one entry per instalment, ordered by contract then seq."""

    contract_index: np.ndarray
    seq: np.ndarray
    opening_minor: np.ndarray
    principal_minor: np.ndarray
    interest_minor: np.ndarray
    fee_minor: np.ndarray
    closing_minor: np.ndarray

    @property
    def payment_minor(self) -> np.ndarray:
        return self.principal_minor + self.interest_minor + self.fee_minor


def build_schedules(
    *,
    financed_minor: np.ndarray,
    rate_ppm: np.ndarray,
    term: np.ndarray,
    method_code: np.ndarray,
    balloon_minor: np.ndarray,
    fee_minor: np.ndarray,
) -> BatchSchedule:
    financed = financed_minor.astype(np.int64)
    rate = rate_ppm.astype(np.int64)
    term = term.astype(np.int64)
    n = len(financed)
    is_flat = method_code == METHOD_CODES[Method.FLAT]
    is_ep = method_code == METHOD_CODES[Method.EQUAL_PRINCIPAL]
    is_annuity = ~(is_flat | is_ep)

    payment = np.zeros(n, dtype=np.int64)
    if is_annuity.any():
        payment[is_annuity] = annuity_payments_minor(financed[is_annuity], rate[is_annuity], term[is_annuity], balloon_minor[is_annuity])
    even_principal = div_half_up(financed, term)
    flat_total_interest = div_half_up(financed * rate * term, 12 * PPM)
    flat_even_interest = div_half_up(flat_total_interest, term)

    max_term = int(term.max()) if n else 0
    total_rows = int(term.sum())
    out = {k: np.empty(total_rows, dtype=np.int64) for k in ("idx", "seq", "open", "prin", "int", "fee", "close")}
    # Row positions: contract i's row k sits at start[i] + k - 1.
    start = np.concatenate(([0], np.cumsum(term)[:-1])) if n else np.zeros(0, dtype=np.int64)
    balance = financed.copy()
    interest_so_far = np.zeros(n, dtype=np.int64)
    for k in range(1, max_term + 1):
        live = np.flatnonzero(term >= k)
        bal, last = balance[live], term[live] == k
        monthly = div_half_up(bal * rate[live], 12 * PPM)
        interest = np.where(is_flat[live], np.where(last, flat_total_interest[live] - interest_so_far[live], flat_even_interest[live]), monthly)
        regular_principal = np.where(is_annuity[live], payment[live] - interest, even_principal[live])
        principal = np.where(last, bal, regular_principal)
        pos = start[live] + k - 1
        out["idx"][pos] = live
        out["seq"][pos] = k
        out["open"][pos] = bal
        out["prin"][pos] = principal
        out["int"][pos] = interest
        out["fee"][pos] = fee_minor[live]
        out["close"][pos] = bal - principal
        balance[live] = bal - principal
        interest_so_far[live] += interest
    if total_rows and (out["prin"].min() < 0 or out["int"].min() < 0 or out["close"].min() < 0):
        raise ValueError("a contract's amount is too small for its term: negative schedule row")
    return BatchSchedule(out["idx"], out["seq"], out["open"], out["prin"], out["int"], out["fee"], out["close"])


def due_dates(start: np.ndarray, seq: np.ndarray, *, roll: np.ndarray | None = None, calendar: BusinessCalendar | None = None) -> np.ndarray:
    """datetime64[D] due dates: `start` + `seq` months, day clipped to month end; rolled where `roll`."""
    start = start.astype("datetime64[D]")
    months = start.astype("datetime64[M]")
    day = (start - months.astype("datetime64[D]")).astype(np.int64)  # 0-based day of month
    target = months + seq.astype("timedelta64[M]")
    month_len = ((target + np.timedelta64(1, "M")).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(np.int64)
    due = target.astype("datetime64[D]") + np.minimum(day, month_len - 1).astype("timedelta64[D]")
    if roll is not None and roll.any():
        if calendar is None:
            raise ValueError("rolling due dates needs a business calendar")
        first, last = due.min().astype(date), due.max().astype(date)
        span = (last - first).days + 1
        table = np.array([calendar.roll_forward(first + timedelta(days=i)) for i in range(span)], dtype="datetime64[D]")
        rolled = table[(due - np.datetime64(first, "D")).astype(np.int64)]
        due = np.where(roll, rolled, due)
    return due


def method_codes(methods: list[Method] | np.ndarray) -> np.ndarray:
    return np.array([METHOD_CODES[Method(m)] for m in methods], dtype=np.int8)


__all__ = ["BatchSchedule", "annuity_payments_minor", "build_schedules", "due_dates", "method_codes"]
