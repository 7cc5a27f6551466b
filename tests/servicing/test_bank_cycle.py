"""The cycle with the banks: files out, answers in, the bad ones quarantined, the books green."""

import hashlib
from dataclasses import replace
from datetime import date, datetime, timedelta
from functools import partial

import pytest
from sqlalchemy import text

from autofin.bankfiles import camt, cn_text, pain002, pain008
from autofin.bankfiles.records import TransactionStatus
from autofin.bankfiles.simulator import simulate
from autofin.bankfiles.transport import transport_for
from autofin.reference import bank_profiles, calendar, voucher_templates
from autofin.servicing.checks import debits_accounted_for, full_book_checks, nightly_checks
from autofin.servicing.context import StepContext
from autofin.servicing.cycle import STEP_ORDER, run_day, run_step
from autofin.store.engine import as_date, write_transaction
from autofin.store.ledger import event_share
from tests.servicing.conftest import AS_OF, seed

D1 = date(2026, 11, 23)  # a Monday, bank business day


def context(tmp_path, banks=None):
    banks = banks or bank_profiles()
    root = tmp_path / "bank_files"
    return StepContext(calendar=calendar(), templates=voucher_templates(), banks=banks, bank_root=root,
                       transport_for=partial(transport_for, bank_root=root), export_dir=tmp_path / "exports")


def q(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).all()


def run_days(engine, ctx, first, last, answer=True):
    d = first
    while d <= last:
        run_day(engine, d, ctx)
        if answer:
            for code, profile in ctx.banks.items():
                simulate(profile, ctx.bank_root / "remote" / code, d, seed=3)
        d += timedelta(days=1)


def test_days_with_the_banks_stay_green(store, tmp_path):
    seed(store, contracts=800)
    ctx = context(tmp_path)
    run_days(store, ctx, AS_OF + timedelta(days=1), D1 + timedelta(days=2))
    with store.connect() as conn:
        assert {k: v for k, v in nightly_checks(conn, D1 + timedelta(days=2)).items() if v} == {}
    orders = dict(q(store, "SELECT status, COUNT(*) FROM debit_order GROUP BY status"))
    assert orders["settled"] > 0 and orders["rejected"] > 0
    # every debit answered once: settled ones have exactly one receipt, applied
    assert q(store, "SELECT COUNT(*) FROM debit_order o WHERE o.status = 'settled' AND "
                    "(SELECT COUNT(*) FROM receipt r WHERE r.source_ref = o.end_to_end_id) <> 1")[0][0] == 0
    assert q(store, "SELECT COUNT(*) FROM receipt WHERE status = 'unapplied' AND business_date < :d", d=D1 + timedelta(days=2))[0][0] == 0
    # statements reconcile
    assert q(store, "SELECT COUNT(*) FROM bank_statement_line WHERE status = 'matched'")[0][0] > 0
    assert q(store, "SELECT COUNT(*) FROM reconciliation_break")[0][0] == 0
    # the voucher export of each day is on disk
    assert sorted(p.name for p in (tmp_path / "exports" / "ledger").iterdir())[0] == f"vouchers-{AS_OF + timedelta(days=1)}.csv"


def test_the_close_holds_every_file_in_flight_or_with_a_pending_debit_to_its_count_and_the_full_check_every_file(store, tmp_path):
    """Debits sent = debits answered + in flight. The close looks at D's files, the files with a debit
    still in flight and any uploaded file with a debit pending; the full-book check at every file."""
    seed(store, contracts=800)
    ctx = context(tmp_path)
    run_days(store, ctx, AS_OF + timedelta(days=1), D1)  # the Monday's debits out and answered
    d2, d3 = D1 + timedelta(days=1), D1 + timedelta(days=2)
    run_days(store, ctx, d2, d3, answer=False)  # Tuesday applies them; Wednesday's debits stay in flight

    def accounted(d):
        with store.connect() as conn:
            return debits_accounted_for(conn, d), full_book_checks(conn, d)["debits_accounted_for"]  # the close's scope; every file

    def first_order(business_date, status):
        return q(store, "SELECT o.debit_order_id, b.message_id, b.tx_count FROM debit_order o JOIN debit_batch b ON b.debit_batch_id = o.debit_batch_id "
                        "WHERE b.business_date = :d AND o.status = :s ORDER BY o.debit_order_id LIMIT 1", d=business_date, s=status)[0]

    def set_status(order_id, status):
        with write_transaction(store) as conn:
            conn.execute(text("UPDATE debit_order SET status = :s WHERE debit_order_id = :o"), {"s": status, "o": order_id})

    assert accounted(d3) == ([], [])
    # a debit of Monday's answered file back to pending: no longer in flight, not of D, yet the close sees it
    answered, monday_file, monday_count = first_order(D1, "settled")
    set_status(answered, "pending")
    named = [f"file {monday_file}: {monday_count} debits sent, {monday_count} on record, {monday_count - 1} answered or in flight"]
    assert accounted(d3) == (named, named)
    set_status(answered, "settled")
    # a debit of Wednesday's file (in flight) in a state no answer gives
    in_flight, wednesday_file, wednesday_count = first_order(d3, "sent")
    set_status(in_flight, "lost")
    named = [f"file {wednesday_file}: {wednesday_count} debits sent, {wednesday_count} on record, {wednesday_count - 1} answered or in flight"]
    assert accounted(d3) == (named, named)
    set_status(in_flight, "sent")
    # Monday's answered file short of a debit: only the full-book check counts every file again
    with write_transaction(store) as conn:
        conn.execute(text("UPDATE debit_order SET debit_batch_id = NULL, status = 'pending' WHERE debit_order_id = :o"), {"o": answered})
    assert accounted(d3) == ([], [f"file {monday_file}: {monday_count} debits sent, {monday_count - 1} on record, {monday_count - 1} answered or in flight"])


def test_a_weekend_sends_no_debits(sqlite_store, tmp_path):
    seed(sqlite_store, contracts=300)
    ctx = context(tmp_path)
    results = run_day(sqlite_store, date(2026, 11, 21), ctx)  # Saturday
    assert next(r for r in results if r.step == "debit_orders").counts == {"skipped": "not a bank business day"}


def test_files_split_at_the_profile_maximum(sqlite_store, tmp_path):
    seed(sqlite_store, contracts=1200)
    banks = {code: replace(p, max_transactions_per_file=40) for code, p in bank_profiles().items()}
    ctx = context(tmp_path, banks)
    run_days(sqlite_store, ctx, AS_OF + timedelta(days=1), D1, answer=False)
    per_bank = dict(q(sqlite_store, "SELECT m.bank_code, COUNT(*) FROM debit_order o JOIN mandate m ON m.mandate_id = o.mandate_id GROUP BY m.bank_code"))
    batches = q(sqlite_store, "SELECT bank_code, tx_count, ctrl_sum_minor, message_id, "
                              "(SELECT SUM(amount_minor) FROM debit_order o WHERE o.debit_batch_id = b.debit_batch_id) FROM debit_batch b")
    for code, count in per_bank.items():
        mine = [b for b in batches if b[0] == code]
        assert len(mine) == -(-count // 40)
        assert all(b[1] <= 40 and b[2] == b[4] for b in mine)
    assert len({b[3] for b in batches}) == len(batches)
    assert q(sqlite_store, "SELECT COUNT(*) FROM debit_order WHERE status <> 'sent'")[0][0] == 0


def _up_to_the_debit_orders(store, tmp_path, contracts: int) -> StepContext:
    """A book run up to D1's debit orders (banks taking 40 orders a file), that step not yet run."""
    seed(store, contracts=contracts)
    ctx = context(tmp_path, {code: replace(p, max_transactions_per_file=40) for code, p in bank_profiles().items()})
    run_days(store, ctx, AS_OF + timedelta(days=1), D1 - timedelta(days=1), answer=False)
    for step in ("business_day", "billing", "delinquency", "penalties"):
        run_step(store, step, D1, ctx)
    return ctx


def test_every_file_holds_its_batch_orders_and_a_failed_rendering_leaves_nothing(sqlite_store, tmp_path, monkeypatch):
    """The files are rendered by a thread while the orders are inserted: a rendering that fails
    stops the step whole (no order, batch or file registered), and the re-run writes files that hold
    exactly their batch's orders, in order, with the same bytes on every run."""
    ctx = _up_to_the_debit_orders(sqlite_store, tmp_path, contracts=1200)
    rendered = []

    def failing_on_the_third(batch, version="pain.008.001.08"):
        rendered.append(batch.message_id)
        if len(rendered) == 3:
            raise RuntimeError("disk full")
        return real_render(batch, version)

    real_render = pain008.render
    monkeypatch.setattr(pain008, "render", failing_on_the_third)
    with pytest.raises(RuntimeError, match="disk full"):
        run_step(sqlite_store, "debit_orders", D1, ctx)
    assert q(sqlite_store, "SELECT (SELECT COUNT(*) FROM debit_order), (SELECT COUNT(*) FROM debit_batch), (SELECT COUNT(*) FROM bank_file)") == [
        (0, 0, 0)]
    # the files written before the failure stay unregistered (never sent); the re-run writes them again, byte for byte
    first = ctx.bank_root / "outbound" / "BOC" / f"{rendered[0]}.xml"
    before = first.read_bytes()
    monkeypatch.setattr(pain008, "render", real_render)
    result = run_step(sqlite_store, "debit_orders", D1, ctx)
    assert first.read_bytes() == before
    assert result.counts["orders"] == q(sqlite_store, "SELECT COUNT(*) FROM debit_order")[0][0] > 40
    files = q(sqlite_store, "SELECT b.bank_code, b.file_name, b.debit_batch_id, f.sha256 FROM debit_batch b "
                            "JOIN bank_file f ON f.message_id = b.message_id ORDER BY b.debit_batch_id")
    assert len(files) == len(result.counts["files"]) > 2
    for bank, name, batch_id, digest in files:
        data = (ctx.bank_root / "outbound" / bank / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest
        parsed = pain008.parse(data) if name.endswith(".xml") else cn_text.parse_debit(data, ctx.banks[bank].creditor)
        assert [(tx.end_to_end_id, tx.amount_minor) for tx in parsed.instructions] == [
            tuple(r) for r in q(sqlite_store, "SELECT end_to_end_id, amount_minor FROM debit_order WHERE debit_batch_id = :b "
                                              "ORDER BY debit_order_id", b=batch_id)]


@pytest.mark.parametrize("broken", ["a mandate not there", "a gap in the numbering"])
def test_orders_whose_lines_do_not_hold_are_refused_whole(store, tmp_path, monkeypatch, broken):
    """The step holds its orders' references itself (on SQLite it runs without SQLite's per-row
    check of them): every numbered order must be read back with its mandate and contract, in files
    full but for the last, or nothing is written and the step is not done."""
    from autofin.servicing import banking

    ctx = _up_to_the_debit_orders(store, tmp_path, contracts=300)
    number = banking._number_orders

    def numbered_wrong(conn):
        number(conn)
        if broken == "a mandate not there":
            conn.execute(text("INSERT INTO tmp_numbered (seq, contract_id, mandate_id, owed, currency, attempt) "
                              "SELECT MAX(seq) + 1, MIN(contract_id), 999999999, 100, 'CNY', 1 FROM tmp_numbered"))
        else:
            conn.execute(text("UPDATE tmp_numbered SET seq = seq + 1000 WHERE seq > 10"))
    monkeypatch.setattr(banking, "_number_orders", numbered_wrong)
    with pytest.raises(RuntimeError, match="found with their mandate and contract" if broken == "a mandate not there" else "not numbered one after another"):
        run_step(store, "debit_orders", D1, ctx)
    assert q(store, "SELECT (SELECT COUNT(*) FROM debit_order), (SELECT COUNT(*) FROM debit_batch), (SELECT COUNT(*) FROM bank_file), "
                    "(SELECT COUNT(*) FROM step_run WHERE step = 'debit_orders' AND business_date = :d)", d=D1) == [(0, 0, 0, 0)]
    monkeypatch.setattr(banking, "_number_orders", number)
    assert run_step(store, "debit_orders", D1, ctx).counts["orders"] == q(store, "SELECT COUNT(*) FROM debit_order")[0][0] > 40


def test_a_contract_whose_debit_awaits_its_answer_is_not_debited_again(sqlite_store, tmp_path):
    """The banks do not answer Monday's debits: Tuesday debits only the contracts with none in flight,
    whether the one in flight was sent or is still waiting to be (its upload failed)."""
    seed(sqlite_store, contracts=1200)
    ctx = context(tmp_path)
    run_days(sqlite_store, ctx, AS_OF + timedelta(days=1), D1, answer=False)
    monday = q(sqlite_store, "SELECT COUNT(*), COUNT(DISTINCT contract_id) FROM debit_order WHERE status = 'sent'")[0]
    assert monday[0] == monday[1] > 100
    # one of Monday's orders never left (as if its file had not been uploaded)
    with sqlite_store.begin() as conn:
        conn.execute(text("UPDATE debit_order SET status = 'pending' WHERE debit_order_id = (SELECT MIN(debit_order_id) FROM debit_order)"))
    run_day(sqlite_store, D1 + timedelta(days=1), ctx)
    assert q(sqlite_store, "SELECT COUNT(*) FROM debit_order o WHERE o.business_date = :d AND EXISTS (SELECT 1 FROM debit_order p "
                           "WHERE p.contract_id = o.contract_id AND p.business_date = :m)", d=D1 + timedelta(days=1), m=D1) == [(0,)]
    assert q(sqlite_store, "SELECT COUNT(*) FROM debit_order WHERE business_date = :d", d=D1 + timedelta(days=1))[0][0] > 0


def _first_boc_answers(engine, ctx, tmp_path):
    """Run to D1 (debits out), let the bank answer, return the bank's answer files."""
    run_days(engine, ctx, AS_OF + timedelta(days=1), D1, answer=False)
    simulate(ctx.banks["BOC"], ctx.bank_root / "remote" / "BOC", D1, seed=3)
    return ctx.bank_root / "remote" / "BOC" / "download"


def test_bad_files_are_quarantined_while_a_good_one_applies(sqlite_store, tmp_path):
    seed(sqlite_store, contracts=800)
    ctx = context(tmp_path, {"BOC": bank_profiles()["BOC"]})
    outbox = _first_boc_answers(sqlite_store, ctx, tmp_path)
    good = outbox / "AFBOC20261123001.pain002.xml"
    data = good.read_bytes()
    (outbox / "A-bad-ctrlsum.pain002.xml").write_bytes(
        data.replace(b"<MsgId>STS", b"<MsgId>XTS").replace(b"<OrgnlCtrlSum>", b"<OrgnlCtrlSum>1", 1))
    (outbox / "B-unknown-e2e.pain002.xml").write_bytes(
        data.replace(b"<MsgId>STS", b"<MsgId>YTS").replace(b"<OrgnlEndToEndId>AF", b"<OrgnlEndToEndId>ZZ", 1))
    (outbox / "C-not-xml.pain002.xml").write_bytes(b"\x00\x01 this is not a bank file")
    (outbox / "D-duplicate.pain002.xml").write_bytes(data)  # the same bytes again
    run_day(sqlite_store, D1 + timedelta(days=1), ctx)
    files = {r[0]: (r[1], r[2]) for r in q(sqlite_store, "SELECT file_name, status, reason FROM bank_file WHERE direction = 'in'")}
    assert files["AFBOC20261123001.pain002.xml"][0] == "applied"
    assert files["AFBOC20261123001.camt054.xml"][0] == "applied"
    assert files["A-bad-ctrlsum.pain002.xml"] == ("quarantined", files["A-bad-ctrlsum.pain002.xml"][1])
    assert "control sum" in files["A-bad-ctrlsum.pain002.xml"][1]
    assert "unknown end-to-end" in files["B-unknown-e2e.pain002.xml"][1]
    assert files["C-not-xml.pain002.xml"][0] == "quarantined" and "ISO 20022" in files["C-not-xml.pain002.xml"][1]
    assert files["D-duplicate.pain002.xml"][0] == "quarantined" and "duplicate" in files["D-duplicate.pain002.xml"][1]
    quarantine = ctx.bank_root / "quarantine" / "BOC"
    for name in ("A-bad-ctrlsum.pain002.xml", "B-unknown-e2e.pain002.xml", "C-not-xml.pain002.xml", "D-duplicate.pain002.xml"):
        assert (quarantine / name).exists() and "reason:" in (quarantine / f"{name}.reason.txt").read_text()
    assert (ctx.bank_root / "archive" / "BOC" / "AFBOC20261123001.pain002.xml").exists()
    assert not list((ctx.bank_root / "inbound" / "BOC").iterdir())
    # the good answers applied once: no order answered twice, rejected ones have reasons
    assert q(sqlite_store, "SELECT COUNT(*) FROM debit_order WHERE status = 'rejected' AND reason_code IS NULL")[0][0] == 0
    assert q(sqlite_store, "SELECT COUNT(*) FROM debit_order WHERE status = 'settled'")[0][0] > 0


def test_closed_accounts_stop_the_mandate_and_insufficient_funds_are_represented(sqlite_store, tmp_path):
    seed(sqlite_store, contracts=1500)
    ctx = context(tmp_path, {"BOC": bank_profiles()["BOC"]})
    outbox = _first_boc_answers(sqlite_store, ctx, tmp_path)
    report = pain002.parse((outbox / "AFBOC20261123001.pain002.xml").read_bytes())
    reasons = {t.end_to_end_id: t.reason for t in report.transactions if t.status == "rejected"}
    assert {"AM04"} <= set(reasons.values())
    run_day(sqlite_store, D1 + timedelta(days=1), ctx)
    for e2e, reason in reasons.items():
        status, mandate_status = q(sqlite_store, "SELECT o.status, m.status FROM debit_order o JOIN mandate m ON m.mandate_id = o.mandate_id "
                                                  "WHERE o.end_to_end_id = :e", e=e2e)[0]
        assert status == "rejected"
        assert mandate_status == ("invalid" if reason in ("AC04", "MD01", "AC01") else "active")
    am04 = [e for e, r in reasons.items() if r == "AM04"]
    contract = q(sqlite_store, "SELECT contract_id FROM debit_order WHERE end_to_end_id = :e", e=am04[0])[0][0]
    # BOC re-presents AM04 three days later, as attempt 2
    for n in (1, 2, 3):
        run_day(sqlite_store, D1 + timedelta(days=1 + n), ctx)
        simulate(ctx.banks["BOC"], ctx.bank_root / "remote" / "BOC", D1 + timedelta(days=1 + n), seed=99)
    orders = q(sqlite_store, "SELECT business_date, attempt FROM debit_order WHERE contract_id = :c ORDER BY debit_order_id", c=contract)
    assert [(str(d), a) for d, a in orders][:2] == [("2026-11-23", 1), ("2026-11-26", 2)]


def test_a_debit_out_of_attempts_waits_for_the_next_bill(store, tmp_path, monkeypatch):
    """The representment rule: a debit failed for a reason the bank re-presents is tried again after
    the bank's days, as the next attempt, up to its attempts; then not again until something new is
    billed, when the count starts over. "Billed since" is the contract's kept last bill, which billing
    writes and the full-book check holds to the instalments."""
    monkeypatch.setenv("AUTOFIN_SIMULATED_TODAY", "2027-01-01")  # the nights up to the next bill may lie ahead of the clock
    seed(store, contracts=800)
    ctx = context(tmp_path, {"BOC": bank_profiles()["BOC"]})
    profile = ctx.banks["BOC"]
    _first_boc_answers(store, ctx, tmp_path)
    run_day(store, D1 + timedelta(days=1), ctx)  # the answers applied
    # the AM04 failures of D1 whose contract has nothing more falling due for a week, and the soonest to fall due after that
    failed = q(store, "SELECT o.contract_id, MIN(i.due_date) FROM debit_order o JOIN instalment i ON i.contract_id = o.contract_id "
                      "AND i.status = 'scheduled' WHERE o.status = 'rejected' AND o.reason_code = 'AM04' GROUP BY o.contract_id "
                      "HAVING MIN(i.due_date) > :quiet ORDER BY 2, 1", quiet=D1 + timedelta(days=profile.representment_after_days + 1))
    (out_of_attempts, next_due), (retried, _) = failed[0], failed[1]
    next_due = date.fromisoformat(str(next_due)[:10])

    def last_bill(contract):
        return as_date(q(store, "SELECT billed_date FROM contract_last_bill WHERE contract_id = :c", c=contract)[0][0])

    assert last_bill(out_of_attempts) <= D1
    with write_transaction(store) as conn:  # its debit of D1 was the bank's last attempt
        conn.execute(text("UPDATE debit_order SET attempt = :n WHERE contract_id = :c AND business_date = :d"),
                     {"n": profile.max_attempts, "c": out_of_attempts, "d": D1})
    run_days(store, ctx, D1 + timedelta(days=2), next_due, answer=False)

    def orders(contract):
        return [(str(d)[:10], a) for d, a in q(store, "SELECT business_date, attempt FROM debit_order WHERE contract_id = :c "
                                                      "ORDER BY debit_order_id", c=contract)]

    # after the bank's days, the next attempt; out of attempts, nothing until the next bill, then attempt 1
    assert orders(retried) == [(str(D1), 1), (str(D1 + timedelta(days=profile.representment_after_days)), 2)]
    assert orders(out_of_attempts) == [(str(D1), profile.max_attempts), (str(next_due), 1)]
    assert last_bill(out_of_attempts) == next_due
    with store.connect() as conn:
        assert full_book_checks(conn, next_due)["last_bills_match_instalments"] == []
    number = q(store, "SELECT contract_no FROM contract WHERE contract_id = :c", c=out_of_attempts)[0][0]
    with write_transaction(store) as conn:  # a kept last bill edited by hand shows in the full check
        conn.execute(text("UPDATE contract_last_bill SET billed_date = :d WHERE contract_id = :c"), {"d": D1, "c": out_of_attempts})
    with store.connect() as conn:
        assert full_book_checks(conn, next_due)["last_bills_match_instalments"] == [
            f"1 contracts whose kept last bill date is not the latest billed date of their instalments (e.g. {number})"]


def test_a_return_after_settlement_reverses_the_receipt(store, tmp_path):
    seed(store, contracts=800)
    ctx = context(tmp_path, {"BOC": bank_profiles()["BOC"]})
    _first_boc_answers(store, ctx, tmp_path)
    d2 = D1 + timedelta(days=1)
    run_day(store, d2, ctx)  # settles and applies
    e2e, contract, amount = q(store, "SELECT o.end_to_end_id, o.contract_id, o.amount_minor FROM debit_order o WHERE o.status = 'settled' "
                                            "ORDER BY o.debit_order_id LIMIT 1")[0]
    paid_before = q(store, "SELECT SUM(paid_principal_minor + paid_interest_minor + paid_fee_minor + paid_penalty_minor) FROM instalment "
                                  "WHERE contract_id = :c", c=contract)[0][0]
    outbox = ctx.bank_root / "remote" / "BOC" / "download"
    (outbox / "RETURN.camt054.xml").write_bytes(camt.render_camt054(
        message_id="RTN20261125", created_at=datetime(2026, 11, 25, 6), account="31001234567890123456",
        booking=date(2026, 11, 25), transactions=[TransactionStatus(e2e, "returned", "MD06", amount)]))
    from tests.servicing.test_nightly_reads import book_scans_of, statements_kept

    with statements_kept(store) as seen:
        run_day(store, d2 + timedelta(days=1), ctx)
    if store.dialect.name == "sqlite":
        assert book_scans_of(store, seen) == {}  # the reversal reads the returned receipts' allocations, not all of them
    assert q(store, "SELECT status, reason_code FROM debit_order WHERE end_to_end_id = :e", e=e2e)[0] == ("returned", "MD06")
    assert q(store, "SELECT status FROM receipt WHERE source_ref = :e", e=e2e)[0][0] == "reversed"
    paid_after = q(store, "SELECT SUM(paid_principal_minor + paid_interest_minor + paid_fee_minor + paid_penalty_minor) FROM instalment "
                                 "WHERE contract_id = :c", c=contract)[0][0]
    credit = q(store, "SELECT credit_minor FROM money_event WHERE event_key LIKE 'reversal:%'")[0][0]
    assert paid_before - paid_after == amount - credit
    assert q(store, "SELECT principal_minor + interest_minor + fee_minor + penalty_minor + credit_minor FROM money_event "
                           "WHERE event_type = 'reversal'")[0][0] == amount
    # the one rule of reversal (servicing/reversal.py), as for a reversal asked for by hand: the
    # allocations stay and their negatives dated today take them back; the voucher mirrors the receipt's
    receipt = q(store, "SELECT receipt_id FROM receipt WHERE source_ref = :e", e=e2e)[0][0]
    by_day = q(store, "SELECT business_date, SUM(amount_minor), COUNT(*) FROM allocation WHERE receipt_id = :r "
                             "GROUP BY business_date ORDER BY 1", r=receipt)
    assert [(str(d)[:10], total) for d, total, _ in by_day] == [(str(d2), amount), (str(d2 + timedelta(days=1)), -amount)]
    assert by_day[0][2] == by_day[1][2]
    # (the receipt is carried by the night's summary voucher; its share of it is its template over its amounts)
    reversal = q(store, "SELECT l.account_code, l.debit_minor, l.credit_minor FROM journal_line l JOIN journal_entry e "
                               "ON e.journal_entry_id = l.journal_entry_id JOIN money_event m ON m.money_event_id = e.money_event_id "
                               "WHERE m.event_key = :k ORDER BY 1", k=f"reversal:{receipt}")
    with store.connect() as conn:
        event = conn.execute(text("SELECT * FROM money_event WHERE event_key = :k"), {"k": f"receipt:{receipt}"}).one()
    assert reversal == sorted((line.account, line.credit_minor, line.debit_minor) for line in event_share(event, voucher_templates()))
    with store.connect() as conn:
        assert {k: v for k, v in nightly_checks(conn, d2 + timedelta(days=1)).items() if v} == {}


def test_a_debit_collected_on_the_due_date_pays_on_time(store, tmp_path):
    """The banks answer the morning after: the night that reads the answer must not age or charge
    the instalment the debit paid on its due date, even with no grace days (SLB-FLAT). A debit
    that fails is charged from the due date all the same: the next night accrues both days."""
    seed(store, contracts=4000)
    ctx = context(tmp_path)
    run_days(store, ctx, AS_OF + timedelta(days=1), D1)  # the Monday's debits answered by the banks
    tuesday, wednesday = D1 + timedelta(days=1), D1 + timedelta(days=2)
    on_time = ("SELECT i.instalment_id, o.status, COALESCE(p.penalty_minor, 0), p.through_date, i.principal_minor, c.penalty_rate_ppm, "
               "i.contract_id FROM instalment i LEFT JOIN instalment_penalty p ON p.instalment_id = i.instalment_id "
               "JOIN contract c ON c.contract_id = i.contract_id "
               "JOIN debit_order o ON o.contract_id = i.contract_id AND o.business_date = i.due_date "
               "WHERE i.due_date = :d AND c.grace_days = 0 AND c.penalty_basis = 'overdue_principal' "
               "AND NOT EXISTS (SELECT 1 FROM instalment e WHERE e.contract_id = i.contract_id AND e.due_date < i.due_date AND e.status = 'billed')")
    run_day(store, tuesday, ctx)
    rows = q(store, on_time, d=D1)
    settled = [r for r in rows if r[1] == "settled"]
    assert len(settled) >= 5
    assert [r[2] for r in settled] == [0] * len(settled)  # no day of penalty on an instalment paid on its due date
    cased = q(store, "SELECT COUNT(*) FROM collection_case WHERE opened_date = :d AND contract_id IN "
                     "(SELECT contract_id FROM debit_order WHERE business_date = :m AND status = 'settled')", d=tuesday, m=D1)
    assert cased == [(0,)]
    for code, profile in ctx.banks.items():
        simulate(profile, ctx.bank_root / "remote" / code, tuesday, seed=3)
    run_day(store, wednesday, ctx)
    failed = [r for r in q(store, on_time, d=D1) if r[1] == "rejected"]
    assert failed
    for _, _, penalty, through, principal, rate, _ in failed:
        assert str(through)[:10] == wednesday.isoformat()
        assert penalty == (2 * principal * rate * 2 + 1_000_000) // 2_000_000  # two days from the due date, rounded once


def test_a_collected_debit_the_statement_does_not_show_is_a_break_two_nights_after_its_value_date(store, tmp_path):
    """A debit the bank answered as collected that its statement does not show is a break
    (missing_from_statement) on the night its value date is two days past, not before, and once; one
    recorded late, its value date already that far past, is a break the night it is recorded."""
    seed(store, contracts=800)
    ctx = context(tmp_path)
    run_days(store, ctx, AS_OF + timedelta(days=1), D1)  # the Monday's debits out, the banks answer
    tuesday, wednesday, thursday = (D1 + timedelta(days=n) for n in (1, 2, 3))
    statement_banks = ", ".join(f"'{code}'" for code, p in ctx.banks.items() if p.is_iso)
    recorded = ("SELECT r.receipt_id, r.source_ref, r.amount_minor, m.bank_code, r.value_date FROM receipt r "
                "JOIN debit_order o ON o.end_to_end_id = r.source_ref JOIN mandate m ON m.mandate_id = o.mandate_id "
                f"WHERE r.source = 'debit' AND m.bank_code IN ({statement_banks}) AND r.business_date = :d ORDER BY r.receipt_id")
    missing = "SELECT reference, bank_code, bank_minor, book_minor, business_date FROM reconciliation_break WHERE kind = 'missing_from_statement'"

    def night(d, before_reconciliation=lambda: None):
        for name in STEP_ORDER:
            if name == "reconciliation":
                before_reconciliation()
            run_step(store, name, d, ctx)
        for code, profile in ctx.banks.items():
            simulate(profile, ctx.bank_root / "remote" / code, d, seed=3)

    def take_line_away(reference):
        with write_transaction(store) as conn:
            assert conn.execute(text("DELETE FROM bank_statement_line WHERE reference = :r"), {"r": reference}).rowcount == 1

    gone = []

    def leave_one_out():  # a debit answered as collected that the statement does not show
        gone.extend(q(store, recorded, d=tuesday)[:1])
        take_line_away(gone[0][1])

    night(tuesday, leave_one_out)
    assert as_date(gone[0][4]) == D1
    assert q(store, missing) == []  # its value date is yesterday: the statement may still come
    late = []

    def record_late():  # a debit answered today whose value date is a week back, not on any statement
        late.extend(q(store, recorded, d=wednesday)[:1])
        with write_transaction(store) as conn:
            conn.execute(text("UPDATE receipt SET value_date = :v WHERE receipt_id = :r"), {"v": D1 - timedelta(days=7), "r": late[0][0]})
        take_line_away(late[0][1])

    night(wednesday, record_late)
    breaks = sorted((ref, bank, bank_minor, book_minor, str(day)[:10]) for ref, bank, bank_minor, book_minor, day in q(store, missing))
    assert breaks == sorted([(gone[0][1], gone[0][3], 0, gone[0][2], wednesday.isoformat()),
                             (late[0][1], late[0][3], 0, late[0][2], wednesday.isoformat())])
    night(thursday)
    assert len(q(store, missing)) == 2  # once each
    with store.connect() as conn:
        assert {k: v for k, v in full_book_checks(conn, thursday).items() if v} == {}
    # a break taken away by hand: the night does not look at that debit again, the full-book check does
    with write_transaction(store) as conn:
        conn.execute(text("DELETE FROM reconciliation_break WHERE reference = :r"), {"r": gone[0][1]})
    with store.connect() as conn:
        assert full_book_checks(conn, thursday)["statement_gaps_are_breaks"] == [
            f"1 collected debits the statement does not show and no break names (e.g. {gone[0][1]})"]


def test_a_statement_too_large_for_one_file_comes_in_pages_and_every_page_reconciles(sqlite_store, tmp_path, monkeypatch):
    """At 1M contracts one bank's statement of a one-due-day night is 249 MB, above the readers' 64 MiB
    limit, and was quarantined whole. A bank paginates such a statement (GrpHdr/MsgPgntn): each page
    its own message, valid against the official XSD, its balances running on (ITBD between pages);
    every page applies and every line reconciles."""
    from autofin.bankfiles import schemas, simulator

    monkeypatch.setattr(simulator, "STATEMENT_PAGE_ENTRIES", 25)
    seed(sqlite_store, contracts=800)
    ctx = context(tmp_path, {"BOC": bank_profiles()["BOC"]})
    outbox = _first_boc_answers(sqlite_store, ctx, tmp_path)
    pages = sorted(outbox.glob("STMBOC20261123*.camt053.xml"))
    parsed = [camt.parse_camt053(p.read_bytes()) for p in pages]
    lines = sum(len(s.entries) for s in parsed)
    assert len(pages) == -(-lines // 25) >= 2 and [len(s.entries) for s in parsed[:-1]] == [25] * (len(pages) - 1)
    assert [p.name for p in pages][:2] == ["STMBOC20261123P001.camt053.xml", "STMBOC20261123P002.camt053.xml"]
    for number, path in enumerate(pages, start=1):
        data = path.read_bytes()
        assert schemas.validate(data) == "camt.053.001.08"
        last = number == len(pages)
        assert f"<PgNb>{number}</PgNb>".encode() in data and f"<LastPgInd>{'true' if last else 'false'}</LastPgInd>".encode() in data
        assert b"<Id>STMBOC20261123-1</Id>" in data  # one statement over its pages
        assert (b"<Cd>OPBD</Cd>" in data) == (number == 1) and (b"<Cd>CLBD</Cd>" in data) == last
    run_day(sqlite_store, D1 + timedelta(days=1), ctx)
    applied = q(sqlite_store, "SELECT COUNT(*) FROM bank_file WHERE direction = 'in' AND file_name LIKE 'STMBOC%' AND status = 'applied'")
    assert applied == [(len(pages),)]
    assert q(sqlite_store, "SELECT COUNT(*), SUM(CASE WHEN status = 'matched' THEN 1 ELSE 0 END) FROM bank_statement_line") == [(lines, lines)]
