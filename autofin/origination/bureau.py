"""The credit bureau (征信) behind a small interface, and its local simulator.

`CreditBureau.query(kind, id_number)` answers a `BureauReport`. Production plugs in the
bureau's client; development, tests and the benchmark use `SimulatedBureau`, which answers
deterministically from the id number so the same person always gets the same file:

| id number (resident id: the 3-digit sequence code, characters 15–17) | the simulated file |
|---|---|
| sequence 990–999 | no file (`found` false): a thin-file applicant |
| sequence 980–989 | one court enforcement record |
| sequence 970–979 | a 120-day overdue in the last 24 months |
| sequence 960–969 | 3 overdues in the last 24 months, longest 15 days |
| anything else    | a clean file; score 560–849, 0–4 open loans and their monthly debt, all from the id's SHA-256 |

Companies (unified social credit codes) use the same table on the code's characters 15–17 when
they are digits, otherwise the clean-file branch. `SimulatedWatchlist` in antifraud.py uses
sequence 950–959 for the industry watchlist.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True)
class BureauReport:
    found: bool
    score: int | None
    overdue_count_24m: int
    max_overdue_days: int
    open_loans: int
    monthly_debt: Decimal
    court_records: int
    source: str

    def facts(self) -> dict:
        return asdict(self)


class CreditBureau(Protocol):
    def query(self, kind: str, id_number: str, consent: str | None = None) -> BureauReport:
        """The customer's report; `consent` references the customer's signed authorization of this
        query (a real bureau records it with the query and refuses one without)."""
        ...


def sequence_code(id_number: str) -> int | None:
    tail = id_number[14:17]
    return int(tail) if tail.isdigit() else None


class SimulatedBureau:
    """Deterministic answers from the id number (see the module's table)."""

    source = "simulator"

    def query(self, kind: str, id_number: str, consent: str | None = None) -> BureauReport:
        seq = sequence_code(id_number)
        digest = hashlib.sha256(f"bureau:{id_number}".encode()).digest()
        score = 560 + int.from_bytes(digest[:2], "big") % 290
        open_loans = digest[2] % 5
        monthly_debt = Decimal(open_loans * (500 + (digest[3] % 40) * 100))
        clean = BureauReport(True, score, 0, 0, open_loans, monthly_debt, 0, self.source)
        if seq is None or seq < 960:
            return clean
        if seq >= 990:
            return BureauReport(False, None, 0, 0, 0, Decimal(0), 0, self.source)
        if seq >= 980:
            return BureauReport(True, min(score, 600), 0, 0, open_loans, monthly_debt, 1, self.source)
        if seq >= 970:
            return BureauReport(True, min(score, 580), 2, 120, open_loans, monthly_debt, 0, self.source)
        return BureauReport(True, min(score, 640), 3, 15, open_loans, monthly_debt, 0, self.source)
