"""Control checks of the book. Each returns a list of failures (empty = green), with figures."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, text

from autofin.reference import chart_of_accounts
from autofin.reporting.book import yuan
from autofin.store.ledger import subledger_vs_ledger, trial_balance_as_of


def trial_balance_zero(conn: Connection, d: date) -> list[str]:
    rows = trial_balance_as_of(conn, d, chart_of_accounts())
    diff = sum(r.balance_minor for r in rows)
    return [] if diff == 0 else [f"trial balance off by {yuan(diff)} as of {d}"]


def subledger_ties(conn: Connection) -> list[str]:
    return [
        f"account {t.account}: sub-ledger {yuan(t.subledger_minor)} ≠ ledger {yuan(t.ledger_minor)} (difference {yuan(t.difference_minor)})"
        for t in subledger_vs_ledger(conn)
        if t.difference_minor
    ]


def no_negative_balances(conn: Connection) -> list[str]:
    bad_instalments = conn.execute(
        text(
            "SELECT COUNT(*) FROM instalment WHERE status = 'billed' AND (paid_principal_minor > principal_minor "
            "OR paid_interest_minor > interest_minor OR paid_fee_minor > fee_minor OR paid_penalty_minor > penalty_minor)"
        )
    ).scalar_one()
    bad_credit = conn.execute(text("SELECT COUNT(*) FROM contract WHERE credit_minor < 0")).scalar_one()
    out = []
    if bad_instalments:
        out.append(f"{bad_instalments} instalments paid beyond what they owe")
    if bad_credit:
        out.append(f"{bad_credit} contracts with negative customer credit")
    return out


def dpd_consistent(conn: Connection, d: date) -> list[str]:
    """Contract DPD equals the age of its oldest unpaid billed instalment (as of the last delinquency run, D)."""
    from autofin.servicing.sql import days_between

    dpd = days_between(conn, ":d", "MIN(i.due_date)")
    bad = conn.execute(
        text(
            f"SELECT COUNT(*) FROM (SELECT i.contract_id, {dpd} AS dpd FROM instalment i WHERE i.status = 'billed' AND i.due_date < :d "
            "GROUP BY i.contract_id) t JOIN contract c ON c.contract_id = t.contract_id WHERE c.dpd <> t.dpd"
        ),
        {"d": d},
    ).scalar_one()
    stale = conn.execute(
        text(
            "SELECT COUNT(*) FROM contract c WHERE c.dpd > 0 AND NOT EXISTS (SELECT 1 FROM instalment i "
            "WHERE i.contract_id = c.contract_id AND i.status = 'billed' AND i.due_date < :d)"
        ),
        {"d": d},
    ).scalar_one()
    out = []
    if bad:
        out.append(f"{bad} contracts whose DPD differs from their oldest unpaid instalment")
    if stale:
        out.append(f"{stale} contracts past due with nothing unpaid")
    return out


def debits_accounted_for(conn: Connection) -> list[str]:
    """Debits sent = debits answered + in flight: every uploaded file's orders are all there, each
    settled, rejected, returned or still sent; nothing is pending in an uploaded file."""
    rows = conn.execute(
        text(
            "SELECT b.message_id, b.tx_count, COUNT(o.debit_order_id), "
            "SUM(CASE WHEN o.status IN ('sent', 'settled', 'rejected', 'returned') THEN 1 ELSE 0 END) "
            "FROM debit_batch b LEFT JOIN debit_order o ON o.debit_batch_id = b.debit_batch_id "
            "WHERE b.status = 'uploaded' GROUP BY b.debit_batch_id, b.message_id, b.tx_count"
        )
    ).all()
    out = [f"file {m}: {sent} debits sent, {n} on record, {ok or 0} answered or in flight" for m, sent, n, ok in rows if not sent == n == (ok or 0)]
    unbatched = conn.execute(text("SELECT COUNT(*) FROM debit_order WHERE status <> 'pending' AND debit_batch_id IS NULL")).scalar_one()
    if unbatched:
        out.append(f"{unbatched} debit orders sent without a file")
    return out


def schedules_repay_financed(conn: Connection) -> list[str]:
    """Σ instalment principal = financed amount, per contract (a scan of the whole book)."""
    rows = conn.execute(
        text(
            "SELECT c.contract_no, c.financed_minor, s.principal FROM contract c JOIN (SELECT contract_id, SUM(principal_minor) AS principal "
            "FROM instalment GROUP BY contract_id) s ON s.contract_id = c.contract_id WHERE s.principal <> c.financed_minor LIMIT 20"
        )
    ).all()
    return [f"{no}: schedule principal {yuan(p)} ≠ financed {yuan(f)}" for no, f, p in rows]


def nightly_checks(conn: Connection, d: date) -> dict[str, list[str]]:
    return {
        "trial_balance_zero": trial_balance_zero(conn, d),
        "subledger_ties_to_ledger": subledger_ties(conn),
        "no_negative_balances": no_negative_balances(conn),
        "dpd_consistent": dpd_consistent(conn, d),
        "debits_accounted_for": debits_accounted_for(conn),
    }
