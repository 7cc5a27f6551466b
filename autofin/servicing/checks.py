"""Control checks of the book. Each returns a list of failures (empty = green), with figures.

The nightly checks read only what can have changed: the trial balance and the ledger side of the
tie add up ledger_total (a few rows a day), the sub-ledger side the kept per-contract balances
(subledger_balance); nothing paid beyond what is owed and no negative credit are held for the whole
book through partial indexes of the few rows that could break them, and the DPD of every contract
past due from the billed instalments' index. Both sides of the tie are kept by the same
postings, so the tie catches a posting to a control account without a contract; the contracts
posted to by per-event batches (the API's money moves, a few a night) are also held to their
instalments at the close. An instalment moved by a bulk step without its money event, or by hand,
shows in the full-book checks (`full_book_checks`: `autofin cycle check --full`, the bench), which
read every instalment and line.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Connection, text

from autofin.reference import bank_profiles, chart_of_accounts
from autofin.reporting.book import yuan
from autofin.servicing.payouts import payouts_tie
from autofin.servicing.reconciliation import missing_from_statement, statement_banks
from autofin.store.engine import grouped_by_sorting
from autofin.store.ledger import (
    PENALTY_OF,
    RECHECK,
    exposure_drift,
    exposure_totals_drift,
    ledger_totals_differ,
    subledger_drift,
    subledger_vs_ledger,
    summary_events_differ,
    trial_balance_as_of,
)
from autofin.store.models import OVERPAID_CANDIDATES


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
    """No instalment paid beyond what it owes, no negative customer credit, in the whole book: read
    through partial indexes of the few rows that could break them (OVERPAID_CANDIDATES: paid beyond an
    amount, or with penalty paid; credit below zero), so the close reads those and nothing else."""
    bad_instalments = conn.execute(
        text(
            # the candidates' predicate stated whole, as the partial index has it (a planner uses the index only
            # for a query that implies it), then the rule itself, with the penalty booked
            f"SELECT COUNT(*) FROM instalment WHERE {OVERPAID_CANDIDATES} AND (paid_principal_minor > principal_minor "
            f"OR paid_interest_minor > interest_minor OR paid_fee_minor > fee_minor OR paid_penalty_minor > {PENALTY_OF.format(row='instalment')})"
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
    """Contract DPD equals the age of its oldest unpaid billed instalment (as of the last delinquency
    run, D), and its bucket is the one of its DPD. A written-off contract keeps the DPD it was
    written off at, with nothing left billed."""
    from autofin.servicing.delinquency import BUCKET_SQL
    from autofin.servicing.sql import days_between

    dpd = days_between(conn, ":d", "MIN(i.due_date)")
    bad = conn.execute(
        text(
            f"SELECT COUNT(*) FROM (SELECT i.contract_id, {dpd} AS dpd FROM instalment i WHERE i.status = 'billed' AND i.due_date < :d "
            "GROUP BY i.contract_id) t LEFT JOIN contract_dpd cd ON cd.contract_id = t.contract_id WHERE COALESCE(cd.dpd, 0) <> t.dpd"
        ),
        {"d": d},
    ).scalar_one()
    stale = conn.execute(
        text(
            "SELECT COUNT(*) FROM contract_dpd cd CROSS JOIN contract c WHERE c.contract_id = cd.contract_id AND c.status <> 'written_off' "
            "AND NOT EXISTS (SELECT 1 FROM instalment i WHERE i.contract_id = cd.contract_id AND i.status = 'billed' AND i.due_date < :d)"
        ),
        {"d": d},
    ).scalar_one()
    misfiled = conn.execute(
        text(f"SELECT COUNT(*) FROM contract_dpd cd WHERE cd.dpd <= 0 OR cd.bucket <> ({BUCKET_SQL.format(dpd='cd.dpd')})")
    ).scalar_one()
    out = []
    if bad:
        out.append(f"{bad} contracts whose DPD differs from their oldest unpaid instalment")
    if stale:
        out.append(f"{stale} contracts past due with nothing unpaid")
    if misfiled:
        out.append(f"{misfiled} contracts whose bucket is not the one of their DPD")
    return out


def debits_accounted_for(conn: Connection, d: date | None = None) -> list[str]:
    """Debits sent = debits answered + in flight: every uploaded file's orders are all there, each
    settled, rejected, returned or still sent; nothing is pending in an uploaded file. With `d` (the
    close), D's files, the files with a debit still in flight and any with a debit pending: the bank
    steps touch no others, and an order moved back to pending shows wherever it is; without, every file.

    Counted from the indexes alone, each file's orders by (status, debit_batch_id): joining the orders
    read every in-flight order's row, and finding the files in flight by the status index alone read
    all of them once for every file that had none (4.7 s of a 6.5 s close after two silent weeks at 1M)."""
    recent = "" if d is None else (" AND (b.business_date = :d OR b.debit_batch_id IN "
                                   "(SELECT o.debit_batch_id FROM debit_order o WHERE o.status IN ('sent', 'pending')))")
    rows = conn.execute(
        text(
            "SELECT b.message_id, b.tx_count, (SELECT COUNT(*) FROM debit_order o WHERE o.debit_batch_id = b.debit_batch_id), "
            "(SELECT COUNT(*) FROM debit_order o WHERE o.status IN ('sent', 'settled', 'rejected', 'returned') AND o.debit_batch_id = b.debit_batch_id) "
            f"FROM debit_batch b WHERE b.status = 'uploaded'{recent} ORDER BY b.debit_batch_id"
        ),
        {"d": d},
    ).all()
    out = [f"file {m}: {sent} debits sent, {n} on record, {ok} answered or in flight" for m, sent, n, ok in rows if not sent == n == ok]
    unbatched = conn.execute(text("SELECT COUNT(*) FROM debit_order WHERE status <> 'pending' AND debit_batch_id IS NULL")).scalar_one()
    if unbatched:
        out.append(f"{unbatched} debit orders sent without a file")
    return out


def schedules_repay_financed(conn: Connection) -> list[str]:
    """Σ instalment principal = financed amount, per contract (a scan of the whole book)."""
    rows = conn.execute(
        text(
            "SELECT c.contract_no, c.financed_minor, s.principal FROM contract c JOIN (SELECT contract_id, SUM(principal_minor) AS principal "
            f"FROM instalment GROUP BY {grouped_by_sorting(conn, 'contract_id')}) s ON s.contract_id = c.contract_id "
            "WHERE s.principal <> c.financed_minor LIMIT 20"
        )
    ).all()
    return [f"{no}: schedule principal {yuan(p)} ≠ financed {yuan(f)}" for no, f, p in rows]


def last_bills_match_instalments(conn: Connection) -> list[str]:
    """Each contract's kept last bill (contract_last_bill) is the latest billed_date of its
    instalments, and only a contract with a billed instalment has one (a scan of the whole book)."""
    latest = ("SELECT contract_id, MAX(billed_date) AS billed_date FROM instalment WHERE billed_date IS NOT NULL "
              f"GROUP BY {grouped_by_sorting(conn, 'contract_id')}")
    count, example = conn.execute(
        text(
            f"SELECT COUNT(*), MIN(COALESCE(i.contract_id, b.contract_id)) FROM ({latest}) i FULL JOIN contract_last_bill b ON b.contract_id = i.contract_id "
            "WHERE i.billed_date IS NULL OR b.billed_date IS NULL OR i.billed_date <> b.billed_date"
        )
    ).one()
    if not count:
        return []
    number = conn.execute(text("SELECT contract_no FROM contract WHERE contract_id = :c"), {"c": example}).scalar()
    return [f"{count} contracts whose kept last bill date is not the latest billed date of their instalments (e.g. {number})"]


def statement_gaps_are_breaks(conn: Connection, d: date) -> list[str]:
    """Every collected debit of a bank that sends statements that no statement line shows by the day
    after its value date is a break, as of the night of `d` (a scan of every debit receipt). The
    nightly reconciliation reads only those whose statement day passed that night, and those
    recorded since the night before."""
    banks = statement_banks(bank_profiles())
    if not banks:
        return []
    every_debit = "SELECT receipt_id FROM receipt WHERE source = 'debit'"
    count, example = conn.execute(
        text(f"SELECT COUNT(*), MIN(r.source_ref) {missing_from_statement(banks, every_debit)}"), {"cutoff": d - timedelta(days=1)},
    ).one()
    return [f"{count} collected debits the statement does not show and no break names (e.g. {example})"] if count else []


UNIDENTIFIED_ACCOUNT = "2241.02"


def unidentified_ties(conn: Connection) -> list[str]:
    """The unidentified receipts account (2241.02) holds exactly the open unidentified receipts."""
    held = -int(conn.execute(text("SELECT COALESCE(SUM(debit_minor - credit_minor), 0) FROM ledger_total WHERE account_code = :a"),
                             {"a": UNIDENTIFIED_ACCOUNT}).scalar_one())
    open_ = int(conn.execute(text("SELECT COALESCE(SUM(amount_minor), 0) FROM unidentified_receipt WHERE status = 'open'")).scalar_one())
    return [] if held == open_ else [f"{UNIDENTIFIED_ACCOUNT} holds {yuan(held)}, the open unidentified receipts {yuan(open_)}"]


def nightly_checks(conn: Connection, d: date, scope: str | None = None) -> dict[str, list[str]]:
    """The day close's checks. With `scope` (a SELECT of contract ids: the contracts posted to since the
    last close) the contracts posted to by per-event batches are held to their instalments, and the
    debit files looked at are D's and those still in flight; without, every file."""
    return {
        "trial_balance_zero": trial_balance_zero(conn, d),
        "subledger_ties_to_ledger": subledger_ties(conn),
        **({} if scope is None else {"subledger_matches_instalments": subledger_drift(conn, scope=RECHECK)}),
        "no_negative_balances": no_negative_balances(conn),
        "dpd_consistent": dpd_consistent(conn, d),
        "debits_accounted_for": debits_accounted_for(conn, d if scope is not None else None),
        "unidentified_ties_to_ledger": unidentified_ties(conn),
        "payouts_tie_to_ledger": payouts_tie(conn),
    }


def full_book_checks(conn: Connection, d: date) -> dict[str, list[str]]:
    """Every rule over the whole book, and the running totals the nightly checks read held against
    the journal lines and instalments they stand for (a scan of everything: minutes at 1M contracts)."""
    return {
        **nightly_checks(conn, d),
        "ledger_totals_match_lines": ledger_totals_differ(conn),
        "summary_vouchers_carry_their_events": summary_events_differ(conn),
        "subledger_balances_match_instalments": subledger_drift(conn),
        "provisioning_sees_the_book": exposure_drift(conn),
        "provisioning_totals_add_up": exposure_totals_drift(conn),
        "schedules_repay_financed": schedules_repay_financed(conn),
        "last_bills_match_instalments": last_bills_match_instalments(conn),
        "statement_gaps_are_breaks": statement_gaps_are_breaks(conn, d),
    }
