"""Bank answers as outside testers send them: one bad file is quarantined alone and the night goes
on, only booked money in the order's currency and a plausible value date settles, and every
failure carries a known reason that the re-presentation rules act on."""

import multiprocessing
import re
import threading
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from autofin.bankfiles import camt, pain002
from autofin.bankfiles.reasons import REASONS
from autofin.bankfiles.records import StatementEntry, TransactionStatus
from autofin.bankfiles.simulator import simulate
from autofin.reference import bank_profiles
from autofin.servicing import banking, cycle
from autofin.servicing.cycle import run_day
from tests.servicing.conftest import AS_OF, seed
from tests.servicing.test_bank_cycle import D1, context, q, run_days

D2 = D1 + timedelta(days=1)
BOC_ACCOUNT = "31001234567890123456"


@pytest.fixture
def night(sqlite_store, tmp_path):
    """A book whose Monday debits went to both banks and were answered: (engine, ctx, BOC's download folder)."""
    seed(sqlite_store, contracts=800)
    ctx = context(tmp_path)
    run_days(sqlite_store, ctx, AS_OF + timedelta(days=1), D1, answer=False)
    for code, profile in ctx.banks.items():
        simulate(profile, ctx.bank_root / "remote" / code, D1, seed=3)
    return sqlite_store, ctx, ctx.bank_root / "remote" / "BOC" / "download"


def files(engine):
    return {name: (status, reason) for name, status, reason in q(engine, "SELECT file_name, status, reason FROM bank_file WHERE direction = 'in'")}


def reason_notes(ctx):
    return sorted(p.name for p in ctx.bank_root.rglob("*.reason.txt"))


def with_doctype(data: bytes, doctype: bytes, use: bytes = b"") -> bytes:
    """The file with a DOCTYPE after its XML declaration and `use` (an entity reference) in its MsgId."""
    declaration_end = data.index(b"?>") + 2
    return data[:declaration_end] + b"\n" + doctype + data[declaration_end:].replace(b"<MsgId>", b"<MsgId>" + use, 1)


DTDS = {
    "internal-entity": (b'<!DOCTYPE Document [<!ENTITY e "X">]>', b"&e;"),
    "external-entity": (b'<!DOCTYPE Document [<!ENTITY e SYSTEM "file:///etc/passwd">]>', b"&e;"),
    "parameter-entity": (b'<!DOCTYPE Document [<!ENTITY % p "<!ENTITY e \'X\'>"> %p;]>', b"&e;"),
    "external-dtd": (b'<!DOCTYPE Document SYSTEM "http://127.0.0.1:9/iso.dtd">', b""),
    "empty-dtd": (b"<!DOCTYPE Document>", b""),
}


@pytest.mark.parametrize("readers", ["0", "2"])  # read in the step's process, or by two reader processes ahead of it
def test_files_with_a_dtd_or_entities_are_quarantined_and_the_night_goes_on(night, readers, monkeypatch):
    engine, ctx, download = night
    monkeypatch.setenv("AUTOFIN_ANSWER_READERS", readers)
    good = (download / "AFBOC20261123001.pain002.xml").read_bytes()
    for name, (doctype, use) in DTDS.items():
        (download / f"X-{name}.pain002.xml").write_bytes(with_doctype(good, doctype, use))
        (download / f"Y-{name}.camt054.xml").write_bytes(with_doctype((download / "AFBOC20261123001.camt054.xml").read_bytes(), doctype, use))
    answers = {r.step: r.counts for r in run_day(engine, D2, ctx)}["bank_returns"]
    assert answers["reader_processes"] == int(readers)
    seen = files(engine)
    for name in DTDS:
        for hostile in (f"X-{name}.pain002.xml", f"Y-{name}.camt054.xml"):
            assert seen[hostile][0] == "quarantined" and "DTD" in seen[hostile][1], hostile
    # every good file of the night, of both banks, applied
    assert {n for n, (s, _) in seen.items() if s == "applied"} == {
        "AFBOC20261123001.pain002.xml", "AFBOC20261123001.camt054.xml", "STMBOC20261123.camt053.xml", "AFICBC20261123001.result.txt"}
    assert reason_notes(ctx) == sorted(f"{n}.reason.txt" for n, (s, _) in seen.items() if s == "quarantined")
    assert q(engine, "SELECT COUNT(*) FROM debit_order WHERE status = 'settled'")[0][0] > 0

def test_the_night_applies_every_banks_statuses_then_settlements_then_statements(night):
    """Across banks, not bank by bank: the statements (slowest to read, quickest to apply) come last
    of all, so that the other banks' answers are applied while readers read them; a bank's own files
    keep their order."""
    _, ctx, download = night
    (download / "A-late-name.pain002.xml").write_bytes((download / "AFBOC20261123001.pain002.xml").read_bytes())
    list(banking._fetch(ctx))
    order = [(code, path.name) for code, path in banking._night(ctx)]
    assert order == [
        ("BOC", "A-late-name.pain002.xml"), ("BOC", "AFBOC20261123001.pain002.xml"), ("ICBC", "AFICBC20261123001.result.txt"),
        ("BOC", "AFBOC20261123001.camt054.xml"), ("BOC", "STMBOC20261123.camt053.xml"),
    ]



def _the_nights_readers(monkeypatch):
    """reading.Readers, each one begun recorded with the step then last done (`steps`) and the
    thread that began it (`threads`)."""
    steps: list[str] = []
    begun: list[tuple[str | None, list[str]]] = []
    threads: list[str] = []

    class Recorded(banking.reading.Readers):
        def __init__(self, files, readers):
            begun.append((steps[-1] if steps else None, [path.name for _, path in files]))
            threads.append(threading.current_thread().name)
            super().__init__(files, readers)

    monkeypatch.setattr(banking.reading, "Readers", Recorded)
    monkeypatch.setenv("AUTOFIN_ANSWER_READERS", "2")
    return steps, begun, threads


def test_the_nights_answers_are_fetched_and_read_while_the_steps_before_theirs_run(night, monkeypatch):
    """Once the business day is open the banks' answers are fetched and their reading begins; the
    answers' step takes those readings (no second set of readers), applies every file and counts
    the files fetched for it."""
    engine, ctx, _ = night
    steps, begun, threads = _the_nights_readers(monkeypatch)
    waiting = sorted(p.name for code in ctx.banks for p in (ctx.bank_root / "remote" / code).rglob("*") if p.is_file()
                     and "processed" not in p.parts and p.parent.name in ("download", "out"))
    results = run_day(engine, D2, ctx, on_step=lambda r: steps.append(r.step))
    # begun once, by the thread the night started when its business day opened, while the steps before the
    # answers' step ran (which of them had ended by then is the machine's pace: billing and delinquency on
    # this small book can end before the fetch does)
    assert threads == [f"answers-ahead-{D2}"]
    assert begun[0][0] in cycle.STEP_ORDER[:cycle.STEP_ORDER.index("bank_returns")]
    assert sorted(begun[0][1]) == waiting and len(waiting) == 4
    answers = {r.step: r.counts for r in results}["bank_returns"]
    assert answers["fetched"] == answers["fetched_ahead"] == 4 and answers["fetching_ahead_seconds"] > 0
    assert answers["reader_processes"] == 2 and sorted(answers["applied"]) == waiting
    assert answers["quarantined"] == {} and answers["settled"] > 0
    assert banking.reading._ahead is None and banking._fetched_ahead == {}
    assert multiprocessing.active_children() == []


def test_a_file_arriving_after_the_reading_began_is_applied_with_the_rest(night, monkeypatch, tmp_path):
    """The step fetches again: BOC's notification, arrived after the reading began, makes the
    night's files other than those begun, which are stopped, and the whole night is read afresh
    and applied."""
    engine, ctx, download = night
    steps, begun, threads = _the_nights_readers(monkeypatch)
    late = download / "AFBOC20261123001.camt054.xml"
    held = tmp_path / late.name
    late.rename(held)
    read_ahead = banking.read_answers_ahead

    def then_it_arrives(d, ctx):
        read_ahead(d, ctx)
        banking._ahead.join()  # fetched, and the reading begun
        held.rename(late)

    monkeypatch.setattr(banking, "read_answers_ahead", then_it_arrives)
    answers = {r.step: r.counts for r in run_day(engine, D2, ctx, on_step=lambda r: steps.append(r.step))}["bank_returns"]
    assert [step for step, _ in begun] == ["business_day", "bank_upload"]  # the second by the answers' step itself
    assert threads == [f"answers-ahead-{D2}", "MainThread"]
    assert late.name not in begun[0][1] and late.name in begun[1][1] and len(begun[1][1]) == 4
    assert (answers["fetched"], answers["fetched_ahead"]) == (4, 3) and late.name in answers["applied"] and answers["quarantined"] == {}
    assert q(engine, "SELECT COUNT(*) FROM receipt WHERE source = 'debit'")[0][0] == answers["settled"] > 0
    assert multiprocessing.active_children() == []


def test_fetching_ahead_that_fails_is_left_to_the_steps_own_fetch(night, monkeypatch, caplog):
    """The bank's server drops the connection while the answers are fetched ahead: the night goes on,
    says so in its log, and the answers' step fetches and applies every file itself."""
    engine, ctx, _ = night
    monkeypatch.setenv("AUTOFIN_ANSWER_READERS", "2")
    fetch, calls = banking._fetch, []

    def dropped(ctx):
        calls.append(1)
        if len(calls) == 1:
            raise OSError("Socket is closed")
        yield from fetch(ctx)

    monkeypatch.setattr(banking, "_fetch", dropped)
    answers = {r.step: r.counts for r in run_day(engine, D2, ctx)}["bank_returns"]
    assert (answers["fetched"], answers["fetched_ahead"]) == (4, 0) and len(answers["applied"]) == 4 and answers["quarantined"] == {}
    assert "fetching the banks' answers ahead stopped after 0 files" in caplog.text and "Socket is closed" in caplog.text
    assert multiprocessing.active_children() == []


def test_readers_that_cannot_begin_ahead_leave_the_reading_to_the_step(night, monkeypatch, caplog):
    """The machine refuses the reader processes at the start of the night (out of processes, say): the
    night goes on, says so in its log, and the answers' step begins its own readers and applies every file."""
    engine, ctx, _ = night
    steps, begun, _ = _the_nights_readers(monkeypatch)
    readers = banking.reading.Readers

    class RefusedOnce(readers):
        def __init__(self, files, n):
            if not begun:
                begun.append(("refused", []))
                raise OSError(11, "Resource temporarily unavailable")
            super().__init__(files, n)

    monkeypatch.setattr(banking.reading, "Readers", RefusedOnce)
    answers = {r.step: r.counts for r in run_day(engine, D2, ctx, on_step=lambda r: steps.append(r.step))}["bank_returns"]
    assert [step for step, _ in begun] == ["refused", "bank_upload"]  # the night's start refused, the step's own readers
    assert answers["fetched_ahead"] == 4 and len(answers["applied"]) == 4 and answers["quarantined"] == {}
    assert "could not begin ahead" in caplog.text and "Resource temporarily unavailable" in caplog.text
    assert multiprocessing.active_children() == []


def test_a_night_that_stops_before_its_answers_stops_their_readers_and_loses_no_file(night, monkeypatch):
    """A step before the answers' fails: the readers begun stop with the night; the files fetched
    wait in inbound/ and the night run again applies them and counts them fetched."""
    engine, ctx, _ = night
    steps, begun, _ = _the_nights_readers(monkeypatch)
    penalties = cycle._BY_NAME["penalties"]

    def broken(conn, d, ctx):
        raise RuntimeError("the disk went away")

    monkeypatch.setitem(cycle._BY_NAME, "penalties", broken)
    with pytest.raises(RuntimeError, match="disk went away"):
        run_day(engine, D2, ctx, on_step=lambda r: steps.append(r.step))
    assert len(begun) == 1 and banking.reading._ahead is None and multiprocessing.active_children() == []
    inbound = sorted(p.name for code in ctx.banks for p in (ctx.bank_root / "inbound" / code).iterdir())
    assert len(inbound) == 4
    monkeypatch.setitem(cycle._BY_NAME, "penalties", penalties)
    answers = {r.step: r.counts for r in run_day(engine, D2, ctx)}["bank_returns"]
    assert answers["fetched"] == answers["fetched_ahead"] == 4 and sorted(answers["applied"]) == inbound
    assert multiprocessing.active_children() == []


def test_a_file_changed_after_its_reader_read_it_is_applied_as_stored(night, monkeypatch):
    """What a reader read is used only for the bytes the step stores: a file replaced in between
    (here: its reading swapped for another file's) is read again by the step itself."""
    engine, ctx, _ = night
    readings = banking.reading.readings

    def stale(files, readers):
        for (_, path), answer in zip(files, readings(files, readers), strict=True):
            yield replace(answer, sha256="0" * 64, content=None, reason="a reading of other bytes") if path.name.endswith(".camt054.xml") else answer

    monkeypatch.setattr(banking.reading, "readings", stale)
    run_day(engine, D2, ctx)
    assert files(engine)["AFBOC20261123001.camt054.xml"] == ("applied", None)
    assert q(engine, "SELECT COUNT(*) FROM receipt WHERE source = 'debit'")[0][0] > 0


def test_a_step_rolled_back_leaves_no_reason_notes(night, monkeypatch):
    """A failure after a file was judged bad rolls the step back: no note says it was quarantined."""
    engine, ctx, download = night
    (download / "X-bad.pain002.xml").write_bytes(b"\x00 not a bank file")

    def broken(*args, **kwargs):
        raise RuntimeError("the disk went away")

    monkeypatch.setattr(banking, "_store_statement", broken)
    with pytest.raises(RuntimeError, match="disk went away"):
        run_day(engine, D2, ctx)
    assert reason_notes(ctx) == []
    assert "X-bad.pain002.xml" in {p.name for p in (ctx.bank_root / "inbound" / "BOC").iterdir()}
    assert files(engine) == {}
    monkeypatch.undo()
    run_day(engine, D2, ctx)
    assert files(engine)["X-bad.pain002.xml"][0] == "quarantined"
    assert reason_notes(ctx) == ["X-bad.pain002.xml.reason.txt"]


def _settled_e2es(download, count):
    report = pain002.parse((download / "AFBOC20261123001.pain002.xml").read_bytes())
    return [(t.end_to_end_id, t.amount_minor) for t in report.transactions if t.status == "accepted"][:count]


def _camt054(message_id, transactions, booking=D1, currency="CNY", account=BOC_ACCOUNT):
    return camt.render_camt054(message_id=message_id, created_at=datetime(2026, 11, 24, 6), account=account, booking=booking,
                               transactions=transactions, currency=currency)


def test_only_booked_money_in_the_orders_currency_and_on_a_plausible_date_settles(night):
    engine, ctx, download = night
    (download / "AFBOC20261123001.camt054.xml").unlink()  # the bank's own notification: replaced by the ones below
    (download / "STMBOC20261123.camt053.xml").unlink()
    (pending, a1), (booked, a2), (dollars, a3), (future, a4), (other, a5) = _settled_e2es(download, 5)
    settle = lambda e2e, amount: TransactionStatus(e2e, "settled", None, amount)  # noqa: E731
    (download / "N1-pending.camt054.xml").write_bytes(
        _camt054("NTF-PDNG", [settle(pending, a1)]).replace(b"<Cd>BOOK</Cd>", b"<Cd>PDNG</Cd>"))
    (download / "N2-info.camt054.xml").write_bytes(
        _camt054("NTF-INFO", [settle(pending, a1)]).replace(b"<Cd>BOOK</Cd>", b"<Cd>INFO</Cd>"))
    (download / "N3-booked.camt054.xml").write_bytes(_camt054("NTF-BOOK", [settle(booked, a2)]))
    (download / "N4-dollars.camt054.xml").write_bytes(_camt054("NTF-USD", [settle(dollars, a3)], currency="USD"))
    (download / "N5-2099.camt054.xml").write_bytes(_camt054("NTF-2099", [settle(future, a4)], booking=date(2099, 1, 1)))
    (download / "N6-1970.camt054.xml").write_bytes(_camt054("NTF-1970", [settle(future, a4)], booking=date(1970, 1, 1)))
    (download / "N7-other-account.camt054.xml").write_bytes(_camt054("NTF-ACCT", [settle(other, a5)], account="62220000000000000001"))
    (download / "S1-other-account.camt053.xml").write_bytes(camt.render_camt053(
        message_id="STM-OTHER", created_at=datetime(2026, 11, 24, 6), account="62220000000000000001", booking=D1, opening_minor=0,
        entries=[StatementEntry(a2, "CNY", True, D1, booked)]))
    results = {r.step: r.counts for r in run_day(engine, D2, ctx)}
    seen = files(engine)
    assert seen["N1-pending.camt054.xml"] == ("applied", None) and seen["N2-info.camt054.xml"] == ("applied", None)
    assert results["bank_returns"]["pending"] == 2
    assert seen["N3-booked.camt054.xml"] == ("applied", None)
    assert seen["N4-dollars.camt054.xml"][0] == "quarantined" and f"{dollars} in USD, ordered in CNY" in seen["N4-dollars.camt054.xml"][1]
    for name in ("N5-2099.camt054.xml", "N6-1970.camt054.xml"):
        assert seen[name][0] == "quarantined" and "value date" in seen[name][1], seen[name]
    assert seen["N7-other-account.camt054.xml"][0] == "quarantined" and "62220000000000000001" in seen["N7-other-account.camt054.xml"][1]
    assert seen["S1-other-account.camt053.xml"][0] == "quarantined" and "collection account" in seen["S1-other-account.camt053.xml"][1]
    receipts = dict(q(engine, "SELECT r.source_ref, r.amount_minor FROM receipt r JOIN debit_order o ON o.end_to_end_id = r.source_ref "
                              "JOIN mandate m ON m.mandate_id = o.mandate_id WHERE m.bank_code = 'BOC'"))
    assert receipts == {booked: a2}  # one booked credit, one receipt, nothing else
    assert q(engine, "SELECT status FROM debit_order WHERE end_to_end_id IN (:a, :b, :c, :d) ORDER BY 1",
             a=pending, b=dollars, c=future, d=other) == [("sent",)] * 4
    assert str(q(engine, "SELECT value_date FROM receipt WHERE source_ref = :e", e=booked)[0][0])[:10] == str(D1)

    # the next morning the pending one is booked, and the booked one is reversed (RvslInd): a return
    (download / "N8-booked-later.camt054.xml").write_bytes(_camt054("NTF-LATER", [settle(pending, a1)], booking=D2))
    reversal = _camt054("NTF-RVSL", [settle(booked, a2)], booking=D2).replace(b"<CdtDbtInd>CRDT</CdtDbtInd>",
                                                                              b"<CdtDbtInd>CRDT</CdtDbtInd><RvslInd>true</RvslInd>")
    (download / "N9-reversal.camt054.xml").write_bytes(reversal)
    run_day(engine, D2 + timedelta(days=1), ctx)
    seen = files(engine)
    assert seen["N8-booked-later.camt054.xml"] == ("applied", None) and seen["N9-reversal.camt054.xml"] == ("applied", None)
    assert q(engine, "SELECT status, reason_code FROM debit_order WHERE end_to_end_id = :e", e=booked) == [("returned", "MS03")]
    assert q(engine, "SELECT status FROM receipt WHERE source_ref = :e", e=booked) == [("reversed",)]
    assert q(engine, "SELECT status FROM debit_order WHERE end_to_end_id = :e", e=pending) == [("settled",)]


def _without_reasons(data: bytes) -> bytes:
    return re.sub(rb"\s*<StsRsnInf>.*?</StsRsnInf>", b"", data, flags=re.S)


def test_a_rejection_without_a_reason_is_ms03_and_waits_for_its_re_presentation(night):
    engine, ctx, download = night
    path = download / "AFBOC20261123001.pain002.xml"
    rejected = [t.end_to_end_id for t in pain002.parse(path.read_bytes()).transactions if t.status == "rejected"]
    path.write_bytes(_without_reasons(path.read_bytes()))
    run_day(engine, D2, ctx)
    assert files(engine)["AFBOC20261123001.pain002.xml"] == ("applied", None)
    assert set(q(engine, f"SELECT status, reason_code FROM debit_order WHERE end_to_end_id IN ({', '.join(repr(e) for e in rejected)})")) \
        == {("rejected", "MS03")}
    contract = q(engine, "SELECT contract_id FROM debit_order WHERE end_to_end_id = :e", e=rejected[0])[0][0]
    profile = bank_profiles()["BOC"]
    assert "MS03" in profile.representment_reasons and profile.representment_after_days == 3
    orders = lambda: [(str(d)[:10], a) for d, a in q(  # noqa: E731
        engine, "SELECT business_date, attempt FROM debit_order WHERE contract_id = :c ORDER BY debit_order_id", c=contract)]
    run_day(engine, D2 + timedelta(days=1), ctx)
    assert orders() == [(str(D1), 1)]  # not debited again the next day as if nothing had failed
    run_day(engine, D2 + timedelta(days=2), ctx)
    assert orders() == [(str(D1), 1), (str(D1 + timedelta(days=3)), 2)]  # re-presented after 3 days, as attempt 2


def test_an_unknown_reason_code_quarantines_the_file(night):
    engine, ctx, download = night
    path = download / "AFBOC20261123001.pain002.xml"
    path.write_bytes(path.read_bytes().replace(b"<Cd>AM04</Cd>", b"<Cd>ZZ99</Cd>", 1))
    run_day(engine, D2, ctx)
    status, reason = files(engine)["AFBOC20261123001.pain002.xml"]
    assert status == "quarantined" and "unknown reason code 'ZZ99'" in reason
    assert q(engine, "SELECT COUNT(*) FROM debit_order WHERE reason_code IS NOT NULL AND reason_code NOT IN "
                     f"({', '.join(repr(c) for c in REASONS)})")[0][0] == 0


def test_an_answer_for_a_debit_sent_to_another_bank_or_in_another_file_quarantines_the_file(sqlite_store, tmp_path):
    """A notification names no file: it may settle its own bank's debits only. A status report names
    its file: it may answer only the debits of that file."""
    seed(sqlite_store, contracts=800)
    ctx = context(tmp_path, {code: replace(p, max_transactions_per_file=10) for code, p in bank_profiles().items()})
    run_days(sqlite_store, ctx, AS_OF + timedelta(days=1), D1, answer=False)
    for code, profile in ctx.banks.items():
        simulate(profile, ctx.bank_root / "remote" / code, D1, seed=3)
    download = ctx.bank_root / "remote" / "BOC" / "download"
    batches = q(sqlite_store, "SELECT bank_code, message_id FROM debit_batch ORDER BY debit_batch_id")
    boc_files = [m for bank, m in batches if bank == "BOC"]
    assert len(boc_files) >= 2, batches

    def first_debit(message_id):
        return q(sqlite_store, "SELECT o.end_to_end_id, o.amount_minor FROM debit_order o JOIN debit_batch b ON b.debit_batch_id = o.debit_batch_id "
                               "WHERE b.message_id = :m ORDER BY o.debit_order_id LIMIT 1", m=message_id)[0]

    icbc_e2e, icbc_amount = first_debit(next(m for bank, m in batches if bank == "ICBC"))
    boc_e2e, boc_amount = first_debit(boc_files[0])
    (download / "N-icbc-debit.camt054.xml").write_bytes(_camt054("NTF-ICBC", [TransactionStatus(boc_e2e, "settled", None, boc_amount),
                                                                              TransactionStatus(icbc_e2e, "settled", None, icbc_amount)]))
    # the first file's status report answers a debit of the second file in place of one of its own
    report = next(download.glob(f"{boc_files[0]}*.pain002.xml"))
    own = pain002.parse(report.read_bytes()).transactions[0].end_to_end_id
    report.write_bytes(report.read_bytes().replace(f"<OrgnlEndToEndId>{own}<".encode(), f"<OrgnlEndToEndId>{first_debit(boc_files[1])[0]}<".encode()))
    run_day(sqlite_store, D2, ctx)
    seen = files(sqlite_store)
    for name in ("N-icbc-debit.camt054.xml", report.name):
        assert seen[name][0] == "quarantined" and seen[name][1].startswith("1 transactions belong to another bank or batch"), seen[name]
    assert seen[report.name.replace(boc_files[0], boc_files[1])] == ("applied", None)
    # ICBC's own answer settled its debit, once: BOC's notification took none of its money
    assert q(sqlite_store, "SELECT COUNT(*), MIN(source) FROM receipt WHERE source_ref = :e", e=icbc_e2e) == [(1, "debit")]
    assert q(sqlite_store, "SELECT status FROM debit_order WHERE end_to_end_id = :e", e=icbc_e2e) == [("settled",)]
