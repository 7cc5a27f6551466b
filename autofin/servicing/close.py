"""The end of the day: every event has its voucher, the day's vouchers go to the ledger system,
the control checks run, and the business day closes (or stays open, loudly)."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, insert, text, update

from autofin.domain.money import format_minor
from autofin.files import writing_atomically
from autofin.reference import chart_of_accounts
from autofin.servicing.checks import nightly_checks
from autofin.servicing.context import CheckFailedError, StepContext
from autofin.servicing.sql import analyze, zero_pad
from autofin.store.engine import integer_key
from autofin.store.ledger import BUCKET, DPD, DPD_JOIN, post_batch, write_summary_vouchers
from autofin.store.models import BusinessDay, VoucherExport


def ensure_vouchers(conn: Connection, d: date, ctx: StepContext) -> dict[str, Any]:
    """Post any event of D recorded outside the cycle's own batches, write the summary vouchers of
    the night's bulk batches (store.ledger.write_summary_vouchers), then prove the day is whole:
    every event of D carried by exactly one voucher, and D's debits equal its credits."""
    day_batches: dict[str, int] = dict(conn.execute(text("SELECT batch_id, COUNT(*) FROM money_event WHERE business_date = :d GROUP BY batch_id"),
                                    {"d": d}).all())
    carried: dict[str, int] = dict(conn.execute(text("SELECT batch_id, COUNT(*) FROM journal_entry WHERE entry_date = :d AND money_event_id IS NOT NULL "
                                     "GROUP BY batch_id"), {"d": d}).all())
    summarised: dict[str, int] = dict(conn.execute(text("SELECT batch_id, SUM(events) FROM summary_batch WHERE entry_date = :d GROUP BY batch_id"),
                                   {"d": d}).all())
    # a batch neither summarised nor wholly carried by its own vouchers has events nobody posted
    pending = sorted(b for b, n in day_batches.items() if b not in summarised and carried.get(b, 0) < n)
    late = sum(post_batch(conn, batch, ctx.templates).entries for batch in pending)
    summaries = write_summary_vouchers(conn, d, ctx.templates)
    events, carried_events, entries, debit, credit = conn.execute(
        text(
            # the day's debits and credits from the batches' totals (ledger_total, by date): journal_line
            # has no index by date alone, and summing it read every line of the book's history
            "SELECT (SELECT COUNT(*) FROM money_event WHERE business_date = :d), "
            "(SELECT COALESCE(SUM(events), 0) FROM journal_entry WHERE entry_date = :d), (SELECT COUNT(*) FROM journal_entry WHERE entry_date = :d), "
            "(SELECT COALESCE(SUM(debit_minor), 0) FROM ledger_total WHERE entry_date = :d), "
            "(SELECT COALESCE(SUM(credit_minor), 0) FROM ledger_total WHERE entry_date = :d)"
        ),
        {"d": d},
    ).one()
    if events != carried_events or debit != credit:
        raise CheckFailedError(f"{d}: {events} money events but {carried_events} carried by vouchers; debit {debit} credit {credit}")
    by_type: dict[str, int] = dict(conn.execute(text("SELECT event_type, SUM(events) FROM journal_entry WHERE entry_date = :d "
                                                     "GROUP BY event_type"), {"d": d}).all())
    return {"vouchers": int(entries), "summary_vouchers": summaries, "events": int(events), "posted_late": late,
            "debit_minor": int(debit), "credit_minor": int(credit), "events_by_type": {k: int(v) for k, v in sorted(by_type.items())}}


VOUCHER_COLUMNS = ["voucher_no", "entry_date", "event_type", "contract_no", "line_no", "account_code", "account_name", "debit", "credit", "currency",
                   "late", "events"]
# the order vouchers are numbered in: a day's summary vouchers first in their event type (written by
# the whole vouchers step, by currency), then one per event by contract and event key; nothing in it
# depends on the order rows of the sharded steps were inserted, so a day run whole or in contract
# shards numbers them alike
VOUCHER_ORDER = "je.entry_date, je.event_type, COALESCE(je.contract_id, 0), COALESCE(me.event_key, ''), je.journal_entry_id"
VOUCHER_DIGITS = 8
EXPORT_CHUNK = 50_000  # journal lines read and written at a time


def export_vouchers(conn: Connection, d: date, ctx: StepContext) -> dict[str, Any]:
    """Every journal entry not yet exported and dated D or before, as a UTF-8 CSV for the ledger
    system (one line per journal line). Each entry gets its voucher number here, V<D><sequence> in
    VOUCHER_ORDER, and is marked with this export: it goes out exactly once, and the same store
    and date give the same file. An entry dated before D was posted after its own day's export
    (by the API: a payment, refund, reversal or settlement) and is marked late; so are the opening
    balances of a migrated book, which go out once, in the first night's file. `events` is the
    number of money events a voucher carries: 1, or all of a day's events of one type from the
    night's bulk steps (a summary voucher, without a contract; its detail is in the money events).
    The file is written in chunks, never held whole."""
    conn.execute(text(f"CREATE TEMPORARY TABLE IF NOT EXISTS tmp_voucher (journal_entry_id {integer_key(conn)}, seq BIGINT)"))
    conn.execute(text("DELETE FROM tmp_voucher"))
    entries = conn.execute(
        text(f"INSERT INTO tmp_voucher (journal_entry_id, seq) SELECT je.journal_entry_id, ROW_NUMBER() OVER (ORDER BY {VOUCHER_ORDER}) "
             "FROM journal_entry je LEFT JOIN money_event me ON me.money_event_id = je.money_event_id "
             "WHERE je.exported_on IS NULL AND je.entry_date <= :d"),
        {"d": d},
    ).rowcount
    if entries >= 10 ** VOUCHER_DIGITS:
        raise CheckFailedError(f"{d}: {entries} vouchers do not fit the {VOUCHER_DIGITS}-digit voucher sequence")
    analyze(conn, "tmp_voucher")
    conn.execute(
        text(f"UPDATE journal_entry SET exported_on = :d, voucher_no = :prefix || {zero_pad(conn, 't.seq', VOUCHER_DIGITS)} "
             "FROM tmp_voucher t WHERE t.journal_entry_id = journal_entry.journal_entry_id "
             "AND journal_entry.journal_entry_id IN (SELECT journal_entry_id FROM tmp_voucher)"),  # the IN keeps SQLite off a scan of the ledger
        {"d": d, "prefix": f"V{d:%Y%m%d}"},
    )
    chart = chart_of_accounts()
    rows = conn.execute(
        text(
            # from the night's vouchers to their lines (CROSS JOIN keeps SQLite in this order: left free, it
            # scanned every journal line of the book's history and probed the night's vouchers for each)
            "SELECT je.voucher_no, je.entry_date, je.event_type, c.contract_no, jl.line_no, jl.account_code, jl.debit_minor, "
            "jl.credit_minor, jl.currency, je.events FROM tmp_voucher t CROSS JOIN journal_entry je CROSS JOIN journal_line jl "
            "LEFT JOIN contract c ON c.contract_id = je.contract_id "
            "WHERE je.journal_entry_id = t.journal_entry_id AND jl.journal_entry_id = t.journal_entry_id ORDER BY t.seq, jl.line_no"
        ).execution_options(
            # this statement only, streamed: a server-side cursor on PostgreSQL, EXPORT_CHUNK rows at a time. With the
            # yield_per option instead, psycopg's server-side cursor was opened too, yet the process kept every row it
            # read (3.8 GiB for the first night of a migrated 1M book, against 190 MiB on SQLite)
            stream_results=True, max_row_buffer=EXPORT_CHUNK),
    )
    folder = ctx.ledger_folder()
    folder.mkdir(parents=True, exist_ok=True)
    name = f"vouchers-{d.isoformat()}.csv"
    day, lines, sha = d.isoformat(), 0, hashlib.sha256()
    names = {code: account.name_zh for code, account in chart.items()}
    zero: dict[str, str] = {}  # most lines have one side zero: its text once per currency

    def amount(minor: int, currency: str) -> str:
        if minor:
            return format_minor(minor, currency)
        return zero.setdefault(currency, format_minor(0, currency))

    with writing_atomically(folder / name) as fh:  # written in chunks: a first night carries a whole migrated book
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(VOUCHER_COLUMNS)
        for part in rows.partitions(EXPORT_CHUNK):
            out = []
            for voucher_no, entry_date, event_type, contract_no, line_no, account, debit, credit, cur, carried in part:
                entry_day = entry_date if isinstance(entry_date, str) else entry_date.isoformat()
                out.append((voucher_no, entry_day, event_type, contract_no or "", line_no, account, names[account],
                            amount(debit, cur), amount(credit, cur), cur, "1" if entry_day < day else "0", carried))
            writer.writerows(out)
            lines += len(part)
            data = buffer.getvalue().encode("utf-8")
            sha.update(data)
            fh.write(data)
            buffer.seek(0)
            buffer.truncate()
        data = buffer.getvalue().encode("utf-8")  # what is left: the header alone, when there was no voucher
        sha.update(data)
        fh.write(data)
    digest = sha.hexdigest()
    conn.execute(insert(VoucherExport).values(business_date=d, file_name=name, sha256=digest, entries=entries, lines=lines))
    late = conn.execute(text("SELECT COUNT(*) FROM tmp_voucher t CROSS JOIN journal_entry je WHERE je.journal_entry_id = t.journal_entry_id "
                             "AND je.entry_date < :d"), {"d": d}).scalar_one()
    return {"file": name, "vouchers": entries, "late_vouchers": int(late), "lines": lines, "sha256": digest}


def close_day(conn: Connection, d: date, ctx: StepContext) -> dict[str, Any]:
    """The checks run over the running totals and the contracts posted to since the last close, which
    then leave the queue; any failure rolls it all back and the day stays open."""
    conn.execute(text(f"CREATE TEMPORARY TABLE IF NOT EXISTS tmp_closing (contract_id {integer_key(conn)})"))
    conn.execute(text("DELETE FROM tmp_closing"))
    conn.execute(text("INSERT INTO tmp_closing (contract_id) SELECT contract_id FROM subledger_dirty"))
    analyze(conn, "tmp_closing")
    checked = conn.execute(text("SELECT COUNT(*) FROM tmp_closing")).scalar_one()
    results = nightly_checks(conn, d, scope="SELECT contract_id FROM tmp_closing")
    failures = {name: problems for name, problems in results.items() if problems}
    if failures:
        detail = "; ".join(f"{name}: {', '.join(problems)}" for name, problems in failures.items())
        raise CheckFailedError(f"{d} stays open, checks failed: {detail}")
    conn.execute(text("DELETE FROM subledger_dirty"))
    snapshot = _month_end_snapshot(conn, d)
    conn.execute(update(BusinessDay).where(BusinessDay.business_date == d).values(status="closed", closed_at=text("CURRENT_TIMESTAMP")))
    return {"checks": {name: "ok" for name in results}, "contracts_checked": int(checked), "bucket_snapshot_contracts": snapshot}


def _month_end_snapshot(conn: Connection, d: date) -> int:
    """On the last day of a month, each active contract's bucket, DPD and principal outstanding (for roll rates).
    The principal outstanding is the contract's kept sub-ledger balance (unbilled principal and billed
    principal unpaid, `subledger_balance`), which the close holds to its instalments each night and the
    full-book check for every contract: summing the book's instalments took 10 s of the 1M month-end
    close (SQLite read them in the table's own order and sorted; by contract, a page each, 194 s)."""
    if (d + timedelta(days=1)).day != 1:
        return 0
    return conn.execute(
        text(
            "INSERT INTO bucket_snapshot (snapshot_date, contract_id, bucket, dpd, principal_outstanding_minor) "
            f"SELECT :d, c.contract_id, {BUCKET}, {DPD}, b.unbilled_principal_minor + b.principal_minor FROM contract c "
            f"JOIN subledger_balance b ON b.contract_id = c.contract_id {DPD_JOIN} WHERE c.status = 'active'"
        ),
        {"d": d},
    ).rowcount
