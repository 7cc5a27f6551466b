"""Reconciliation: the banks' statements (camt.053) against the receipts and payouts the books hold.

A statement credit matches the receipt with its end-to-end reference and the same amount; a
statement debit, the paid payout with its end-to-end id and amount. What
does not match is listed as a break, never dropped: a statement line with no receipt, a
collected debit the statement does not show by the day after its value date, an amount that
differs. Breaks stay open until someone resolves them. A night reads the collected debits whose
statement day has just passed, not every recent one; the full-book check reads them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, text

from autofin.bankfiles.profiles import BankProfile
from autofin.servicing.context import StepContext
from autofin.store.engine import indexed_by


def reconcile(conn: Connection, d: date, ctx: StepContext) -> dict[str, Any]:
    banks = statement_banks(ctx.banks)
    matched = conn.execute(
        text(
            "UPDATE bank_statement_line SET status = 'matched' WHERE status = 'break' AND booking_date <= :d AND is_credit = :yes "
            "AND EXISTS (SELECT 1 FROM receipt r WHERE r.source_ref = bank_statement_line.reference "
            "AND r.amount_minor = bank_statement_line.amount_minor AND r.status <> 'reversed')"
        ),
        {"d": d, "yes": True},
    ).rowcount
    matched += conn.execute(  # money out: a debit line is a payout the bank paid, by its end-to-end id and amount
        text(
            "UPDATE bank_statement_line SET status = 'matched' WHERE status = 'break' AND booking_date <= :d AND is_credit = :no "
            "AND EXISTS (SELECT 1 FROM payout p WHERE p.end_to_end_id = bank_statement_line.reference "
            "AND p.amount_minor = bank_statement_line.amount_minor AND p.status = 'paid')"
        ),
        {"d": d, "no": False},
    ).rowcount
    unmatched = conn.execute(
        text(
            "INSERT INTO reconciliation_break (business_date, bank_code, kind, reference, bank_minor, book_minor) "
            "SELECT :d, l.bank_code, CASE WHEN r.receipt_id IS NULL THEN 'unmatched_statement_line' ELSE 'amount_mismatch' END, "
            "l.reference, l.amount_minor, COALESCE(r.amount_minor, 0) FROM bank_statement_line l "
            "LEFT JOIN receipt r ON r.source_ref = l.reference WHERE l.status = 'break' AND l.booking_date <= :d "
            "AND NOT EXISTS (SELECT 1 FROM reconciliation_break b WHERE b.reference = l.reference AND b.bank_code = l.bank_code "
            "AND b.kind IN ('unmatched_statement_line', 'amount_mismatch'))"
        ),
        {"d": d},
    ).rowcount
    missing = 0
    if banks:
        # the collected debits whose statement day passed tonight, and those recorded since last night's
        # run (late, their value date already past): the others were looked at on an earlier night, and
        # a statement line, once read, stays (the full-book check holds every collected debit to the rule).
        # Those recorded since are read by their business date: SQLite would take the value dates before
        # the cutoff, every collected debit of the book's history
        tonight = ("SELECT receipt_id FROM receipt WHERE source = 'debit' AND value_date = :due UNION SELECT receipt_id FROM "
                   f"{indexed_by(conn, 'receipt', 'ix_receipt_business_date')} WHERE source = 'debit' AND business_date >= :since "
                   "AND value_date < :cutoff")
        missing = conn.execute(
            text("INSERT INTO reconciliation_break (business_date, bank_code, kind, reference, bank_minor, book_minor) "
                 f"SELECT :d, m.bank_code, 'missing_from_statement', r.source_ref, 0, r.amount_minor {missing_from_statement(banks, tonight)}"),
            {"d": d, "due": d - timedelta(days=2), "cutoff": d - timedelta(days=1), "since": d - timedelta(days=1)},
        ).rowcount
    open_breaks = conn.execute(text("SELECT COUNT(*) FROM reconciliation_break WHERE status = 'open'")).scalar_one()
    return {"matched": matched, "new_breaks": unmatched + missing, "open_breaks": int(open_breaks)}


def statement_banks(profiles: Mapping[str, BankProfile]) -> list[str]:
    """The codes of the banks that send statements (camt.053: the ISO profiles)."""
    return sorted(code for code, p in profiles.items() if p.is_iso)


def missing_from_statement(statement_banks: list[str], candidates: str) -> str:
    """FROM … WHERE of the collected debits among `candidates` (a SELECT of receipt ids; bound
    :cutoff) of the banks that send statements, not reversed, whose value date is before :cutoff,
    that no statement line shows and no break names yet."""
    banks = ", ".join(f"'{b}'" for b in statement_banks)
    return ("FROM receipt r JOIN debit_order o ON o.end_to_end_id = r.source_ref JOIN mandate m ON m.mandate_id = o.mandate_id "
            f"WHERE r.receipt_id IN ({candidates}) AND r.source = 'debit' AND r.status <> 'reversed' AND r.value_date < :cutoff "
            f"AND m.bank_code IN ({banks}) AND NOT EXISTS (SELECT 1 FROM bank_statement_line l WHERE l.reference = r.source_ref) "
            "AND NOT EXISTS (SELECT 1 FROM reconciliation_break b WHERE b.reference = r.source_ref AND b.kind = 'missing_from_statement')")
