"""The bank steps of the cycle: debit orders and their files, upload, and the banks' answers.

debit_orders  contracts with an active mandate, money owed and nothing in flight get one debit
              order each (re-presented after a failure per the bank profile); orders are grouped
              per bank into files of at most the profile's maximum, written and registered with
              their hash and control sums. File contents depend only on the store and the date,
              so a re-run after a crash writes the same bytes.
bank_upload   every registered outbound file goes to its bank (temporary name, then rename);
              the transport does not send again what the bank already holds.
bank_returns  every answer the banks left is fetched (from the start of the night, by
              `read_answers_ahead`, and again by the step), checked before anything is applied
              (format, control sums, known batch and end-to-end ids, amounts, currencies, value
              dates, states, reason codes, never seen before) and applied; a file that fails any
              check, or whose reading fails in any way, goes to quarantine/ with a reason note
              while the other files of the night apply. Only booked settlements become receipts;
              rejected ones record their reason (MS03 when the bank gives none) and, for AC04/MD01
              and the like, stop the mandate; returns of settled debits reverse their receipts.
              Files move out of inbound/ only after the commit; a file applied before a crash that
              stopped its move is moved by the next run, not quarantined as a duplicate.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, date, datetime, time
from pathlib import Path
from time import perf_counter
from typing import Any, NamedTuple

from sqlalchemy import BigInteger, Column, Connection, Date, MetaData, Table, Text, insert, select, text
from sqlalchemy.exc import IntegrityError

from autofin.bankfiles import cn_text, importers, pain008, reading
from autofin.bankfiles.profiles import BankProfile
from autofin.bankfiles.reasons import REASONS, failure_reason
from autofin.bankfiles.records import BankFileError, DebitFile, DebitInstruction, Statement, StatusReport
from autofin.files import write_atomically
from autofin.servicing import payouts
from autofin.servicing.context import StepContext
from autofin.servicing.days import is_bank_day
from autofin.servicing.outbound import Written, register_outbound, write_outbound
from autofin.servicing.reversal import reverse_receipts
from autofin.servicing.sql import analyze, days_between, zero_pad
from autofin.settings import answer_readers
from autofin.store.bulk import fetch_rows, insert_rows
from autofin.store.engine import as_date, indexed_by, integer_key, is_sqlite
from autofin.store.ledger import OWED, PENALTY_JOIN
from autofin.store.models import BankFile, BankStatementLine, DebitBatch

TMP_ANSWER = Table("tmp_answer", MetaData(), Column("e2e", Text), Column("status", Text), Column("reason", Text), Column("amount", BigInteger),
                   Column("currency", Text), Column("value_date", Date))
FAILED = ("rejected", "returned")
# the night's answers keep an index of the failed ones only (`_apply_report`): a failed order's reason is found there by its id
FAILED_ANSWERS = f"status IN ({', '.join(repr(s) for s in FAILED)})"
REASON_OF_ORDER = f"(SELECT a.reason FROM tmp_answer a WHERE a.e2e = debit_order.end_to_end_id AND a.{FAILED_ANSWERS})"
# a bank's value date lies within this many days of the debit's collection date and the business
# date that reads the answer; further off (2099, 1970) the file is refused, never booked
VALUE_DATE_SLACK_DAYS = 5
REASON_CODE = re.compile(r"^[A-Z0-9]{4}$")
log = logging.getLogger("autofin.cycle")


def _sql_codes(codes) -> str:  # noqa: ANN001
    codes = sorted(codes)
    if not all(REASON_CODE.match(c) for c in codes):
        raise ValueError(f"bad reason codes {codes}")
    return ", ".join(f"'{c}'" for c in codes) or "''"


# ------------------------------------------------------------------ debit orders


def create_debit_orders(conn: Connection, d: date, ctx: StepContext) -> dict[str, Any]:
    """Each bank's orders and files in turn (_write_files). One thread renders and writes the files
    behind the step, from the first bank's to the last: a bank's rendering goes on while its orders
    are inserted and while the next bank's are selected and numbered, and the files are registered
    when the last is written. `file_writing_seconds` is the step's time in _write_files and in that
    last wait for the thread."""
    if not is_bank_day(conn, d):
        return {"skipped": "not a bank business day"}
    out: dict[str, Any] = {"orders": 0, "amount_minor": 0, "files": [], "by_bank": {}, "file_writing_seconds": 0.0}
    _owed_by_mandate(conn, d)
    writings: list[tuple[BankProfile, _Batch, Future[Written]]] = []
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="debit-files")
    try:
        for code, profile in sorted(ctx.banks.items()):
            _select_debits(conn, d, profile)
            started = perf_counter()
            files = _write_files(conn, d, profile, ctx, pool)
            out["file_writing_seconds"] += perf_counter() - started
            writings += [(profile, batch, writing) for batch, writing in files]
            orders, amount = sum(batch.tx_count for batch, _ in files), sum(batch.ctrl_sum_minor for batch, _ in files)
            out["orders"] += orders
            out["amount_minor"] += amount
            out["files"] += [batch.name for batch, _ in files]
            out["by_bank"][code] = {"orders": orders, "amount_minor": amount, "files": len(files)}
        started = perf_counter()
        for profile, batch, writing in writings:
            register_outbound(conn, writing.result(), profile.format, batch.message_id, d)
        out["file_writing_seconds"] = round(out["file_writing_seconds"] + perf_counter() - started, 3)
    finally:
        pool.shutdown(cancel_futures=True)
    return out


def _owed_by_mandate(conn: Connection, d: date) -> None:
    """tmp_owed_all: what each active contract owes, net of its customer credit, with its active
    mandate and that mandate's bank, for every bank in one pass over the billed instalments (a pass
    per bank read them all once for each). Contracts with a debit awaiting its answer (tmp_debiting)
    are left out as their bills are read, not summed and then deleted: on the morning after a
    one-due-day book's debits, that was the whole book (the step 4.6–5.1 → 1.4–1.5 s at 1M, for no order)."""
    conn.execute(text(f"CREATE TEMPORARY TABLE IF NOT EXISTS tmp_debiting (contract_id {integer_key(conn)})"))
    conn.execute(text("DELETE FROM tmp_debiting"))
    # the key drops a contract's second order, not a DISTINCT's sort of them all first (920k sent at 1M: 0.47 → 0.27 s)
    conn.execute(text("INSERT INTO tmp_debiting (contract_id) SELECT contract_id FROM debit_order WHERE status IN ('pending', 'sent') "
                      "ON CONFLICT DO NOTHING"))
    analyze(conn, "tmp_debiting")
    conn.execute(text(f"CREATE TEMPORARY TABLE IF NOT EXISTS tmp_owed_all (contract_id {integer_key(conn)}, mandate_id BIGINT, "
                      "bank_code TEXT, owed BIGINT, currency TEXT)"))
    conn.execute(text("DELETE FROM tmp_owed_all"))
    conn.execute(
        text(
            # net of the customer's credit, which the night's allocation applies to these bills first
            "INSERT INTO tmp_owed_all (contract_id, mandate_id, bank_code, owed, currency) "
            f"SELECT i.contract_id, m.mandate_id, m.bank_code, SUM({OWED}) - c.credit_minor, c.currency "
            # CROSS JOIN: from the billed instalments (partial index); SQLite walked every active contract
            # by the status index and probed its bills (0.57 → 0.30 s on a typical weekday at 1M). INDEXED BY:
            # with the amounts in that index (0038) SQLite, without statistics, took it for as wide as the
            # table and read the key's range instead, every instalment due by D, paid or not
            f"FROM {indexed_by(conn, 'instalment i', 'ix_instalment_billed_contract')} {PENALTY_JOIN} CROSS JOIN contract c "
            "JOIN mandate m ON m.contract_id = i.contract_id AND m.status = 'active' "
            "WHERE c.contract_id = i.contract_id AND i.status = 'billed' AND i.due_date <= :d AND c.status = 'active' "
            "AND NOT EXISTS (SELECT 1 FROM tmp_debiting f WHERE f.contract_id = i.contract_id) "
            "GROUP BY i.contract_id, m.mandate_id, m.bank_code, c.credit_minor, c.currency "
            f"HAVING SUM({OWED}) > c.credit_minor"
        ),
        {"d": d},
    )
    analyze(conn, "tmp_owed_all")


def _select_debits(conn: Connection, d: date, profile: BankProfile) -> None:
    """tmp_owed: the bank's contracts to debit tonight, with the amount and the attempt."""
    params = {"d": d, "bank": profile.code, "after": profile.representment_after_days, "max": profile.max_attempts}
    conn.execute(text(f"CREATE TEMPORARY TABLE IF NOT EXISTS tmp_owed (contract_id {integer_key(conn)}, mandate_id BIGINT, owed BIGINT, currency TEXT, "
                      "attempt INTEGER)"))
    conn.execute(text(f"CREATE TEMPORARY TABLE IF NOT EXISTS tmp_last (contract_id {integer_key(conn)}, status TEXT, reason TEXT, "
                      "business_date DATE, attempt INTEGER)"))
    conn.execute(text("DELETE FROM tmp_owed"))
    conn.execute(text("DELETE FROM tmp_last"))
    conn.execute(text("INSERT INTO tmp_owed (contract_id, mandate_id, owed, currency, attempt) SELECT contract_id, mandate_id, owed, currency, 1 "
                      "FROM tmp_owed_all WHERE bank_code = :bank"), params)
    conn.execute(
        text(
            "INSERT INTO tmp_last (contract_id, status, reason, business_date, attempt) "
            "SELECT o.contract_id, o.status, o.reason_code, o.business_date, o.attempt FROM debit_order o JOIN "
            "(SELECT contract_id, MAX(debit_order_id) AS last_id FROM debit_order WHERE contract_id IN (SELECT contract_id FROM tmp_owed) "
            "GROUP BY contract_id) l ON l.last_id = o.debit_order_id"
        )
    )
    reasons = _sql_codes(profile.representment_reasons)
    # billed since the failure: the contract's last bill (kept by billing) after the failed debit's date
    billed_since = "EXISTS (SELECT 1 FROM contract_last_bill b WHERE b.contract_id = l.contract_id AND b.billed_date > l.business_date)"
    failed = f"l.status IN ('rejected', 'returned') AND l.reason IN ({reasons})"
    # too soon after a failure, or out of attempts until something new falls due
    conn.execute(
        text(
            "DELETE FROM tmp_owed WHERE contract_id IN (SELECT l.contract_id FROM tmp_last l WHERE "
            f"{failed} AND ({days_between(conn, ':d', 'l.business_date')} < :after OR (l.attempt >= :max AND NOT {billed_since})))"
        ),
        params,
    )
    conn.execute(
        text(
            "UPDATE tmp_owed SET attempt = (SELECT l.attempt + 1 FROM tmp_last l WHERE l.contract_id = tmp_owed.contract_id) "
            f"WHERE contract_id IN (SELECT l.contract_id FROM tmp_last l WHERE {failed} AND NOT {billed_since})"
        ),
        params,
    )


def _write_files(conn: Connection, d: date, profile: BankProfile, ctx: StepContext,
                 pool: ThreadPoolExecutor) -> list[tuple[_Batch, Future[Written]]]:
    """The bank's orders of the night (tmp_owed) in files of at most the profile's maximum, in
    contract order: each file's debit_batch row first, then the orders inserted already holding
    their batch (tagging them afterwards rewrote every order of the night), each file rendered from
    the same lines and held, with the orders inserted, to the count and control sum its batch row
    registered. Returns each file's batch with its rendering, which `pool`'s thread does.

    The lines are read whole (numbered in tmp_numbered, so neither read nor insert sorts), then
    each file goes to the thread, which renders it while the orders are inserted. An insert from a
    select is one call into the store, which lets go of the interpreter for all of it; reading a
    line makes Python values, which needs the interpreter as the rendering does, and a read beside
    the rendering took turns with it rather than sharing the two cores (the worst Monday at 1M,
    920k debits, on fresh copies in one hour: rendered beside the read 8.3-9.4 s, beside the insert
    7.7-7.8 s).

    The orders' references (contract, mandate, batch) are held by the step: the lines are the
    numbered orders joined to their mandate and contract, every one of them read (the count checked
    here, each file's count and sum in `written`), and the inserted orders are the same numbered
    orders joined to the batches just registered, held to each batch's count and sum. So on SQLite
    the step runs without SQLite's per-row check of them (servicing.cycle.REFERENCES_HELD_BY_THE_STEP)."""
    _number_orders(conn)
    per_file = {"per_file": profile.max_transactions_per_file}
    files = conn.execute(text(f"SELECT {_FILE_OF}, COUNT(*), SUM(t.owed) FROM tmp_numbered t GROUP BY 1 ORDER BY 1"), per_file).all()
    if not files:
        return []
    counts, most = [int(n) for _, n, _ in files], profile.max_transactions_per_file
    if counts[:-1] != [most] * (len(counts) - 1) or counts[-1] > most:  # each file full but the last
        raise RuntimeError(f"{profile.code}: the orders are not numbered one after another: files of {counts}")
    conn.execute(text(f"CREATE TEMPORARY TABLE IF NOT EXISTS tmp_debit_file (file_no {integer_key(conn)}, debit_batch_id BIGINT)"))
    conn.execute(text("DELETE FROM tmp_debit_file"))
    batches = []
    for file_no, count, total in files:
        message_id = f"AF{profile.code}{d:%Y%m%d}{file_no + 1:03d}"
        batch = _Batch(message_id, f"{message_id}{profile.file_suffix}", int(count), int(total))  # PostgreSQL's SUM is a numeric
        batch_id = conn.execute(
            insert(DebitBatch).values(bank_code=profile.code, business_date=d, message_id=message_id, file_name=batch.name,
                                      tx_count=batch.tx_count, ctrl_sum_minor=batch.ctrl_sum_minor, currency=profile.currency)
            .returning(DebitBatch.debit_batch_id)
        ).scalar_one()
        conn.execute(text("INSERT INTO tmp_debit_file (file_no, debit_batch_id) VALUES (:n, :b)"), {"n": file_no, "b": batch_id})
        batches.append(batch)
    e2e = f"'AF' || :ymd || {zero_pad(conn, 't.contract_id', 12)}"
    params = {"d": d, "ymd": d.strftime("%Y%m%d"), **per_file}
    lines = fetch_rows(conn, text(
        f"SELECT {e2e}, t.owed, t.currency, m.mandate_ref, m.signed_date, m.debtor_name, m.debtor_account, c.contract_no "
        "FROM tmp_numbered t JOIN mandate m ON m.mandate_id = t.mandate_id JOIN contract c ON c.contract_id = t.contract_id ORDER BY t.seq"
    ), params)
    if len(lines) != sum(b.tx_count for b in batches):
        raise RuntimeError(f"{profile.code}: {sum(b.tx_count for b in batches)} orders numbered, {len(lines)} found with their mandate and contract")
    created = datetime.combine(d, time(1, 0))

    def written(batch: _Batch, lines: Sequence[Any]) -> Written:
        debits = DebitFile(batch.message_id, created, d, profile.creditor, tuple(
            DebitInstruction(e2e, amount, cur, ref, as_date(signed), debtor, account, no)
            for e2e, amount, cur, ref, signed, debtor, account, no in lines
        ))
        if (debits.count, debits.total_minor) != (batch.tx_count, batch.ctrl_sum_minor):
            raise RuntimeError(f"{batch.name}: {debits.count} orders of {debits.total_minor} to write, "
                               f"{batch.tx_count} of {batch.ctrl_sum_minor} registered")
        data = pain008.render(debits, profile.format) if profile.is_iso else cn_text.render_debit(debits)
        return write_outbound(ctx, profile.code, batch.name, data)

    writings, start = [], 0
    for batch in batches:  # each file its own list of lines, let go of once rendered
        writings.append(pool.submit(written, batch, lines[start:start + batch.tx_count]))
        start += batch.tx_count
    del lines
    conn.execute(
        text(
            "INSERT INTO debit_order (contract_id, mandate_id, end_to_end_id, amount_minor, currency, business_date, status, attempt, "
            f"debit_batch_id) SELECT t.contract_id, t.mandate_id, {e2e}, t.owed, t.currency, :d, 'pending', t.attempt, f.debit_batch_id "
            f"FROM tmp_numbered t JOIN tmp_debit_file f ON f.file_no = {_FILE_OF} ORDER BY t.seq"
        ),
        params,
    )
    inserted = {int(file_no): (int(count), int(total)) for file_no, count, total in conn.execute(text(
        "SELECT f.file_no, COUNT(*), SUM(o.amount_minor) FROM tmp_debit_file f JOIN debit_order o ON o.debit_batch_id = f.debit_batch_id "
        "GROUP BY f.file_no"
    ))}
    for file_no, batch in enumerate(batches):
        if inserted.get(file_no) != (batch.tx_count, batch.ctrl_sum_minor):
            raise RuntimeError(f"{batch.name}: {batch.tx_count} orders of {batch.ctrl_sum_minor} registered, the store holds {inserted.get(file_no)}")
    return list(zip(batches, writings, strict=True))


class _Batch(NamedTuple):
    message_id: str
    name: str
    tx_count: int
    ctrl_sum_minor: int


def _number_orders(conn: Connection) -> None:
    """tmp_numbered: tmp_owed in contract order, each order with its place, seq, from 1 (its file is
    `_FILE_OF`). On SQLite the emptied table numbers the rows itself: a row inserted without its
    rowid gets one more than the largest, 1 in an empty table, in the order of the select (ROW_NUMBER()'s
    window cost 0.3 s more for the worst Monday's 505k orders of one bank). PostgreSQL numbers them by
    ROW_NUMBER()."""
    conn.execute(text(f"CREATE TEMPORARY TABLE IF NOT EXISTS tmp_numbered (seq {integer_key(conn)}, contract_id BIGINT, mandate_id BIGINT, "
                      "owed BIGINT, currency TEXT, attempt INTEGER)"))
    conn.execute(text("DELETE FROM tmp_numbered"))
    if is_sqlite(conn):
        conn.execute(text("INSERT INTO tmp_numbered (contract_id, mandate_id, owed, currency, attempt) "
                          "SELECT contract_id, mandate_id, owed, currency, attempt FROM tmp_owed ORDER BY contract_id"))
    else:
        conn.execute(text("INSERT INTO tmp_numbered (seq, contract_id, mandate_id, owed, currency, attempt) "
                          "SELECT ROW_NUMBER() OVER (ORDER BY contract_id), contract_id, mandate_id, owed, currency, attempt FROM tmp_owed"))
    analyze(conn, "tmp_numbered")


# an order's file in tmp_numbered t (0, 1, ...), its place divided by the profile's maximum per file
_FILE_OF = "(t.seq - 1) / :per_file"


# ------------------------------------------------------------------ upload


def upload_files(conn: Connection, d: date, ctx: StepContext) -> dict[str, Any]:
    files = conn.execute(
        select(BankFile.bank_file_id, BankFile.bank_code, BankFile.file_name, BankFile.sha256, BankFile.message_id)
        .where(BankFile.direction == "out", BankFile.status == "registered").order_by(BankFile.bank_file_id)
    ).all()
    sent: list[str] = []
    already: list[str] = []
    for file_id, bank, name, digest, message_id in files:
        data = (ctx.bank_folder("outbound", bank) / name).read_bytes()
        if hashlib.sha256(data).hexdigest() != digest:
            raise BankFileError(f"{name} changed on disk since it was registered: not sending it")
        (sent if ctx.transport(ctx.banks[bank]).put(name, data) else already).append(name)
        conn.execute(text("UPDATE bank_file SET status = 'uploaded' WHERE bank_file_id = :f"), {"f": file_id})
        conn.execute(text("UPDATE debit_batch SET status = 'uploaded' WHERE message_id = :m"), {"m": message_id})
    # the orders of every file now at its bank, in one pass over the pending orders (an UPDATE per
    # file read all of them each time: 11 s for the 184 files of a million debits)
    conn.execute(text("UPDATE debit_order SET status = 'sent' WHERE status = 'pending' AND debit_batch_id IN "
                      "(SELECT debit_batch_id FROM debit_batch WHERE status = 'uploaded')"))
    return {"uploaded": sent, "already_at_bank": already, "payouts_sent": payouts.mark_uploaded(conn)}


# ------------------------------------------------------------------ returns


def _head(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(importers.HEAD_BYTES)


def _fetch(ctx: StepContext) -> Iterator[str]:
    """Every answer the banks left, moved to inbound/ (the bank's copy archived once it is held
    here), each file's name as it is fetched."""
    for code, profile in sorted(ctx.banks.items()):
        inbound = ctx.bank_folder("inbound", code)
        transport = ctx.transport(profile)
        for name in transport.list_inbound():
            data = transport.get(name)
            target = inbound / name
            if target.exists() and target.read_bytes() != data:
                target = inbound / _digest_name(name, hashlib.sha256(data).hexdigest())
            write_atomically(target, data)
            transport.archive(name)
            yield name


def _night(ctx: StepContext) -> list[tuple[str, Path]]:
    """The answer files in inbound/, (bank, path) in the order they are applied: every bank's statuses,
    then every bank's settlements, then every bank's statements, whatever the names (a bank's own files
    in that order, then by name). Across banks, not bank by bank: a statement is the slowest file to read
    and the quickest to apply, so with the statements last the step applies the other banks' answers
    while reader processes read them (the 1M worst Tuesday applied ICBC's 505k answers after BOC's
    statement, alone on one core, and waited for the statement's pages before)."""
    night: list[tuple[int, str, str, Path]] = []
    for code in sorted(ctx.banks):
        inbound = ctx.bank_folder("inbound", code)
        night += [(importers.apply_order(_head(p)), code, p.name, p) for p in inbound.iterdir() if p.is_file() and not p.name.startswith(".")]
    return [(code, path) for _, code, _, path in sorted(night)]


def _to_read(ctx: StepContext, night: list[tuple[str, Path]]) -> tuple[list[tuple[BankProfile, Path]], int]:
    """The night's files as the readers take them, and how many reader processes they get."""
    return ([(ctx.banks[code], path) for code, path in night],
            reading.readers_for([path for _, path in night], answer_readers(), reading.usable_cores()))


# files fetched by `read_answers_ahead` and the seconds it took, counted by the answers' step of that date
_fetched_ahead: dict[date, tuple[int, float]] = {}
_ahead: threading.Thread | None = None


def read_answers_ahead(d: date, ctx: StepContext) -> None:
    """At the start of D's night, its answers' step still to run (`cycle.begin_night`): the banks'
    answers fetched and, on a night whose files are worth reader processes, their reading begun,
    so that they are read while billing, delinquency, penalties and the debit orders keep the
    store's core busy. A thread fetches them (waiting on the banks and the disk, beside the steps)
    and then begins the readers. The step waits for it, fetches again (what arrived since) and
    takes the readings begun if its files are the same; each carries the digest of the bytes read,
    and a file changed since is read again. Fetching ahead that fails is left to the step's own fetch."""
    global _ahead
    stop_reading_ahead()

    def fetch_then_read() -> None:
        started = perf_counter()
        fetched = 0
        try:
            for _ in _fetch(ctx):
                fetched += 1
        except Exception:  # the step fetches again, and fails there with the transport's error
            log.warning("%s: fetching the banks' answers ahead stopped after %d files; the answers' step fetches them", d, fetched,
                        exc_info=True)
            return
        finally:
            before, seconds = _fetched_ahead.get(d, (0, 0.0))
            _fetched_ahead[d] = (before + fetched, seconds + perf_counter() - started)
        try:
            reading.begin(*_to_read(ctx, _night(ctx)))
        except Exception:  # the step reads its files itself
            log.warning("%s: the reading of the banks' answers could not begin ahead; the answers' step reads them", d, exc_info=True)

    _ahead = threading.Thread(target=fetch_then_read, name=f"answers-ahead-{d}", daemon=True)
    _ahead.start()


def _wait_for_ahead() -> None:
    global _ahead
    ahead, _ahead = _ahead, None
    if ahead is not None:
        ahead.join()


def stop_reading_ahead() -> None:
    """The fetching ahead finished and the readers it began, if not taken, stopped (a night that
    ended before its answers' step)."""
    _wait_for_ahead()
    reading.abandon()


def apply_bank_answers(conn: Connection, d: date, ctx: StepContext) -> dict[str, Any]:
    _wait_for_ahead()
    fetched_ahead, fetching_ahead_seconds = _fetched_ahead.pop(d, (0, 0.0))
    counts: dict[str, Any] = {"fetched": fetched_ahead + sum(1 for _ in _fetch(ctx)), "fetched_ahead": fetched_ahead,
                              "fetching_ahead_seconds": round(fetching_ahead_seconds, 3), "applied": [], "quarantined": {},
                              "archived_after_restart": [], "settled": 0, "rejected": 0, "returned": 0, "pending": 0, "settled_minor": 0,
                              "statement_lines": 0, "records_read": 0, "reading_seconds": 0.0, "payouts_paid": 0, "payouts_failed": 0,
                              "payouts_paid_minor": 0, "contracts_activated": 0}
    night = _night(ctx)
    # each file read (by reader processes, ahead of its applying, on a night worth it) and applied in turn
    files, readers = _to_read(ctx, night)
    for (code, path), answer in zip(night, reading.readings(files, readers), strict=True):
        _take_file(conn, d, ctx, code, path, answer, counts)
    counts["reading_seconds"] = round(counts["reading_seconds"], 3)
    counts["reader_processes"] = readers
    return counts


def _digest_name(name: str, digest: str) -> str:
    path = Path(name)
    return f"{path.stem}.{digest[:8]}{path.suffix}"


def _place(path: Path, area: Path, digest: str) -> Path:
    """Where `path` goes in `area` (archive/ or quarantine/): under its own name, unless another
    file holds that name, then with its digest in the name; nothing there is ever overwritten."""
    target = area / path.name
    if target.exists() and hashlib.sha256(target.read_bytes()).hexdigest() != digest:
        target = area / _digest_name(path.name, digest)
    return target


def _holds(area: Path, name: str, digest: str) -> bool:
    """`area` holds a file with these bytes under this name (or its digest name)."""
    for candidate in (area / name, area / _digest_name(name, digest)):
        if candidate.exists() and hashlib.sha256(candidate.read_bytes()).hexdigest() == digest:
            return True
    return False


def _move_after_commit(ctx: StepContext, path: Path, area: Path, digest: str, note: str | None = None) -> None:
    """Once the step commits: the reason note (for quarantine), then the file, by rename."""

    def move() -> None:
        target = _place(path, area, digest)
        if note is not None:
            write_atomically(target.with_name(f"{target.name}.reason.txt"), note.encode("utf-8"))
        os.replace(path, target)

    ctx.after_commit.append(move)


def _take_file(conn: Connection, d: date, ctx: StepContext, bank: str, path: Path, answer: reading.Reading,
               counts: dict[str, Any]) -> None:
    """Check and apply one answer file (`answer`: its reading), or quarantine it with the reason:
    whatever is wrong with one file (its bytes, its schema, its figures, its ids) stops only that file."""
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    archive = ctx.bank_folder("archive", bank)
    importer = importers.identify(data)
    kind, message_id, reason = importers.kind_of(importer), None, None
    known = conn.execute(select(BankFile.status, BankFile.file_name).where(BankFile.sha256 == digest, BankFile.status != "quarantined")).first()
    if known is not None:
        if (known.status, known.file_name) == ("applied", path.name) and not _holds(archive, path.name, digest):
            # applied and committed by a run that stopped before it moved the file: finish the move
            _move_after_commit(ctx, path, archive, digest)
            counts["archived_after_restart"].append(path.name)
            return
        reason = f"duplicate: a file with the same content (sha256 {digest[:12]}…) was already {known.status}"
    content = None
    if reason is None:
        if answer.sha256 != digest:  # changed since its reader read it: the bytes held here are read
            answer = reading.read_bytes(ctx.banks[bank], data)
        counts["reading_seconds"] += answer.seconds
        content, reason = answer.content, answer.reason
        if answer.failure is not None:
            log.warning("%s: %s\n%s", path.name, reason, answer.failure)
    if content is not None:
        message_id = content.message_id
        try:
            with conn.begin_nested():
                _check_message_is_new(conn, bank, kind, message_id)
                file_id = conn.execute(
                    insert(BankFile).values(bank_code=bank, direction="in", file_type=kind, file_name=path.name, sha256=digest,
                                            message_id=message_id, size_bytes=len(data), status="applied", business_date=d)
                    .returning(BankFile.bank_file_id)
                ).scalar_one()
                applied = _apply(conn, d, ctx, bank, kind, content, file_id)
            for key, value in applied.items():
                counts[key] += value
            counts["applied"].append(path.name)
            _move_after_commit(ctx, path, archive, digest)
            return
        except BankFileError as exc:
            reason = exc.reason
        except IntegrityError:
            reason = "duplicate: this message id (or a transaction in it) was already applied"
    conn.execute(insert(BankFile).values(bank_code=bank, direction="in", file_type=kind, file_name=path.name, sha256=digest,
                                         message_id=message_id, size_bytes=len(data), status="quarantined", reason=reason, business_date=d))
    counts["quarantined"][path.name] = reason
    note = f"{path.name}\nbank: {bank}\nbusiness date: {d}\nsha256: {digest}\nreason: {reason}\n"
    _move_after_commit(ctx, path, ctx.bank_folder("quarantine", bank), digest, note)


def _apply(conn: Connection, d: date, ctx: StepContext, bank: str, kind: str, content: Statement | StatusReport,
           file_id: int) -> dict[str, Any]:
    records_read = {"records_read": len(content.entries if isinstance(content, Statement) else content.transactions)}
    if isinstance(content, Statement):
        return {**records_read, "statement_lines": _store_statement(conn, bank, content, file_id)}
    return {**records_read, **_apply_report(conn, d, ctx, bank, content, file_id)}


def _check_message_is_new(conn: Connection, bank: str, kind: str, message_id: str) -> None:
    seen = conn.execute(
        select(BankFile.file_name).where(BankFile.bank_code == bank, BankFile.direction == "in", BankFile.file_type == kind,
                                         BankFile.message_id == message_id, BankFile.status == "applied")
    ).scalar()
    if seen:
        raise BankFileError(f"duplicate: message id {message_id} was already applied from {seen}")


def _apply_report(conn: Connection, d: date, ctx: StepContext, bank: str, report: StatusReport, file_id: int) -> dict[str, int]:
    paid_out = payouts.payout_batch(conn, bank, report.original_message_id) if report.kind == "pain.002" else None
    if paid_out is not None:
        return payouts.apply_report(conn, d, paid_out, report, file_id)
    if not report.transactions:
        raise BankFileError("no transactions in the file")
    batch = None
    if report.original_message_id is not None:
        batch = conn.execute(
            select(DebitBatch.debit_batch_id, DebitBatch.tx_count, DebitBatch.ctrl_sum_minor)
            .where(DebitBatch.message_id == report.original_message_id, DebitBatch.bank_code == bank)
        ).first()
        if batch is None:
            raise BankFileError(f"answers batch {report.original_message_id}, which {bank} was never sent")
        report.check_answers(report.original_message_id, batch.tx_count, batch.ctrl_sum_minor)
    e2e = [t.end_to_end_id for t in report.transactions]
    if len(set(e2e)) != len(e2e):  # a camt.054 or a domestic result names no batch
        raise BankFileError("the same end-to-end id appears twice in the file")
    # what moves nothing (pending, for information) is noted; every failure carries a known reason
    answers = [(t.end_to_end_id, t.status, failure_reason(t.reason, t.end_to_end_id) if t.status in FAILED else None, t.amount_minor,
                t.currency, None if t.value_date is None else t.value_date.isoformat())
               for t in report.transactions if t.status != "pending"]
    pending = len(report.transactions) - len(answers)
    if not answers:
        return {"rejected": 0, "settled": 0, "settled_minor": 0, "returned": 0, "pending": pending}
    # no key: the file's ids are each once (checked above) and every statement below reads the answers in a scan, but
    # the reason of a failed one, found by its id (an index of the failed only: a key cost every answer's insert a third more)
    conn.execute(text("CREATE TEMPORARY TABLE IF NOT EXISTS tmp_answer (e2e TEXT, status TEXT, reason TEXT, amount BIGINT, "
                      "currency TEXT, value_date DATE)"))
    conn.execute(text(f"CREATE INDEX IF NOT EXISTS ix_tmp_answer_failed ON tmp_answer (e2e) WHERE {FAILED_ANSWERS}"))
    conn.execute(text("DELETE FROM tmp_answer"))
    insert_rows(conn, TMP_ANSWER, ["e2e", "status", "reason", "amount", "currency", "value_date"], answers)
    implausible = (f"({days_between(conn, 'a.value_date', 'o.business_date')} < -:slack "
                   f"OR {days_between(conn, 'a.value_date', ':d')} > :slack)")
    problems = conn.execute(
        text(
            "SELECT "
            "SUM(CASE WHEN o.debit_order_id IS NULL THEN 1 ELSE 0 END), "
            # the bank of the file the order went out in (one batch row of a few hundred, where the order's mandate was a
            # search of a million for each answer)
            "SUM(CASE WHEN o.debit_order_id IS NOT NULL AND COALESCE(b.bank_code, '') <> :bank THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN CAST(:batch AS BIGINT) IS NOT NULL AND o.debit_batch_id <> CAST(:batch AS BIGINT) THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN a.amount IS NOT NULL AND a.amount <> o.amount_minor THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN a.status IN ('rejected', 'settled') AND o.status <> 'sent' THEN 1 "
            "         WHEN a.status = 'accepted' AND o.status NOT IN ('sent', 'settled') THEN 1 "
            "         WHEN a.status = 'returned' AND o.status <> 'settled' THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN a.currency IS NOT NULL AND a.currency <> o.currency THEN 1 ELSE 0 END), "
            f"SUM(CASE WHEN a.value_date IS NOT NULL AND {implausible} THEN 1 ELSE 0 END), "
            "MIN(CASE WHEN o.debit_order_id IS NULL THEN a.e2e END), "
            "MIN(CASE WHEN a.currency <> o.currency THEN a.e2e || ' in ' || a.currency || ', ordered in ' || o.currency END), "
            f"MIN(CASE WHEN {implausible} THEN a.e2e || ' value date ' || CAST(a.value_date AS TEXT) || ', collected ' "
            "|| CAST(o.business_date AS TEXT) END) "
            "FROM tmp_answer a LEFT JOIN debit_order o ON o.end_to_end_id = a.e2e LEFT JOIN debit_batch b ON b.debit_batch_id = o.debit_batch_id"
        ),
        {"bank": bank, "batch": None if batch is None else batch.debit_batch_id, "d": d, "slack": VALUE_DATE_SLACK_DAYS},
    ).one()
    unknown, other_bank, other_batch, amount, state, currency, value_date, example, currency_example, value_example = problems
    if unknown:
        raise BankFileError(f"{unknown} unknown end-to-end ids (e.g. {example})")
    if other_bank or other_batch:
        raise BankFileError(f"{(other_bank or 0) + (other_batch or 0)} transactions belong to another bank or batch")
    if amount:
        raise BankFileError(f"{amount} transactions with an amount different from the debit order")
    if currency:
        raise BankFileError(f"{currency} transactions in a currency other than the debit order's (e.g. {currency_example})")
    if value_date:
        raise BankFileError(f"{value_date} transactions with a value date more than {VALUE_DATE_SLACK_DAYS} days before the collection "
                            f"date or after the business date {d} (e.g. {value_example})")
    if state:
        raise BankFileError(f"{state} transactions answered in a state that does not follow (already answered?)")

    invalidating = _sql_codes(code for code, r in REASONS.items() if r.invalidates_mandate)
    params = {"d": d, "now": datetime.now(UTC), "batch_key": f"returns:{d.isoformat()}"}
    rejected = conn.execute(
        text(f"UPDATE debit_order SET status = 'rejected', reason_code = {REASON_OF_ORDER}, "
             "answered_at = :now WHERE end_to_end_id IN (SELECT e2e FROM tmp_answer WHERE status = 'rejected')"),
        params,
    ).rowcount
    conn.execute(text(f"CREATE TEMPORARY TABLE IF NOT EXISTS tmp_invalid (mandate_id {integer_key(conn)}, reason TEXT)"))
    conn.execute(text("DELETE FROM tmp_invalid"))
    conn.execute(
        text(f"INSERT INTO tmp_invalid (mandate_id, reason) SELECT o.mandate_id, MAX(a.reason) FROM tmp_answer a "
             f"JOIN debit_order o ON o.end_to_end_id = a.e2e WHERE a.status IN ('rejected', 'returned') AND a.reason IN ({invalidating}) "
             "GROUP BY o.mandate_id")
    )
    conn.execute(
        text("UPDATE mandate SET status = 'invalid', status_reason = (SELECT t.reason FROM tmp_invalid t WHERE t.mandate_id = mandate.mandate_id) "
             "WHERE mandate_id IN (SELECT mandate_id FROM tmp_invalid)")
    )
    settled = conn.execute(
        text("UPDATE debit_order SET status = 'settled', answered_at = :now WHERE end_to_end_id IN (SELECT e2e FROM tmp_answer WHERE status = 'settled')"),
        params,
    ).rowcount
    conn.execute(
        text("INSERT INTO receipt (contract_id, source, source_ref, amount_minor, currency, value_date, business_date, status) "
             "SELECT o.contract_id, 'debit', o.end_to_end_id, o.amount_minor, o.currency, COALESCE(a.value_date, :d), :d, 'unapplied' FROM debit_order o "
             "JOIN tmp_answer a ON a.e2e = o.end_to_end_id WHERE a.status = 'settled'"),
        params,
    )
    settled_minor = conn.execute(text("SELECT COALESCE(SUM(amount), 0) FROM tmp_answer WHERE status = 'settled'")).scalar_one()
    returned = _reverse_returns(conn, d, ctx, params)
    return {"rejected": rejected, "settled": settled, "settled_minor": int(settled_minor), "returned": returned, "pending": pending}


def _reverse_returns(conn: Connection, d: date, ctx: StepContext, params: dict[str, Any]) -> int:
    """Returned debits: the order records its reason; its receipt is reversed by the one rule of reversal.py."""
    returned = conn.execute(
        text(f"UPDATE debit_order SET status = 'returned', reason_code = {REASON_OF_ORDER}, "
             "answered_at = :now WHERE end_to_end_id IN (SELECT e2e FROM tmp_answer WHERE status = 'returned')"),
        params,
    ).rowcount
    if not returned:
        return 0
    reverse_receipts(conn, d, "SELECT receipt_id FROM receipt WHERE source = 'debit' AND source_ref IN "
                     "(SELECT e2e FROM tmp_answer WHERE status = 'returned')", params["batch_key"], ctx.templates)
    return returned


def _store_statement(conn: Connection, bank: str, statement: Statement, file_id: int) -> int:
    if not statement.entries:
        return 0
    return insert_rows(
        conn, BankStatementLine.__table__,
        ["bank_file_id", "bank_code", "booking_date", "amount_minor", "currency", "is_credit", "reference", "status"],
        [(file_id, bank, e.booking_date.isoformat(), e.amount_minor, e.currency, e.is_credit, e.reference, "break") for e in statement.entries],
    )
