"""One importer per answer format: each identifies its own files from their first bytes and
no other's, and parses the golden file of its format; the night applies them in order."""

from pathlib import Path

import pytest

from autofin.bankfiles import importers
from autofin.bankfiles.records import BankFileError, Statement, StatusReport
from autofin.reference import bank_profiles

FIXTURES = Path(__file__).parents[1] / "fixtures"


@pytest.mark.parametrize(("fixture", "kind", "records"), [
    ("pain002_boc_20261124.xml", "pain.002", StatusReport),
    ("camt054_boc_20261124.xml", "camt.054", StatusReport),
    ("camt053_boc_20261124.xml", "camt.053", Statement),
    ("cn_text_icbc_20261123_result.txt", "cn_text_result", StatusReport),
])
def test_each_golden_answer_has_exactly_one_importer(fixture, kind, records):
    data = (FIXTURES / fixture).read_bytes()
    assert [i.kind for i in importers.IMPORTERS if i.identify(data)] == [kind]
    importer = importers.identify(data)
    assert isinstance(importer.parse(data), records)


@pytest.mark.parametrize(("head", "kind", "order"), [
    (b"<?xml version='1.0'?><Document><CstmrPmtStsRpt>", "pain.002", 0),
    (b"\xef\xbb\xbf<Document><BkToCstmrDbtCdtNtfctn>", "camt.054", 1),
    (b"<Document><BkToCstmrStmt>", "camt.053", 2),
    (b"H|AF2026|2\r\n", "cn_text_result", 0),
    (b"<Document><CstmrCdtTrfInitn>", "xml", 4),  # XML, but nothing this system reads: last, then quarantined
    (b"<Document><pain008 only after 4 KiB" + b" " * 4096 + b"<CstmrPmtStsRpt>", "xml", 4),
])
def test_identify_reads_only_the_first_bytes(head, kind, order):
    assert importers.kind_of(importers.identify(head)) == kind
    assert importers.apply_order(head) == order


def test_a_file_in_the_other_family_than_the_banks_is_refused_before_it_is_read():
    banks = bank_profiles()
    iso = next(p for p in banks.values() if p.is_iso)
    domestic = next(p for p in banks.values() if not p.is_iso)
    text = (FIXTURES / "cn_text_icbc_20261123_result.txt").read_bytes()
    xml = b"<Document><CstmrPmtStsRpt>not even well-formed"
    with pytest.raises(BankFileError, match=f"{iso.code} sends ISO 20022 files; this is not one"):
        importers.read_answer(iso, importers.identify(text), text)
    with pytest.raises(BankFileError, match=f"{domestic.code} sends its domestic result files; this is pain.002"):
        importers.read_answer(domestic, importers.identify(xml), xml)
    with pytest.raises(BankFileError, match="XML of a kind this system does not read"):
        importers.read_answer(iso, None, b"<Document/>")
