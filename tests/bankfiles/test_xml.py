"""The record reader every ISO 20022 parser uses: fields by local names, one pass per file for all its tables."""

import pytest

from autofin.bankfiles.records import BankFileError
from autofin.bankfiles.xml import first, parse_xml, tables

DOC = b"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><Rpt>
  <Tx><Id> E2E-1 </Id><Amt Ccy="CNY">10.00</Amt><Nm>Zhang  San &amp; &lt;Co&gt;</Nm></Tx>
  <Tx><Id>E2E-2</Id><Amt>2.50</Amt><Nm/><Nm>second ignored</Nm></Tx>
  <Other><Id>not a record</Id></Other>
  <Tx><Id>E2E-3</Id><Amt Ccy="CNY"><!-- c -->3.00</Amt><Nm>tab\there</Nm></Tx>
</Rpt></Document>"""


def test_fields_by_local_name_attribute_absent_and_first_match():
    (rows,) = tables(parse_xml(DOC), ("Rpt/Tx", ("Id", "Amt", "Amt/@Ccy", "Nm", "Missing/Path")))
    assert rows == [
        ["E2E-1", "10.00", "CNY", "Zhang  San & <Co>", None],
        ["E2E-2", "2.50", None, None, None],
        ["E2E-3", "3.00", "CNY", "tab\there", None],
    ]


def test_no_namespace_no_records_and_no_fields():
    root = parse_xml(b"<a><b><c>1</c></b><b><c>2</c></b></a>")
    assert tables(root, ("b", ("c",))) == [[["1"], ["2"]]]
    assert tables(root, ("x", ("c",))) == [[]]
    assert tables(root, ("b", ())) == [[[], []]]


@pytest.mark.parametrize("char", ["&#xE000;", "&#xE001;", "\ue001", "&#xE002;", "\ue002"])
def test_a_value_holding_the_separators_is_refused_not_misread(char):
    doc = DOC.replace(b"E2E-2", f"E2E{char}2".encode())
    with pytest.raises(BankFileError, match="U\\+E000/U\\+E001/U\\+E002"):
        tables(parse_xml(doc), ("Rpt/Tx", ("Id", "Amt")))
    with pytest.raises(BankFileError, match="U\\+E000/U\\+E001/U\\+E002"):  # in any table of a pass
        tables(parse_xml(doc), ("Rpt/Other", ("Id",)), ("Rpt/Tx", ("Id",)), ("Rpt", ()))


def test_several_tables_in_one_pass_are_each_what_it_alone_reads():
    root = parse_xml(DOC)
    wanted = (("Rpt/Other", ("Id",)), ("Rpt/Tx", ("Id", "Amt/@Ccy")), ("Rpt/Missing", ("Id",)), ("Rpt", ()), ("Rpt/Tx", ("Nm",)))
    assert tables(root, *wanted) == [tables(root, table)[0] for table in wanted]
    assert tables(root, *wanted)[0] == [["not a record"]]
    assert first(tables(root, ("Rpt/Tx", ("Id",)))[0], "report") == ["E2E-1"]
    with pytest.raises(BankFileError, match=r"^not a report$"):
        first(tables(root, ("Rpt/Missing", ("Id",)))[0], "report")
