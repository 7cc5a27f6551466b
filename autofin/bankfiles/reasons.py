"""Return and reject reasons: the ISO external codes, what each means for the books, and the
domestic bank's result codes mapped onto them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reason:
    code: str
    text: str
    representable: bool  # a later debit may succeed (re-present per the bank profile's rule)
    invalidates_mandate: bool  # stop debiting this mandate until it is renewed


REASONS = {r.code: r for r in [
    Reason("AC01", "incorrect account number", False, True),
    Reason("AC04", "closed account", False, True),
    Reason("AC06", "blocked account", True, False),
    Reason("AM04", "insufficient funds", True, False),
    Reason("AM05", "duplicate collection", False, False),
    Reason("MD01", "no mandate", False, True),
    Reason("MD06", "refund request by end customer", False, False),
    Reason("MD07", "end customer deceased", False, True),
    Reason("MS02", "refused by the debtor", True, False),
    Reason("MS03", "reason not specified", True, False),
]}

UNKNOWN = Reason("MS03", "reason not specified", True, False)


def reason(code: str | None) -> Reason:
    return REASONS.get(code or "", UNKNOWN)
