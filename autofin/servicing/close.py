"""The end of the day: every event has its voucher, the day's vouchers go to the ledger system,
the control checks run, and the business day closes (or stays open, loudly)."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, text, update

from autofin.files import write_atomically
from autofin.reference import chart_of_accounts
from autofin.servicing.checks import nightly_checks
from autofin.servicing.cycle import CheckFailedError, StepContext, step
from autofin.store.ledger import post_batch
from autofin.store.models import BusinessDay, VoucherExport
from autofin.domain.money import format_minor


@step("vouchers")
def ensure_vouchers(conn: Connection, d: date, ctx: StepContext) -> dict[str, Any]:
    """Post any event of D recorded outside the cycle's own batches, then prove the day is whole."""
    pending = [
        row[0]
        for row in conn.execute(
            text("SELECT DISTINCT me.batch_id FROM money_event me WHERE me.business_date = :d AND NOT EXISTS "
                 "(SELECT 1 FROM journal_entry je WHERE je.money_event_id = me.money_event_id)"),
            {"d": d},
        )
    ]
    late = sum(post_batch(conn, batch, ctx.templates).entries for batch in pending)
    events, entries, debit, credit = conn.execute(
        text(
            "SELECT (SELECT COUNT(*) FROM money_event WHERE business_date = :d), (SELECT COUNT(*) FROM journal_entry WHERE entry_date = :d), "
            "(SELECT COALESCE(SUM(debit_minor), 0) FROM journal_line WHERE entry_date = :d), "
            "(SELECT COALESCE(SUM(credit_minor), 0) FROM journal_line WHERE entry_date = :d)"
        ),
        {"d": d},
    ).one()
    if events != entries or debit != credit:
        raise CheckFailedError(f"{d}: {events} money events but {entries} vouchers; debit {debit} credit {credit}")
    by_type = dict(conn.execute(text("SELECT event_type, COUNT(*) FROM journal_entry WHERE entry_date = :d GROUP BY event_type"), {"d": d}).all())
    return {"vouchers": int(entries), "posted_late": late, "debit_minor": int(debit), "credit_minor": int(credit),
            "by_event_type": {k: int(v) for k, v in sorted(by_type.items())}}


VOUCHER_COLUMNS = ["voucher_no", "entry_date", "event_type", "contract_no", "line_no", "account_code", "account_name", "debit", "credit", "currency"]


@step("voucher_export")
def export_vouchers(conn: Connection, d: date, ctx: StepContext) -> dict[str, Any]:
    """The day's vouchers as a UTF-8 CSV for the ledger system (one line per journal line)."""
    chart = chart_of_accounts()
    rows = conn.execute(
        text(
            "SELECT je.journal_entry_id, je.entry_date, je.event_type, c.contract_no, jl.line_no, jl.account_code, jl.debit_minor, "
            "jl.credit_minor, jl.currency FROM journal_entry je JOIN journal_line jl ON jl.journal_entry_id = je.journal_entry_id "
            "LEFT JOIN contract c ON c.contract_id = je.contract_id WHERE je.entry_date = :d ORDER BY je.journal_entry_id, jl.line_no"
        ),
        {"d": d},
    ).all()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(VOUCHER_COLUMNS)
    entries = set()
    for je_id, entry_date, event_type, contract_no, line_no, account, debit, credit, cur in rows:
        entries.add(je_id)
        writer.writerow([f"V{je_id:012d}", str(entry_date)[:10], event_type, contract_no or "", line_no, account, chart[account].name_zh,
                         format_minor(debit, cur), format_minor(credit, cur), cur])
    data = buffer.getvalue().encode("utf-8")
    folder = Path(ctx.export_dir) / "ledger"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"vouchers-{d.isoformat()}.csv"
    write_atomically(folder / name, data)
    digest = hashlib.sha256(data).hexdigest()
    conn.execute(insert(VoucherExport).values(business_date=d, file_name=name, sha256=digest, entries=len(entries), lines=len(rows)))
    return {"file": name, "vouchers": len(entries), "lines": len(rows), "sha256": digest}


@step("day_close")
def close_day(conn: Connection, d: date, ctx: StepContext) -> dict[str, Any]:
    results = nightly_checks(conn, d)
    failures = {name: problems for name, problems in results.items() if problems}
    if failures:
        detail = "; ".join(f"{name}: {', '.join(problems)}" for name, problems in failures.items())
        raise CheckFailedError(f"{d} stays open, checks failed: {detail}")
    snapshot = _month_end_snapshot(conn, d)
    conn.execute(update(BusinessDay).where(BusinessDay.business_date == d).values(status="closed", closed_at=text("CURRENT_TIMESTAMP")))
    return {"checks": {name: "ok" for name in results}, "bucket_snapshot_contracts": snapshot}


def _month_end_snapshot(conn: Connection, d: date) -> int:
    """On the last day of a month, each active contract's bucket, DPD and principal outstanding (for roll rates)."""
    if (d + timedelta(days=1)).day != 1:
        return 0
    return conn.execute(
        text(
            "INSERT INTO bucket_snapshot (snapshot_date, contract_id, bucket, dpd, principal_outstanding_minor) "
            "SELECT :d, c.contract_id, c.bucket, c.dpd, COALESCE(SUM(i.principal_minor - i.paid_principal_minor), 0) "
            "FROM contract c JOIN instalment i ON i.contract_id = c.contract_id AND i.status <> 'paid' "
            "WHERE c.status = 'active' GROUP BY c.contract_id, c.bucket, c.dpd"
        ),
        {"d": d},
    ).rowcount
