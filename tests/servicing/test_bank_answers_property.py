"""A property of the bank_returns step over every inbound format (pain.002, camt.054, camt.053 and
the domestic result file): whatever one answer file of the night is turned into (entry states,
reversal flags, currencies, dates, statuses, reason codes, result codes, a DTD, damaged bytes),

- the step finishes; every file of the night ends applied or quarantined, once, and only the
  quarantined ones have a reason note;
- the other bank's file applies;
- every failed debit carries a reason code the system knows;
- money is booked only from a booked settlement: each receipt is a debit that an applied file
  settled (a BOOK credit in a camt.054, or ACSC in a pain.002), in the order's currency and amount,
  with a value date within the plausible window.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from sqlalchemy import text

from autofin.bankfiles.cn_text import RESULT_CODES
from autofin.bankfiles.reasons import REASONS
from autofin.bankfiles.simulator import simulate
from autofin.servicing.banking import VALUE_DATE_SLACK_DAYS
from autofin.servicing.cycle import run_day, run_step
from autofin.store.engine import make_engine
from tests.bankfiles.test_fuzz_parsers import mutated
from tests.conftest import _sqlite_store
from tests.servicing.conftest import AS_OF, seed
from tests.servicing.test_bank_cycle import D1, context, run_days

EXAMPLES = int(os.environ.get("AUTOFIN_FUZZ_EXAMPLES", "150"))
DERANDOMIZE = "AUTOFIN_FUZZ_EXAMPLES" not in os.environ
D2 = D1 + timedelta(days=1)
NIGHT = {"BOC": ["AFBOC20261123001.pain002.xml", "AFBOC20261123001.camt054.xml", "STMBOC20261123.camt053.xml"],
         "ICBC": ["AFICBC20261123001.result.txt"]}
ANSWERS = {"BOC": "download", "ICBC": "out"}  # where each bank leaves its answers (its profile's inbound folder)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """A store whose Monday debits went out, D2 opened, and the banks' answers waiting."""
    root = tmp_path_factory.mktemp("night")
    engine = _sqlite_store(root)
    seed(engine, contracts=300)
    ctx = context(root)
    run_days(engine, ctx, AS_OF + timedelta(days=1), D1, answer=False)
    for code, profile in ctx.banks.items():
        simulate(profile, ctx.bank_root / "remote" / code, D1, seed=3)
    run_step(engine, "business_day", D2, ctx)
    engine.dispose()
    return root


def _one_of(draw: st.DrawFn, data: bytes, old: bytes, new: bytes) -> bytes:
    """`data` with one occurrence (drawn) of `old` replaced by `new`."""
    places = [i for i in range(len(data)) if data.startswith(old, i)]
    if not places:
        return data
    at = draw(st.sampled_from(places))
    return data[:at] + new + data[at + len(old):]


DATES = st.dates(date(1970, 1, 1), date(2099, 12, 31)).map(lambda d: d.isoformat().encode())
CODES = st.sampled_from([*REASONS, "ZZ99", "AM0", "am04", "X"]).map(str.encode)


@st.composite
def night_with_one_file_changed(draw: st.DrawFn, prepared: Path) -> tuple[str, str, bytes]:
    bank = draw(st.sampled_from(sorted(NIGHT)))
    name = draw(st.sampled_from(NIGHT[bank]))
    data = (prepared / "bank_files" / "remote" / bank / ANSWERS[bank] / name).read_bytes()
    for _ in range(draw(st.integers(1, 4))):
        if name.endswith(".txt"):
            kind = draw(st.sampled_from(["code", "amount", "bytes"]))
            if kind == "code":
                codes = [c.encode() for c in RESULT_CODES]
                data = _one_of(draw, data, draw(st.sampled_from(codes)), draw(st.sampled_from([*codes, b"0001", b"ABCD", b""])))
            elif kind == "amount":
                data = _one_of(draw, data, b".", draw(st.sampled_from([b"..", b"0.", b"", b".9"])))
            else:
                data = draw(mutated(data))
            continue
        kind = draw(st.sampled_from(["state", "reversal", "currency", "date", "reason", "no-reason", "status", "doctype", "bytes"]))
        if kind == "state":
            data = _one_of(draw, data, b"<Cd>BOOK</Cd>", b"<Cd>" + draw(st.sampled_from([b"BOOK", b"PDNG", b"INFO", b"FUTR"])) + b"</Cd>")
        elif kind == "reversal":
            data = _one_of(draw, data, b"</CdtDbtInd>", b"</CdtDbtInd><RvslInd>" + draw(st.sampled_from([b"true", b"false", b"1"])) + b"</RvslInd>")
        elif kind == "currency":
            data = _one_of(draw, data, b'Ccy="CNY"', b'Ccy="' + draw(st.sampled_from([b"USD", b"EUR", b"cny", b"CNY"])) + b'"')
        elif kind == "date":
            data = _one_of(draw, data, str(D1).encode(), draw(DATES))
        elif kind == "reason":
            for code in REASONS:
                if f"<Cd>{code}</Cd>".encode() in data:
                    data = _one_of(draw, data, f"<Cd>{code}</Cd>".encode(), b"<Cd>" + draw(CODES) + b"</Cd>")
                    break
        elif kind == "no-reason":
            start = data.find(b"<StsRsnInf>")
            if start >= 0:
                data = data[:start] + data[data.index(b"</StsRsnInf>", start) + len(b"</StsRsnInf>"):]
        elif kind == "status":
            data = _one_of(draw, data, b"<TxSts>ACCP</TxSts>",
                           b"<TxSts>" + draw(st.sampled_from([b"ACSC", b"RJCT", b"PDNG", b"ACTC", b"XXXX"])) + b"</TxSts>")
        elif kind == "doctype":
            end = data.find(b"?>") + 2 if b"?>" in data else 0
            data = data[:end] + b'<!DOCTYPE Document [<!ENTITY e "x">]>' + data[end:].replace(b"<MsgId>", b"<MsgId>&e;", 1)
        else:
            data = draw(mutated(data))
    return bank, name, data


def _settled_by(applied: dict[str, bytes]) -> set[str]:
    """End-to-end ids that an applied ISO file settles, read independently of the system's parsers."""
    out = set()
    for data in applied.values():
        if not data.lstrip().startswith(b"<"):
            continue
        root = etree.fromstring(data)
        for ntry in root.xpath("//*[local-name()='BkToCstmrDbtCdtNtfctn']//*[local-name()='Ntry']"):
            booked = ntry.xpath("string(*[local-name()='Sts'])").strip() == "BOOK"
            credit = ntry.xpath("string(*[local-name()='CdtDbtInd'])") == "CRDT"
            reversal = ntry.xpath("string(*[local-name()='RvslInd'])") in ("true", "1")
            if booked and credit and not reversal:
                out.add(ntry.xpath("string(.//*[local-name()='EndToEndId'])"))
        for tx in root.xpath("//*[local-name()='TxInfAndSts']"):
            if tx.xpath("string(*[local-name()='TxSts'])") == "ACSC":
                out.add(tx.xpath("string(*[local-name()='OrgnlEndToEndId'])"))
    return out


def test_one_file_changed_any_way_never_stops_the_night_nor_books_what_was_not_booked(prepared):
    @given(st.data())
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=DERANDOMIZE, suppress_health_check=list(HealthCheck))
    def check(data: st.DataObject) -> None:
        bank, name, changed = data.draw(night_with_one_file_changed(prepared))
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            shutil.copy(prepared / "autofin.db", root / "autofin.db")
            shutil.copytree(prepared / "bank_files", root / "bank_files")
            (root / "bank_files" / "remote" / bank / ANSWERS[bank] / name).write_bytes(changed)
            engine = make_engine(f"sqlite:///{root / 'autofin.db'}")
            try:
                run_step(engine, "bank_returns", D2, context(root))
                _holds(engine, root, bank)
            finally:
                engine.dispose()

    check()


def _holds(engine, root: Path, changed_bank: str) -> None:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT bank_code, file_name, status FROM bank_file WHERE direction = 'in'")).all()
        failed = conn.execute(text("SELECT DISTINCT reason_code FROM debit_order WHERE status IN ('rejected', 'returned')")).scalars().all()
        receipts = conn.execute(text(
            "SELECT r.source_ref, r.amount_minor = o.amount_minor, r.currency = o.currency, r.value_date, o.business_date, o.status "
            "FROM receipt r JOIN debit_order o ON o.end_to_end_id = r.source_ref WHERE r.source = 'debit'")).all()
    assert sorted((b, n) for b, n, _ in rows) == sorted((b, n) for b, names in NIGHT.items() for n in names)  # each once
    status = {n: s for _, n, s in rows}
    assert set(status.values()) <= {"applied", "quarantined"}
    other = "ICBC" if changed_bank == "BOC" else "BOC"
    if other == "ICBC":
        assert status["AFICBC20261123001.result.txt"] == "applied"
    bank_files = root / "bank_files"
    assert sorted(p.name for p in bank_files.rglob("*.reason.txt")) == sorted(f"{n}.reason.txt" for n, s in status.items() if s == "quarantined")
    assert not [p for p in (bank_files / "inbound").rglob("*") if p.is_file()]
    assert set(failed) <= set(REASONS)
    applied = {n: p.read_bytes() for n in status if status[n] == "applied" for p in (bank_files / "archive").rglob(n)}
    settled = _settled_by(applied)
    icbc_ok = {line.split("|")[2] for n, d in applied.items() if n.endswith(".txt")
               for line in d.decode("gbk").splitlines() if line.startswith("R|") and line.split("|")[4] == "0000"}
    for e2e, same_amount, same_currency, value_date, collected, order_status in receipts:
        assert e2e in settled | icbc_ok, e2e
        assert same_amount and same_currency
        value, collected = date.fromisoformat(str(value_date)[:10]), date.fromisoformat(str(collected)[:10])
        assert collected - timedelta(days=VALUE_DATE_SLACK_DAYS) <= value <= D2 + timedelta(days=VALUE_DATE_SLACK_DAYS)
        assert order_status in ("settled", "returned")


def test_the_night_unchanged_applies_every_file(prepared, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(prepared, root)
    engine = make_engine(f"sqlite:///{root / 'autofin.db'}")
    run_day(engine, D2, context(root))
    _holds(engine, root, "BOC")
    with engine.connect() as conn:
        assert set(conn.execute(text("SELECT status FROM bank_file WHERE direction = 'in'")).scalars()) == {"applied"}
    engine.dispose()
