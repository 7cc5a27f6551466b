"""Schema validation of inbound ISO 20022 files against the official XSDs in assets/iso20022/."""

from __future__ import annotations

from functools import cache

from lxml import etree

from autofin.bankfiles.records import BankFileError
from autofin.bankfiles.xml import document_of, namespace
from autofin.settings import assets_dir

PREFIX = "urn:iso:std:iso:20022:tech:xsd:"
SUPPORTED = ("pain.002.001.03", "pain.002.001.12", "camt.054.001.08", "camt.053.001.08")


@cache
def _schema(message: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(assets_dir() / "iso20022" / f"{message}.xsd")))


def validate(data: bytes | etree._Element) -> str:
    """The message name (e.g. 'camt.054.001.08') of a schema-valid file (bytes, or the document
    already parsed, so that the cycle parses each file once); BankFileError otherwise."""
    root = document_of(data)
    ns = namespace(root)
    message = ns.removeprefix(PREFIX)
    if not ns.startswith(PREFIX) or message not in SUPPORTED:
        raise BankFileError(f"unsupported message {ns or 'without a namespace'}; supported: {', '.join(SUPPORTED)}")
    schema = _schema(message)
    if not schema.validate(root):
        first = schema.error_log.filter_from_errors()[0] if schema.error_log.filter_from_errors() else schema.error_log.last_error
        raise BankFileError(f"not valid against {message}.xsd: line {first.line}: {first.message}")
    return message
