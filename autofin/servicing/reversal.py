"""Reversing receipts: one rule for the bank's returns of settled debits (the night's bank step)
and for reversals a finance user asked for and the approval chain granted (post-lease requests).

A receipt not yet applied is only marked reversed: nothing of it was posted. An applied receipt
is taken back whole, on the business date of the reversal:
- its allocations stay as they were and their negatives, dated D, record the reversal;
- each instalment it paid owes again what it paid (a paid instalment is billed again);
- the customer credit it left is taken from the contract's credit;
- a contract it helped pay off is active again (paid_off → active);
- one `reversal` money event per receipt carries the allocations' components and posts by the
  `reversal` voucher template (assets/accounting/templates.yaml), the exact mirror of `receipt`;
- the contracts' DPD and buckets are recomputed as of D.

Callers check what their path requires before (a manual reversal refuses a receipt whose credit
was used since; a bank return cannot be refused). Set-based: one statement per kind of change,
whatever the number of receipts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, text

from autofin.domain.ledger import Template
from autofin.domain.lifecycle import CONTRACT
from autofin.domain.products import ALLOCATION_COMPONENTS
from autofin.servicing.delinquency import refresh_dpd
from autofin.store.engine import integer_key
from autofin.store.ledger import PostingResult, post_batch

EVENT_COMPONENTS = ("principal", "interest", "fee", "penalty", "credit")  # the money event's columns, in its order


@dataclass(frozen=True)
class Reversed:
    receipts: int  # reversed now (unapplied and applied)
    applied: int  # of which had been applied, and were posted back
    reopened: int  # contracts active again
    posted: PostingResult


def reverse_receipts(conn: Connection, d: date, receipts: str, batch_key: str, templates: Mapping[str, Template],
                     params: Mapping[str, object] | None = None) -> Reversed:
    """Reverse the receipts that `receipts` selects (a SELECT of receipt ids, with `params`); those
    already reversed are left alone. Their money events go into batch `batch_key`."""
    params = {**(params or {}), "d": d, "batch": batch_key}
    conn.execute(text(f"CREATE TEMPORARY TABLE IF NOT EXISTS tmp_reverse (receipt_id {integer_key(conn)}, contract_id BIGINT, applied INTEGER)"))
    conn.execute(text("DELETE FROM tmp_reverse"))
    count = conn.execute(
        text("INSERT INTO tmp_reverse (receipt_id, contract_id, applied) SELECT r.receipt_id, r.contract_id, "
             f"CASE WHEN r.status = 'applied' THEN 1 ELSE 0 END FROM receipt r WHERE r.status <> 'reversed' AND r.receipt_id IN ({receipts})"),
        params,
    ).rowcount
    applied = "SELECT receipt_id FROM tmp_reverse WHERE applied = 1"
    conn.execute(
        text(
            "INSERT INTO money_event (event_type, event_key, contract_id, business_date, currency, "
            + "".join(f"{c}_minor, " for c in EVENT_COMPONENTS)
            + "batch_id) SELECT 'reversal', 'reversal:' || r.receipt_id, r.contract_id, :d, r.currency, "
            + ", ".join(f"SUM(CASE WHEN a.component = '{c}' THEN a.amount_minor ELSE 0 END)" for c in EVENT_COMPONENTS)
            + f", :batch FROM receipt r JOIN allocation a ON a.receipt_id = r.receipt_id WHERE r.receipt_id IN ({applied}) "
            "GROUP BY r.receipt_id, r.contract_id, r.currency"
        ),
        params,
    )
    sums = ", ".join(f"SUM(CASE WHEN a.component = '{c}' THEN a.amount_minor ELSE 0 END) AS {c}" for c in ALLOCATION_COMPONENTS)
    sets = ", ".join(f"paid_{c}_minor = paid_{c}_minor - s.{c}" for c in ALLOCATION_COMPONENTS)
    conn.execute(text(f"UPDATE instalment SET {sets}, status = CASE WHEN status = 'paid' THEN 'billed' ELSE status END, "
                      f"paid_date = NULL FROM (SELECT a.instalment_id, {sums} FROM allocation a WHERE a.receipt_id IN ({applied}) "
                      "AND a.instalment_id IS NOT NULL GROUP BY a.instalment_id) s WHERE instalment.instalment_id = s.instalment_id"))
    reopened = conn.execute(text("SELECT COUNT(*) FROM contract WHERE status = 'paid_off' AND contract_id IN "
                                 "(SELECT contract_id FROM tmp_reverse WHERE applied = 1)")).scalar_one()
    if reopened:
        CONTRACT.check("paid_off", "active")
    # the credit each contract's reversed receipts had left it, summed from the receipts (their allocations
    # by receipt): as a subquery correlated to the contract, SQLite read every allocation for each contract
    conn.execute(
        text("UPDATE contract SET credit_minor = credit_minor - s.credit, "
             "status = CASE WHEN status = 'paid_off' THEN 'active' ELSE status END, "
             "closed_date = CASE WHEN status = 'paid_off' THEN NULL ELSE closed_date END "
             "FROM (SELECT t.contract_id, COALESCE(SUM(a.amount_minor), 0) AS credit FROM tmp_reverse t "
             "LEFT JOIN allocation a ON a.receipt_id = t.receipt_id AND a.component = 'credit' WHERE t.applied = 1 GROUP BY t.contract_id) s "
             "WHERE contract.contract_id = s.contract_id")
    )
    conn.execute(
        text("INSERT INTO allocation (receipt_id, instalment_id, component, amount_minor, business_date) "
             f"SELECT a.receipt_id, a.instalment_id, a.component, -a.amount_minor, :d FROM allocation a WHERE a.receipt_id IN ({applied}) "
             "ORDER BY a.allocation_id"),
        params,
    )
    conn.execute(text("UPDATE receipt SET status = 'reversed' WHERE receipt_id IN (SELECT receipt_id FROM tmp_reverse)"))
    applied_count = conn.execute(text("SELECT COUNT(*) FROM tmp_reverse WHERE applied = 1")).scalar_one()
    if count:
        refresh_dpd(conn, d, "SELECT contract_id FROM tmp_reverse")
    return Reversed(count, int(applied_count), int(reopened), post_batch(conn, batch_key, templates))
