"""The record reader every ISO 20022 parser uses: fields by local names, one pass per file."""

import pytest

from autofin.bankfiles.records import BankFileError
from autofin.bankfiles.xml import parse_xml, records

DOC = b"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><Rpt>
  <Tx><Id> E2E-1 </Id><Amt Ccy="CNY">10.00</Amt><Nm>Zhang  San &amp; &lt;Co&gt;</Nm></Tx>
  <Tx><Id>E2E-2</Id><Amt>2.50</Amt><Nm/><Nm>second ignored</Nm></Tx>
  <Other><Id>not a record</Id></Other>
  <Tx><Id>E2E-3</Id><Amt Ccy="CNY"><!-- c -->3.00</Amt><Nm>tab\there</Nm></Tx>
</Rpt></Document>"""


def test_fields_by_local_name_attribute_absent_and_first_match():
    rows = records(parse_xml(DOC), "Rpt/Tx", ("Id", "Amt", "Amt/@Ccy", "Nm", "Missing/Path"))
    assert rows == [
        ["E2E-1", "10.00", "CNY", "Zhang  San & <Co>", None],
        ["E2E-2", "2.50", None, None, None],
        ["E2E-3", "3.00", "CNY", "tab\there", None],
    ]


def test_no_namespace_no_records_and_no_fields():
    root = parse_xml(b"<a><b><c>1</c></b><b><c>2</c></b></a>")
    assert records(root, "b", ("c",)) == [["1"], ["2"]]
    assert records(root, "x", ("c",)) == []
    assert records(root, "b", ()) == [[], []]


@pytest.mark.parametrize("char", ["&#xE000;", "&#xE001;", "\ue001"])
def test_a_value_holding_the_separators_is_refused_not_misread(char):
    doc = DOC.replace(b"E2E-2", f"E2E{char}2".encode())
    with pytest.raises(BankFileError, match="U\\+E000/U\\+E001"):
        records(parse_xml(doc), "Rpt/Tx", ("Id", "Amt"))
