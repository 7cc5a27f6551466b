"""Return and reject reasons: the ISO external codes, what each means for the books, and the
domestic bank's result codes mapped onto them."""

from __future__ import annotations

from dataclasses import dataclass

from autofin.bankfiles.records import BankFileError


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
    Reason("AC13", "invalid debtor account type", False, True),
    Reason("AG01", "transaction forbidden on this account", False, True),
    Reason("AG02", "invalid bank operation code", False, False),
    Reason("AM04", "insufficient funds", True, False),
    Reason("AM05", "duplicate collection", False, False),
    Reason("BE05", "unrecognised initiating party", False, False),
    Reason("FF01", "invalid file format", False, False),
    Reason("MD01", "no mandate", False, True),
    Reason("MD02", "missing mandatory mandate information", False, True),
    Reason("MD06", "refund request by end customer", False, False),
    Reason("MD07", "end customer deceased", False, True),
    Reason("MS02", "refused by the debtor", True, False),
    Reason("MS03", "reason not specified", True, False),
    Reason("RC01", "bank identifier incorrect", False, True),
    Reason("RR01", "missing debtor account or identification", False, False),
    Reason("RR04", "regulatory reason", False, False),
    Reason("SL01", "specific service offered by the debtor agent", False, False),
]}

UNSPECIFIED = "MS03"


def failure_reason(code: str | None, end_to_end_id: str) -> str:
    """The reason a rejected or returned debit records. None given is MS03 ('reason not specified'),
    re-presented as the bank profile says for MS03 (never a silent re-debit as if nothing had
    failed); a code not in REASONS refuses the file, so that it is added here with what it means
    for the mandate and the re-presentation before anything is applied."""
    if code is None:
        return UNSPECIFIED
    if code not in REASONS:
        raise BankFileError(f"unknown reason code {code[:12]!r} for {end_to_end_id[:40]}: known are {', '.join(REASONS)} "
                            "(add it to autofin/bankfiles/reasons.py with its meaning, then put the file back in inbound/)")
    return code
